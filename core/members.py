"""Users and workspace members: add, change the role of, remove, list and resolve `--as USER`.

Bootstrap: while a workspace has no admin, the operator (no acting user) may add members;
once it has one, only an admin may change membership, and the last admin cannot be removed
or demoted.
"""

from __future__ import annotations

import re
import shlex

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.ids import new_id
from core.models import User, Workspace, WorkspaceMember
from core.roles import Member, Role, require_role, validate_role

HANDLE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")


def validate_handle(handle: str, *, field: str = "USER") -> str:
    """The handle in lower case if it is 2-63 characters of a-z, 0-9, '.', '-', '_'."""
    wanted = (handle or "").strip().lower()
    if not HANDLE_PATTERN.fullmatch(wanted):
        raise InvalidInput(
            f"invalid user handle {handle!r}",
            field=field,
            fix="use 2-63 characters a-z, 0-9, '.', '-' or '_', starting with a letter or digit",
        )
    return wanted


def get_user(session: Session, handle: str) -> User | None:
    return session.scalars(select(User).where(User.handle == handle)).one_or_none()


def get_or_create_user(session: Session, handle: str, *, name: str | None = None) -> User:
    """The user with this handle, created when new."""
    handle = validate_handle(handle)
    user = get_user(session, handle)
    if user is not None:
        if name and user.name != name:
            user.name = name
        return user
    user = User(id=new_id("usr"), handle=handle, name=name or handle, created_at=utcnow())
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:  # another session created the same handle first
        raise Conflict(
            f"user {handle!r} was created at the same moment by another command",
            field="USER",
            fix="run the command again",
        ) from exc
    return user


def _member(workspace: Workspace, user: User, role: str) -> Member:
    return Member(
        workspace_id=workspace.id,
        workspace_slug=workspace.slug,
        user_id=user.id,
        handle=user.handle,
        role=role,  # type: ignore[arg-type]
    )


def _row(session: Session, workspace_id: str, user_id: str) -> WorkspaceMember | None:
    return session.get(WorkspaceMember, (workspace_id, user_id))


def get_member(session: Session, workspace: Workspace, handle: str) -> Member | None:
    """The user's membership of this workspace, or None."""
    row = session.execute(
        select(User, WorkspaceMember.role)
        .join(WorkspaceMember, WorkspaceMember.user_id == User.id)
        .where(WorkspaceMember.workspace_id == workspace.id, User.handle == handle)
    ).one_or_none()
    return None if row is None else _member(workspace, row[0], row[1])


def resolve(session: Session, workspace: Workspace, handle: str, *, field: str = "--as") -> Member:
    """The member acting as `handle` in this workspace; NotFound with the fix otherwise."""
    handle = validate_handle(handle, field=field)
    member = get_member(session, workspace, handle)
    if member is None:
        known = get_user(session, handle) is not None
        what = "is not a member of" if known else "is not a known user in"
        raise NotFound(
            f"{handle!r} {what} workspace {workspace.slug!r}",
            field=field,
            fix=f"see `mcopilot workspace member list --workspace {workspace.slug}`, or have an "
            f"admin run `mcopilot workspace member add {shlex.quote(handle)} --role ROLE "
            f"--workspace {workspace.slug}`",
        )
    return member


def list_members(session: Session, workspace: Workspace) -> list[Member]:
    """Every member of the workspace, by handle."""
    rows = session.execute(
        select(User, WorkspaceMember.role)
        .join(WorkspaceMember, WorkspaceMember.user_id == User.id)
        .where(WorkspaceMember.workspace_id == workspace.id)
        .order_by(User.handle)
    ).all()
    return [_member(workspace, user, role) for user, role in rows]


def _admins(session: Session, workspace_id: str) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(WorkspaceMember)
            .where(WorkspaceMember.workspace_id == workspace_id, WorkspaceMember.role == "admin")
        )
        or 0
    )


