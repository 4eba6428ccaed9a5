"""Releases of quarantined chunks: who let flagged text back into generation, when and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.models.base import Base, UTCDateTime


class ChunkRelease(Base):
    """An admin's decision that one flagged chunk may be used as evidence after all.

    Bound to the chunk's content hash, not only its id: if the text changes on re-ingest the
    release no longer applies and the chunk is quarantined again. No foreign key to `chunks`,
    because a re-ingest replaces chunk rows while the decision about the same text stands.
    """

    __tablename__ = "chunk_releases"
    __table_args__ = (UniqueConstraint("workspace_id", "chunk_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    chunk_id: Mapped[str] = mapped_column(String(32))
    content_hash: Mapped[str] = mapped_column(String(64), doc="The released chunk's text hash.")
    flags: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, doc="The injection flags the admin saw when releasing."
    )
    released_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    released_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
