"""The execution gate's records: executions held by idempotency key, the outbox, the kill switch."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.models.base import Base, UTCDateTime


class Execution(Base):
    """One customer-facing action that went out. The unique (workspace, idempotency key) is
    what makes a second attempt a no-op: the database refuses the second claim, whatever the
    timing, instead of a check-then-insert that two attempts could both pass."""

    __tablename__ = "executions"
    __table_args__ = (
        UniqueConstraint("workspace_id", "idempotency_key", name="uq_executions_key"),
        Index("ix_executions_customer", "workspace_id", "customer_id", "executed_at"),
        # provider feedback names the message only by the id the provider gave it
        Index("ix_executions_provider_message", "provider_message_id"),
        Index("ix_executions_time", "workspace_id", "executed_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(10))
    action_id: Mapped[str | None] = mapped_column(String(60))
    trigger_id: Mapped[str | None] = mapped_column(String(100))
    approval_item_id: Mapped[str] = mapped_column(String(32))
    content_hash: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(100))
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    executed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OutboxMessage(Base):
    """A fact for other systems (`message.sent`...), written in the same transaction as the
    action it reports, published afterwards by whoever reads the outbox."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_unpublished", "published_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    topic: Mapped[str] = mapped_column(String(60))
    key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class GateControl(Base):
    """A workspace's kill switch: while paused, nothing reaches a customer."""

    __tablename__ = "gate_controls"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text, default="")
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
