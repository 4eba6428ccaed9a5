"""Next best action: the workspace's action inventory, touches already made, and the cached
product recommendations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.models.base import Base, UTCDateTime


class ActionInventory(Base):
    """The actions a workspace may take and the constraints on them, as one validated body,
    versioned by the hash of its canonical JSON."""

    __tablename__ = "action_inventories"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[str] = mapped_column(String(64))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CustomerTouch(Base):
    """A message or offer that reached a customer: what frequency caps and cooldowns count."""

    __tablename__ = "customer_touches"
    __table_args__ = (
        Index("ix_customer_touches_customer", "workspace_id", "customer_id", "occurred_at"),
        Index("ix_customer_touches_time", "workspace_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(10))
    action_id: Mapped[str | None] = mapped_column(String(60))
    action_type: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    trigger_id: Mapped[str | None] = mapped_column(
        String(100), doc="What fired it; the same trigger reaches a customer once per 24 hours."
    )
    high_value: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false(), doc="A high-value offer (cooldown)."
    )


class RecommendationCacheEntry(Base):
    """Recommended products for one product context, valid for one day."""

    __tablename__ = "recommendation_cache"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    context_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    items: Mapped[list[Any]] = mapped_column(JSON)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
