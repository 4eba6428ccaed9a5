"""Contact policy of a workspace and its suppression list: who must not be contacted, where."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.models.base import Base, UTCDateTime

SUPPRESSION_REASONS = ("bounce", "complaint", "unsubscribe", "manual")
ALL_CHANNELS = "all"


class Suppression(Base):
    """A customer who must not be contacted on one channel (or `all`), why, and on whose word."""

    __tablename__ = "suppressions"
    __table_args__ = (
        UniqueConstraint("workspace_id", "customer_id", "channel", "reason"),
        Index("ix_suppressions_workspace_reason", "workspace_id", "reason"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(10), doc="email|sms|push|in_app|all")
    reason: Mapped[str] = mapped_column(String(12), doc="bounce|complaint|unsubscribe|manual")
    source: Mapped[str] = mapped_column(
        String(200), doc="Who or what said so: an email event, a user, an opt-out link..."
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ContactPolicyRecord(Base):
    """A workspace's contact rules (quiet hours, flood limit, trigger window) as one validated
    body, versioned by the hash of its canonical JSON; none stored means the defaults."""

    __tablename__ = "contact_policies"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[str] = mapped_column(String(64))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
