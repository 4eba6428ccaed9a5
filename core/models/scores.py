"""Score snapshots per customer and as-of date: RFM today; lifecycle and propensities next."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, UTCDateTime


class RfmSnapshot(Base):
    """One customer's recency, frequency and monetary value, bucketed 1-5, as of one day."""

    __tablename__ = "rfm_snapshots"
    __table_args__ = (Index("ix_rfm_snapshots_composite", "workspace_id", "as_of", "composite"),)

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    as_of: Mapped[date] = mapped_column(Date, primary_key=True)
    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    recency_days: Mapped[int | None] = mapped_column(Integer, doc="None: no completed order yet.")
    frequency: Mapped[int] = mapped_column(Integer)
    monetary_cents: Mapped[int] = mapped_column(BigInteger)
    r: Mapped[int] = mapped_column(Integer)
    f: Mapped[int] = mapped_column(Integer)
    m: Mapped[int] = mapped_column(Integer)
    composite: Mapped[int] = mapped_column(Integer)
    window_days: Mapped[int] = mapped_column(Integer)
    weights: Mapped[str] = mapped_column(String(20), doc="R,F,M weights, e.g. '4,3,3'.")
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
