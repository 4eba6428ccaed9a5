"""The audit log: append-only hash-chained records per workspace and each chain's anchored head."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.models.base import Base, UTCDateTime


class AuditRecord(Base):
    """One step someone or something took, chained to the record before it by hash.

    `record_hash` is the sha256 of the record's canonical JSON (every column below but itself,
    `prev_hash` included), so editing, dropping or moving a record breaks the chain.
    """

    __tablename__ = "audit_records"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    prev_hash: Mapped[str] = mapped_column(String(64))
    record_hash: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60))
    inputs: Mapped[Any] = mapped_column(JSON)
    evidence_ids: Mapped[list[str]] = mapped_column(JSON)
    prompt_version: Mapped[str | None] = mapped_column(String(64))
    model_tier: Mapped[str | None] = mapped_column(String(20))
    output_hash: Mapped[str | None] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(30))
    result: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditHead(Base):
    """A workspace's chain head (last seq and hash) and the HMAC that anchors it.

    Appends lock this row, so two writers never fork the chain; the HMAC, keyed by a secret the
    database does not hold, makes deleting the tail (and rewriting the head to match) show.
    """

    __tablename__ = "audit_heads"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    record_hash: Mapped[str] = mapped_column(String(64))
    anchor: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
