"""Customer scores: RFM snapshots, live features, lifecycle stages and history, propensities.

Derived tables, no foreign keys: every row of rfm_snapshots, customer_features,
customer_categories, lifecycle_stages, lifecycle_history and propensity_scores is written by
a set-based job from a SELECT over `customers` in the same transaction, so its workspace and
customer exist by construction. On PostgreSQL the per-row foreign-key triggers were more than
half of every big INSERT ... SELECT (inserting 100,000 stage history rows: 2.7 of 5.2 s).
What ON DELETE CASCADE did is done by `core.derived.delete_derived_rows`, which every delete
of customers or of a workspace calls.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, UTCDateTime


class RfmRun(Base):
    """One stored RFM snapshot of a workspace: its day, window and weights, and the order
    watermark (`order_watermarks.seq`) read before it was computed. A later day's snapshot
    starts from this one when no order before this window's end was written after `orders_seq`
    (see `scoring.rfm_plan`)."""

    __tablename__ = "rfm_runs"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    as_of: Mapped[date] = mapped_column(Date, primary_key=True)
    window_days: Mapped[int] = mapped_column(Integer)
    weights: Mapped[str] = mapped_column(String(20))
    orders_seq: Mapped[int] = mapped_column(BigInteger)
    incremental: Mapped[bool] = mapped_column(Boolean, doc="Computed from an earlier snapshot.")
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RfmSnapshot(Base):
    """One customer's recency, frequency and monetary value, bucketed 1-5, as of one day.
    (Derived: no foreign keys, see the module's docstring.)"""

    __tablename__ = "rfm_snapshots"
    # No index beyond the key: the nightly job writes every customer's row, and a second
    # index on (workspace, day, composite) cost a sixth of the snapshot's time on PostgreSQL
    # for reads that scan one day's rows anyway (migration 0015 dropped it).

    workspace_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    as_of: Mapped[date] = mapped_column(Date, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(32), primary_key=True)
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


class CustomerFeatures(Base):
    """The live features of one customer as of a day: what lifecycle rules, propensity models,
    segments and next best action read. One row per active customer, replaced by each run."""

    __tablename__ = "customer_features"

    workspace_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    as_of: Mapped[date] = mapped_column(Date)
    orders_count: Mapped[int] = mapped_column(Integer, doc="Completed orders, ever.")
    first_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    days_since_first_order: Mapped[int | None] = mapped_column(Integer)
    days_since_last_order: Mapped[int | None] = mapped_column(Integer)
    orders_30d: Mapped[int] = mapped_column(Integer)
    orders_90d: Mapped[int] = mapped_column(Integer)
    orders_prev_90d: Mapped[int] = mapped_column(Integer, doc="Orders 91-180 days back.")
    spend_90d_cents: Mapped[int] = mapped_column(BigInteger)
    lifetime_spend_cents: Mapped[int] = mapped_column(BigInteger)
    avg_order_cents: Mapped[int | None] = mapped_column(BigInteger)
    promo_orders: Mapped[int] = mapped_column(Integer)
    redeemed_ratio: Mapped[float | None] = mapped_column(
        Float, doc="Completed orders with a promotion / completed orders (discount sensitivity)."
    )
    pricing_views_7d: Mapped[int] = mapped_column(Integer)
    pricing_views_30d: Mapped[int] = mapped_column(Integer)
    events_30d: Mapped[int] = mapped_column(Integer)
    emails_sent_90d: Mapped[int] = mapped_column(Integer)
    email_opens_90d: Mapped[int] = mapped_column(Integer)
    email_clicks_90d: Mapped[int] = mapped_column(Integer)
    engagement_30d: Mapped[int] = mapped_column(Integer, doc="Events, opens and clicks.")
    engagement_prev_30d: Mapped[int] = mapped_column(Integer, doc="The same, 31-60 days back.")
    engagement_trend: Mapped[float] = mapped_column(
        Float, doc="(last 30 - previous 30) / (last 30 + previous 30): -1 falling .. 1 rising."
    )
    open_cart_cents: Mapped[int | None] = mapped_column(BigInteger)
    open_cart_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    top_category: Mapped[str | None] = mapped_column(String(100), doc="Most bought, by spend.")
    top_category_share: Mapped[float | None] = mapped_column(Float)
    preferred_channel: Mapped[str | None] = mapped_column(
        String(10), doc="Stated first, else inferred from engagement, among consented channels."
    )
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CustomerCategory(Base):
    """How much of one category a customer bought, and whether their last order held it."""

    __tablename__ = "customer_categories"

    workspace_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    category: Mapped[str] = mapped_column(String(100), primary_key=True)
    orders: Mapped[int] = mapped_column(Integer)
    spend_cents: Mapped[int] = mapped_column(BigInteger)
    in_last_order: Mapped[bool] = mapped_column(Boolean)
    last_bought_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LifecycleRun(Base):
    """The day a workspace's lifecycle stages were last placed as of: kept here, not on every
    stage row, so a run rewrites only the customers whose stage, since or rule changed."""

    __tablename__ = "lifecycle_runs"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    as_of: Mapped[date] = mapped_column(Date)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LifecycleStage(Base):
    """A customer's current lifecycle stage and the day they entered it; as of the workspace's
    `LifecycleRun`. (Derived: no foreign keys, see the module's docstring.)"""

    __tablename__ = "lifecycle_stages"
    __table_args__ = (Index("ix_lifecycle_stages_stage", "workspace_id", "stage"),)

    workspace_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    stage: Mapped[str] = mapped_column(String(20))
    since: Mapped[date] = mapped_column(Date)
    previous_stage: Mapped[str | None] = mapped_column(String(20))
    rule: Mapped[str] = mapped_column(String(60), doc="The rule that placed the customer.")


class LifecycleTransition(Base):
    """Stage history: one row each time a customer enters a stage."""

    __tablename__ = "lifecycle_history"
    __table_args__ = (
        Index("ix_lifecycle_history_customer", "workspace_id", "customer_id", "entered_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[str] = mapped_column(String(32))
    stage: Mapped[str] = mapped_column(String(20))
    previous_stage: Mapped[str | None] = mapped_column(String(20))
    rule: Mapped[str] = mapped_column(String(60))
    entered_on: Mapped[date] = mapped_column(Date)


class PropensityScore(Base):
    """Churn risk and upgrade propensity (0-1) with the reason codes behind each."""

    __tablename__ = "propensity_scores"

    workspace_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    as_of: Mapped[date] = mapped_column(Date)
    churn_risk: Mapped[float] = mapped_column(Float)
    upgrade_propensity: Mapped[float] = mapped_column(Float)
    churn_reasons: Mapped[list[Any]] = mapped_column(
        JSON, doc="Top drivers: [{code, text, value, direction, weight}], largest first."
    )
    upgrade_reasons: Mapped[list[Any]] = mapped_column(JSON)
    churn_source: Mapped[str] = mapped_column(String(10), doc="model|rules")
    upgrade_source: Mapped[str] = mapped_column(String(10), doc="model|rules")


class PropensityModel(Base):
    """A trained propensity model of a workspace: coefficients, calibration and its scores on
    the held-out time window. The newest per target is the one used."""

    __tablename__ = "propensity_models"
    __table_args__ = (Index("ix_propensity_models_target", "workspace_id", "target", "trained_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(10), doc="churn|upgrade")
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime())
    as_of: Mapped[date] = mapped_column(Date, doc="Last day of data the model saw.")
    source: Mapped[str] = mapped_column(String(10), doc="model|rules (too little data)")
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any]] = mapped_column(
        JSON, doc="Rows, positives, AUC and Brier score on the held-out window."
    )
