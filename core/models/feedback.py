"""Provider feedback on the messages the gate sent (delivered, open, click, bounce...)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.models.base import Base, UTCDateTime

FEEDBACK_TYPES = ("delivered", "open", "click", "bounce", "complaint", "unsubscribe")
BOUNCE_TYPES = ("hard", "soft")


class MessageEvent(Base):
    """One provider event on one message, any channel. The unique (workspace, event id) makes
    a provider's redelivery of the same event a no-op, whatever the timing."""

    __tablename__ = "message_events"
    __table_args__ = (
        UniqueConstraint("workspace_id", "channel", "event_id", name="uq_message_events_event"),
        Index("ix_message_events_customer", "workspace_id", "customer_id", "type"),
        Index("ix_message_events_execution", "execution_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(200), doc="The provider's id of the event.")
    execution_id: Mapped[str] = mapped_column(
        ForeignKey("executions.id", ondelete="CASCADE"), doc="The send it is about."
    )
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(10))
    type: Mapped[str] = mapped_column(String(12), doc="|".join(FEEDBACK_TYPES))
    bounce_type: Mapped[str | None] = mapped_column(String(4), doc="hard|soft, for bounces")
    provider_message_id: Mapped[str] = mapped_column(String(200))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
