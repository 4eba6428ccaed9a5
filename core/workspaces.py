"""Workspaces (tenants): create, look up, list, delete; every other query is scoped by one."""

from __future__ import annotations

import re

from sqlalchemy import delete as sql_delete
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.derived import delete_derived_rows
from core.errors import Conflict, InvalidInput, NotFound
from core.ids import new_id
from core.models import Workspace

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{1,62}$")


def validate_slug(slug: str) -> str:
    """The slug if it is 2-63 characters of a-z, 0-9, '-' and '_' starting alphanumeric."""
    if not SLUG_PATTERN.fullmatch(slug or ""):
        raise InvalidInput(
            f"invalid workspace name {slug!r}",
            field="workspace",
            fix="use 2-63 characters a-z, 0-9, '-' or '_', starting with a letter or digit",
        )
    return slug


def get(session: Session, slug: str) -> Workspace | None:
    return session.scalars(select(Workspace).where(Workspace.slug == slug)).one_or_none()


def get_or_raise(session: Session, slug: str) -> Workspace:
    """The workspace with this slug, or NotFound naming the command that creates it."""
    validate_slug(slug)
    workspace = get(session, slug)
    if workspace is None:
        raise NotFound(
            f"unknown workspace {slug!r}",
            field="workspace",
            fix=f"create it with `mcopilot workspace create {slug}` or list them with "
            "`mcopilot workspace list`",
        )
    return workspace


def create(session: Session, slug: str, *, name: str | None = None) -> Workspace:
    """A new workspace; Conflict if the slug is taken."""
    validate_slug(slug)
    if get(session, slug) is not None:
        raise Conflict(f"workspace {slug!r} exists already", field="workspace")
    workspace = Workspace(id=new_id("ws"), slug=slug, name=name or slug, index_version=0)
    session.add(workspace)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent create won the race
        raise Conflict(f"workspace {slug!r} exists already", field="workspace") from exc
    return workspace


def get_or_create(session: Session, slug: str) -> tuple[Workspace, bool]:
    """The workspace and whether it was created now."""
    existing = get(session, slug)
    if existing is not None:
        return existing, False
    return create(session, slug), True


def list_all(session: Session) -> list[Workspace]:
    return list(session.scalars(select(Workspace).order_by(Workspace.slug)))


def bump_index_version(session: Session, workspace_id: str) -> int:
    """Mark the workspace's derived indexes stale; returns the new version."""
    session.execute(
        update(Workspace)
        .where(Workspace.id == workspace_id)
        .values(index_version=Workspace.index_version + 1)
    )
    return session.scalars(
        select(Workspace.index_version).where(Workspace.id == workspace_id)
    ).one()


def delete(session: Session, workspace: Workspace) -> None:
    """The workspace and everything in it: the derived scoring rows explicitly (they have no
    foreign keys), the rest by ON DELETE CASCADE."""
    delete_derived_rows(session, workspace.id)
    session.execute(sql_delete(Workspace).where(Workspace.id == workspace.id))
    session.expunge(workspace)
