"""Segments: saved criteria, their materialized members, and each recompute's diff.

segment_members and segment_changes are derived (written set-based from SELECTs over
`customers` by the segment refresh) and have no foreign keys: their per-row checks cost more
than the inserts on PostgreSQL. `scoring.segments.delete` deletes a segment's members and
changes explicitly, and `core.derived.delete_derived_rows` those of deleted customers and
workspaces.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.models.base import Base, UTCDateTime


class SegmentDefinition(Base):
    """A named audience: criteria in the segment language, the channel it is for."""

    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    criteria: Mapped[dict[str, Any]] = mapped_column(JSON)
    channel: Mapped[str | None] = mapped_column(
        String(10), doc="Customers unsubscribed from it are left out unless include_unsubscribed."
    )
    include_unsubscribed: Mapped[bool] = mapped_column(Boolean, default=False)
    drift_threshold_pct: Mapped[float] = mapped_column(Float, default=20.0)
    population: Mapped[int | None] = mapped_column(Integer, doc="None until first computed.")
    computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(100), default="cli")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SegmentMember(Base):
    """A customer in a segment, since when. (Derived: no foreign keys.)"""

    __tablename__ = "segment_members"
    __table_args__ = (Index("ix_segment_members_customer", "workspace_id", "customer_id"),)

    segment_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SegmentRun(Base):
    """One recompute of a segment: population before and after, who entered and left, drift."""

    __tablename__ = "segment_runs"
    __table_args__ = (Index("ix_segment_runs_segment", "segment_id", "computed_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    segment_id: Mapped[str] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    as_of: Mapped[date] = mapped_column(Date)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    previous_population: Mapped[int | None] = mapped_column(Integer)
    population: Mapped[int] = mapped_column(Integer)
    entered: Mapped[int] = mapped_column(Integer)
    exited: Mapped[int] = mapped_column(Integer)
    drift_pct: Mapped[float | None] = mapped_column(Float)
    drift_alert: Mapped[bool] = mapped_column(Boolean)


class SegmentChange(Base):
    """A customer who entered or exited a segment in one run. (Derived: no foreign keys.)"""

    __tablename__ = "segment_changes"
    __table_args__ = (Index("ix_segment_changes_run", "run_id", "change"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(32))
    segment_id: Mapped[str] = mapped_column(String(32))
    workspace_id: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[str] = mapped_column(String(32))
    change: Mapped[str] = mapped_column(String(8), doc="entered|exited")