def _authorise(session: Session, workspace: Workspace, actor: Member | None) -> None:
    """Membership changes need an admin once the workspace has one; serialised per workspace."""
    # the workspace row serialises membership changes, so two cannot both remove "another" admin
    session.execute(select(Workspace.id).where(Workspace.id == workspace.id).with_for_update())
    if actor is None:
        if _admins(session, workspace.id):
            raise PermissionDenied(
                f"workspace {workspace.slug!r} has an admin, so membership changes need one",
                field="--as",
                fix="add `--as ADMIN` naming one of its admins",
            )
        return
    if actor.workspace_id != workspace.id:
        raise PermissionDenied(
            f"{actor.handle} acts in another workspace than {workspace.slug!r}", field="--as"
        )
    require_role(actor, "admin", to="change membership")


def _keep_an_admin(session: Session, workspace: Workspace, handle: str) -> None:
    if _admins(session, workspace.id) <= 1:
        raise Conflict(
            f"{handle} is the last admin of workspace {workspace.slug!r}",
            field="USER",
            fix="make another member an admin first",
        )


def add(
    session: Session,
    workspace: Workspace,
    handle: str,
    *,
    role: str,
    actor: Member | None,
    name: str | None = None,
) -> tuple[Member, Role | None]:
    """Add the user (created if new) with this role, or change their role; returns the
    member and their role before (None if they were not a member)."""
    wanted: Role = validate_role(role)
    handle = validate_handle(handle)
    _authorise(session, workspace, actor)
    user = get_or_create_user(session, handle, name=name)
    now = utcnow()
    row = _row(session, workspace.id, user.id)
    by = actor.handle if actor else None
    if row is None:
        session.add(
            WorkspaceMember(
                workspace_id=workspace.id,
                user_id=user.id,
                role=wanted,
                added_by=by,
                added_at=now,
                updated_at=now,
            )
        )
        session.flush()
        return _member(workspace, user, wanted), None
    previous: Role = row.role  # type: ignore[assignment]
    if previous == "admin" and wanted != "admin":
        _keep_an_admin(session, workspace, handle)
    if previous != wanted:
        row.role, row.added_by, row.updated_at = wanted, by, now
        session.flush()
    return _member(workspace, user, wanted), previous


def remove(session: Session, workspace: Workspace, handle: str, *, actor: Member | None) -> Role:
    """Remove the user from the workspace (their past decisions stay); returns their role."""
    handle = validate_handle(handle)
    _authorise(session, workspace, actor)
    member = get_member(session, workspace, handle)
    if member is None:
        raise NotFound(
            f"{handle!r} is not a member of workspace {workspace.slug!r}",
            field="USER",
            fix=f"see `mcopilot workspace member list --workspace {workspace.slug}`",
        )
    if member.role == "admin":
        _keep_an_admin(session, workspace, handle)
    session.execute(
        delete(WorkspaceMember).where(
            WorkspaceMember.workspace_id == workspace.id,
            WorkspaceMember.user_id == member.user_id,
        )
    )
    return member.role


def acting_as(
    session: Session, workspace: Workspace, handle: str, *, needed: Role, to: str
) -> Member:
    """The member acting as `handle`, if their role is `needed` or higher (the check every
    command that changes policy, knowledge or sending runs first)."""
    return require_role(resolve(session, workspace, handle), needed, to=to)


DEMO_TEAM: tuple[tuple[str, Role], ...] = (
    ("admin", "admin"),
    ("marketer", "marketer"),
    ("reviewer", "reviewer"),
    ("reviewer2", "reviewer"),
)


def ensure_demo_team(session: Session, workspace: Workspace) -> list[Member]:
    """The demo workspace's team (an admin, a marketer, two reviewers), added while the
    workspace has no admin yet; a workspace with an admin is left as it is."""
    if _admins(session, workspace.id) == 0:
        admin, _ = add(session, workspace, DEMO_TEAM[0][0], role=DEMO_TEAM[0][1], actor=None)
        for handle, role in DEMO_TEAM[1:]:
            add(session, workspace, handle, role=role, actor=admin)
    return list_members(session, workspace)
