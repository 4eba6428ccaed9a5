"""Analytics records: each next-best-action decision served, and per-journey targets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.models.base import Base, UTCDateTime

#: Metrics a journey can have a target for; the dashboard alerts when one is missed.
TARGET_METRICS = ("conversion_rate",)


class NbaDecision(Base):
    """One next-best-action decision the API served: the top action (none when every action
    was blocked), its channel and confidence. Written in the caller's transaction."""

    __tablename__ = "nba_decisions"
    __table_args__ = (Index("ix_nba_decisions_time", "workspace_id", "decided_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    action_id: Mapped[str | None] = mapped_column(String(60))
    channel: Mapped[str | None] = mapped_column(String(10))
    confidence: Mapped[float | None] = mapped_column(Float)
    inventory_version: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class JourneyTarget(Base):
    """A journey's target for one metric (a share, 0..1), set by a marketer; the dashboard's
    "conversion below target" alert reads it (the journey spec has no target field)."""

    __tablename__ = "journey_targets"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    journey_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    metric: Mapped[str] = mapped_column(String(30), primary_key=True)
    target: Mapped[float] = mapped_column(Float)
    set_by: Mapped[str] = mapped_column(String(100))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
