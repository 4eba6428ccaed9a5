"""Customer events: Segment-spec messages (idempotent by messageId) and email engagement."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.models.base import Base, UTCDateTime

# The opt-outs the journeys' sweep has not applied yet (`customer.opted_out`, as
# guardrails.suppressions.OPTED_OUT names them; core imports nothing of guardrails).
UNHANDLED_OPT_OUTS = "name = 'customer.opted_out' AND handled_at IS NULL"
EMAIL_EVENT_TYPES = ("sent", "delivered", "open", "click", "bounce", "complaint", "unsubscribe")


class Event(Base):
    """One identify, track or page message; a second delivery of a messageId is a no-op."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_customer_time", "workspace_id", "customer_id", "timestamp"),
        Index("ix_events_name_time", "workspace_id", "name", "timestamp"),
    )

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    message_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    type: Mapped[str] = mapped_column(String(10), doc="identify|track|page")
    name: Mapped[str | None] = mapped_column(String(200), doc="Track event or page name.")
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    user_id: Mapped[str | None] = mapped_column(String(200))
    anonymous_id: Mapped[str | None] = mapped_column(String(200))
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EmailEvent(Base):
    __tablename__ = "email_events"
    __table_args__ = (
        Index("ix_email_events_customer", "workspace_id", "customer_id", "type"),
        Index("ix_email_events_time", "workspace_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    campaign_id: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(12))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DomainEvent(Base):
    """Something the product itself observed (`customer.segmented`, `lifecycle.changed`...),
    in order, for triggers to consume.

    No foreign keys: segment refreshes write them in bulk (136,000 on a first compute at
    100,000 customers) from SELECTs over existing customers, and the per-row checks cost more
    than the inserts on PostgreSQL. `core.derived.delete_derived_rows` deletes those of
    deleted customers and workspaces.

    `handled_at` marks the opt-outs the journeys' sweep has applied (a flag, not a cursor on
    `id`: ids are taken at insert, not at commit); the partial index holds only the opt-outs
    waiting for it."""

    __tablename__ = "domain_events"
    __table_args__ = (
        Index("ix_domain_events_name", "workspace_id", "name", "id"),
        Index(
            "ix_domain_events_opt_outs_waiting",
            "workspace_id",
            "id",
            sqlite_where=text(UNHANDLED_OPT_OUTS),
            postgresql_where=text(UNHANDLED_OPT_OUTS),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(60))
    customer_id: Mapped[str | None] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
