"""Brand policy versions in the database: apply one (it becomes active), read the active one.

Services never commit; the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.errors import Conflict
from core.models import BrandPolicyVersion, Chunk, Document, Workspace
from guardrails.policy import BrandPolicy, parse_policy
from guardrails.policy_extract import SourceChunk
from guardrails.policy_sources import cited_chunk_ids, reanchor


@dataclass(frozen=True, slots=True)
class StoredPolicy:
    version: str
    policy: BrandPolicy
    created_at: datetime
    created_by: str
    new: bool = False


def _stored(row: BrandPolicyVersion, *, new: bool = False) -> StoredPolicy:
    return StoredPolicy(row.version, parse_policy(row.body), row.created_at, row.created_by, new)


def workspace_chunks(
    session: Session, workspace_id: str, document_ids: list[str] | None = None
) -> list[SourceChunk]:
    """The workspace's chunks (of these documents), by document source and position."""
    statement = (
        select(Chunk.id, Document.title, Chunk.heading_path, Chunk.text)
        .join(Document, Document.id == Chunk.document_id)
        .where(Chunk.workspace_id == workspace_id)
        .order_by(Document.source, Chunk.position)
    )
    if document_ids is not None:
        statement = statement.where(Chunk.document_id.in_(document_ids))
    return [
        SourceChunk(row.id, row.title, tuple(row.heading_path), row.text)
        for row in session.execute(statement)
    ]


def _known_chunk_ids(session: Session, workspace_id: str, ids: set[str]) -> set[str]:
    if not ids:
        return set()
    return set(
        session.scalars(
            select(Chunk.id).where(Chunk.workspace_id == workspace_id, Chunk.id.in_(sorted(ids)))
        )
    )


def active_policy(session: Session, workspace_id: str) -> StoredPolicy | None:
    row = session.scalars(
        select(BrandPolicyVersion).where(
            BrandPolicyVersion.workspace_id == workspace_id, BrandPolicyVersion.active.is_(True)
        )
    ).one_or_none()
    return _stored(row) if row else None


def list_versions(session: Session, workspace_id: str) -> list[BrandPolicyVersion]:
    return list(
        session.scalars(
            select(BrandPolicyVersion)
            .where(BrandPolicyVersion.workspace_id == workspace_id)
            .order_by(BrandPolicyVersion.created_at, BrandPolicyVersion.id)
        )
    )


def apply_policy(
    session: Session, workspace_id: str, policy: BrandPolicy, *, created_by: str = ""
) -> StoredPolicy:
    """Make the policy the workspace's active one: its citations must resolve to the
    workspace's chunks (re-anchored when they came from another workspace); an equal version
    applied before is reactivated rather than stored twice."""
    cited = cited_chunk_ids(policy)
    known = _known_chunk_ids(session, workspace_id, cited)
    if cited - known:
        policy = reanchor(policy, known, workspace_chunks(session, workspace_id))
    # The workspace row is the lock: a concurrent apply waits here (row lock on PostgreSQL,
    # the write lock on SQLite), so exactly one version ends up active.
    session.execute(
        select(Workspace.id).where(Workspace.id == workspace_id).with_for_update()
    ).one()
    version = policy.version
    session.execute(
        update(BrandPolicyVersion)
        .where(BrandPolicyVersion.workspace_id == workspace_id, BrandPolicyVersion.active.is_(True))
        .values(active=False)
    )
    existing = session.scalars(
        select(BrandPolicyVersion).where(
            BrandPolicyVersion.workspace_id == workspace_id, BrandPolicyVersion.version == version
        )
    ).one_or_none()
    if existing is not None:
        existing.active = True
        row, new = existing, False
    else:
        row = BrandPolicyVersion(
            workspace_id=workspace_id,
            version=version,
            body=policy.body(),
            rule_count=policy.rule_count(),
            active=True,
            created_by=created_by,
            created_at=utcnow(),
        )
        session.add(row)
        new = True
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "another policy was applied to this workspace at the same time",
            field="workspace",
            fix="run `mcopilot policy show` and apply again if needed",
        ) from exc
    return _stored(row, new=new)
