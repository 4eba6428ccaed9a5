"""Quarantine of chunks flagged at ingest: list them, and release one with who, when and why.

A flagged chunk never reaches generation (search with `exclude_flagged`, evidence loading)
until an admin releases it. The release is bound to the chunk's content hash, so changed
text is quarantined again. Services never commit: the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.errors import Conflict, InvalidInput, NotFound
from core.ids import new_id
from core.models import Chunk, ChunkRelease, Document
from retrieval.knowledge_store import release_matches

MIN_REASON_CHARS = 10
MAX_ACTOR_CHARS = 200
CHUNK_ID_LENGTH = 20  # chk_ and 16 hex digits


@dataclass(frozen=True, slots=True)
class Release:
    released_by: str
    reason: str
    released_at: datetime


@dataclass(frozen=True, slots=True)
class FlaggedChunk:
    """A chunk flagged at ingest, where it comes from, why, and its release if any."""

    chunk_id: str
    source: str
    title: str
    heading_path: list[str]
    text: str
    flags: list[dict[str, Any]]
    release: Release | None

    @property
    def quarantined(self) -> bool:
        return self.release is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "chunk_id": self.chunk_id,
            "source": self.source,
            "title": self.title,
            "heading_path": self.heading_path,
            "text": self.text,
            "flags": self.flags,
            "quarantined": self.quarantined,
            "released_by": self.release.released_by if self.release else None,
            "reason": self.release.reason if self.release else None,
            "released_at": self.release.released_at.isoformat() if self.release else None,
        }


def _statement(workspace_id: str) -> Any:
    return (
        select(
            Chunk.id,
            Document.source,
            Document.title,
            Chunk.heading_path,
            Chunk.text,
            Chunk.injection_flags,
            ChunkRelease.released_by,
            ChunkRelease.reason,
            ChunkRelease.released_at,
        )
        .join(Document, Document.id == Chunk.document_id)
        .outerjoin(ChunkRelease, release_matches())
        .where(Chunk.workspace_id == workspace_id, Chunk.flagged.is_(True))
        .order_by(Document.source, Chunk.position)
    )


def _flagged(row: Any) -> FlaggedChunk:
    release = Release(row.released_by, row.reason, row.released_at) if row.released_by else None
    return FlaggedChunk(
        row.id, row.source, row.title, list(row.heading_path), row.text,
        list(row.injection_flags or []), release,
    )  # fmt: skip


def list_flagged(
    session: Session, workspace_id: str, *, include_released: bool = False
) -> list[FlaggedChunk]:
    """The workspace's quarantined chunks (and, if asked, the released ones too)."""
    found = [_flagged(row) for row in session.execute(_statement(workspace_id))]
    return found if include_released else [f for f in found if f.quarantined]


def get_flagged_or_raise(session: Session, workspace_id: str, chunk_id: str) -> FlaggedChunk:
    """One flagged chunk of the workspace; NotFound for a chunk of another workspace too."""
    row = session.execute(_statement(workspace_id).where(Chunk.id == chunk_id)).first()
    if row is None:
        exists = session.scalar(
            select(Chunk.id).where(Chunk.workspace_id == workspace_id, Chunk.id == chunk_id)
        )
        if exists:
            raise Conflict(
                f"chunk {chunk_id} was not flagged at ingest, so it is not quarantined",
                field="CHUNK_ID",
                fix="see `mcopilot knowledge quarantine list --workspace W`",
            )
        raise NotFound(
            f"no chunk {chunk_id!r} in this workspace",
            field="CHUNK_ID",
            fix="see `mcopilot knowledge quarantine list --workspace W` for flagged chunk ids",
        )
    return _flagged(row)


def validate_release(chunk_id: str, actor: str, reason: str) -> tuple[str, str, str]:
    """The cleaned chunk id, actor and reason; InvalidInput naming the field otherwise."""
    chunk_id = chunk_id.strip()
    if not (chunk_id.startswith("chk_") and len(chunk_id) == CHUNK_ID_LENGTH):
        raise InvalidInput(
            f"{chunk_id!r} is not a chunk id",
            field="CHUNK_ID",
            fix="pass an id such as chk_0123456789abcdef from `knowledge quarantine list`",
        )
    actor = " ".join(actor.split())
    if not actor or len(actor) > MAX_ACTOR_CHARS:
        raise InvalidInput(
            "the releasing user is missing or too long",
            field="--as",
            fix=f"pass who releases the chunk (1-{MAX_ACTOR_CHARS} characters)",
        )
    reason = " ".join(reason.split())
    if len(reason) < MIN_REASON_CHARS:
        raise InvalidInput(
            "a release needs a reason a later reviewer can understand",
            field="--reason",
            fix=f"say why the flagged text is safe, in at least {MIN_REASON_CHARS} characters",
        )
    return chunk_id, actor, reason


def release(
    session: Session, workspace_id: str, chunk_id: str, *, actor: str, reason: str
) -> FlaggedChunk:
    """Let one flagged chunk back into generation; Conflict if it is released already.

    Role checks (admin only) are the caller's: `actor` is recorded as given.
    """
    chunk_id, actor, reason = validate_release(chunk_id, actor, reason)
    chunk = get_flagged_or_raise(session, workspace_id, chunk_id)
    if chunk.release is not None:
        raise Conflict(
            f"chunk {chunk_id} was released already by {chunk.release.released_by} "
            f"on {chunk.release.released_at:%Y-%m-%d %H:%M} UTC",
            field="CHUNK_ID",
        )
    content_hash = session.scalar(
        select(Chunk.content_hash).where(Chunk.workspace_id == workspace_id, Chunk.id == chunk_id)
    )
    now = utcnow()
    stale = session.scalars(
        select(ChunkRelease).where(
            ChunkRelease.workspace_id == workspace_id, ChunkRelease.chunk_id == chunk_id
        )
    ).one_or_none()
    try:
        with session.begin_nested():
            if stale is not None:  # a release of older text under the same id: superseded
                session.delete(stale)
                session.flush()
            session.add(
                ChunkRelease(
                    id=new_id("rel"),
                    workspace_id=workspace_id,
                    chunk_id=chunk_id,
                    content_hash=content_hash,
                    flags=chunk.flags,
                    released_by=actor,
                    reason=reason,
                    released_at=now,
                )
            )
    except IntegrityError as exc:  # another admin released it at the same moment
        raise Conflict(f"chunk {chunk_id} was released already", field="CHUNK_ID") from exc
    return FlaggedChunk(
        chunk.chunk_id, chunk.source, chunk.title, chunk.heading_path, chunk.text,
        chunk.flags, Release(actor, reason, now),
    )  # fmt: skip
