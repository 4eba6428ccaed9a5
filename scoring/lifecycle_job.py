"""Place every customer in a lifecycle stage as of a day: set-based, with history and holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, case, delete, exists, func, insert, literal, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import Subquery

from core.batch_settings import use_batch_settings
from core.clock import utcnow
from core.models import (
    CustomerFeatures,
    LifecycleRun,
    LifecycleStage,
    LifecycleTransition,
    PropensityScore,
    RfmSnapshot,
)
from core.sql import dialect_insert
from core.statistics import analyze_stale
from scoring.lifecycle import HELD_RULE, STAGES, Inputs, LifecycleConfig, stage_and_rule


@dataclass(frozen=True, slots=True)
class LifecycleSummary:
    as_of: date
    stages: dict[str, int]
    changed: int
    held: int


def _inputs() -> Inputs:
    f = CustomerFeatures
    return Inputs(
        orders_count=f.orders_count,
        days_since_first_order=f.days_since_first_order,
        days_since_last_order=f.days_since_last_order,
        orders_90d=f.orders_90d,
        orders_prev_90d=f.orders_prev_90d,
        engagement_trend=f.engagement_trend,
        pricing_views_30d=f.pricing_views_30d,
        events_30d=f.events_30d,
        email_clicks_90d=f.email_clicks_90d,
        open_cart_cents=f.open_cart_cents,
        rfm_composite=RfmSnapshot.composite,
        churn_risk=PropensityScore.churn_risk,
        upgrade_propensity=PropensityScore.upgrade_propensity,
    )


def write_lifecycle(
    session: Session, workspace_id: str, as_of: date, config: LifecycleConfig | None = None
) -> LifecycleSummary:
    """Stage every customer with features, from the stored features, RFM snapshot of the same
    day and propensities. Re-running a day first forgets the transitions from that day on."""
    config = config or LifecycleConfig()
    use_batch_settings(session)
    history = LifecycleTransition
    session.execute(
        delete(history).where(history.workspace_id == workspace_id, history.entered_on >= as_of)
    )
    # The latest history row per customer is a self-join: planned on statistics from before
    # the previous run wrote 100,000 rows, PostgreSQL nested-looped it (3,000 customers: 1.6 s).
    analyze_stale(session, ("lifecycle_history", "lifecycle_stages"))
    latest = (
        select(history.customer_id, func.max(history.entered_on).label("since"))
        .where(history.workspace_id == workspace_id)
        .group_by(history.customer_id)
        .subquery("latest")
    )
    previous = (
        select(
            history.customer_id,
            history.stage,
            history.previous_stage,
            history.entered_on,
        )
        .join(
            latest,
            and_(
                latest.c.customer_id == history.customer_id,
                latest.c.since == history.entered_on,
            ),
        )
        .where(history.workspace_id == workspace_id)
        .subquery("previous")
    )
    candidate, candidate_rule = stage_and_rule(_inputs(), config)
    keep = and_(
        previous.c.stage.is_not(None),
        previous.c.stage != candidate,
        previous.c.entered_on > literal(as_of - timedelta(days=config.min_stage_days)),
    )
    stage = case((keep, previous.c.stage), else_=candidate)
    changed = case(
        (previous.c.stage.is_(None), True),
        (keep, False),
        else_=previous.c.stage != candidate,
    )
    decided = (
        select(
            CustomerFeatures.customer_id,
            stage.label("stage"),
            case((changed, literal(as_of)), else_=previous.c.entered_on).label("since"),
            case((changed, previous.c.stage), else_=previous.c.previous_stage).label(
                "previous_stage"
            ),
            case((keep, literal(HELD_RULE)), else_=candidate_rule).label("rule"),
        )
        .select_from(CustomerFeatures)
        .outerjoin(
            RfmSnapshot,
            and_(
                RfmSnapshot.workspace_id == workspace_id,
                RfmSnapshot.as_of == CustomerFeatures.as_of,
                RfmSnapshot.customer_id == CustomerFeatures.customer_id,
            ),
        )
        .outerjoin(
            PropensityScore,
            and_(
                PropensityScore.workspace_id == workspace_id,
                PropensityScore.customer_id == CustomerFeatures.customer_id,
            ),
        )
        .outerjoin(previous, previous.c.customer_id == CustomerFeatures.customer_id)
        .where(CustomerFeatures.workspace_id == workspace_id)
        .subquery("decided")
    )
    _write_changed_stages(session, workspace_id, decided)
    # Changed customers are exactly those whose stage starts today: history is copied from
    # the stages just written, so the rules run once.
    entered = session.execute(
        insert(history).from_select(
            ["workspace_id", "customer_id", "stage", "previous_stage", "rule", "entered_on"],
            select(
                LifecycleStage.workspace_id,
                LifecycleStage.customer_id,
                LifecycleStage.stage,
                LifecycleStage.previous_stage,
                LifecycleStage.rule,
                LifecycleStage.since,
            ).where(LifecycleStage.workspace_id == workspace_id, LifecycleStage.since == as_of),
        )
    )
    session.execute(delete(LifecycleRun).where(LifecycleRun.workspace_id == workspace_id))
    session.add(LifecycleRun(workspace_id=workspace_id, as_of=as_of, computed_at=utcnow()))
    session.flush()
    return summarize(session, workspace_id, as_of, entered.rowcount)


def _write_changed_stages(session: Session, workspace_id: str, decided: Subquery) -> None:
    """Make lifecycle_stages equal to decided, writing only the rows that differ: most
    customers keep their stage from one day to the next, and rewriting all of them was most
    of the job's time."""
    # NOT EXISTS, an anti-join: PostgreSQL ran NOT IN (SELECT ...) as a subplan per row
    session.execute(
        delete(LifecycleStage).where(
            LifecycleStage.workspace_id == workspace_id,
            ~exists().where(
                CustomerFeatures.workspace_id == workspace_id,
                CustomerFeatures.customer_id == LifecycleStage.customer_id,
            ),
        )
    )
    current = aliased(LifecycleStage, name="current")
    differs = or_(
        current.customer_id.is_(None),
        current.stage != decided.c.stage,
        current.since != decided.c.since,
        current.rule != decided.c.rule,
        current.previous_stage.is_distinct_from(decided.c.previous_stage),
    )
    columns = ["workspace_id", "customer_id", "stage", "since", "previous_stage", "rule"]
    statement = dialect_insert(session)(LifecycleStage).from_select(
        columns,
        select(
            literal(workspace_id),
            decided.c.customer_id,
            decided.c.stage,
            decided.c.since,
            decided.c.previous_stage,
            decided.c.rule,
        )
        .select_from(decided)
        .outerjoin(
            current,
            and_(
                current.workspace_id == workspace_id,
                current.customer_id == decided.c.customer_id,
            ),
        )
        .where(differs),
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[LifecycleStage.workspace_id, LifecycleStage.customer_id],
            set_={name: statement.excluded[name] for name in columns[2:]},
        )
    )


def summarize(
    session: Session, workspace_id: str, as_of: date, changed: int | None = None
) -> LifecycleSummary:
    """Customers per stage, how many changed stage on the day (counted from the history
    unless the caller knows: the rows it just inserted) and how many are held."""
    counts = dict(
        session.execute(
            select(LifecycleStage.stage, func.count())
            .where(LifecycleStage.workspace_id == workspace_id)
            .group_by(LifecycleStage.stage)
        ).all()
    )
    if changed is None or changed < 0:  # a driver that does not report the rowcount
        changed = (
            session.scalar(
                select(func.count())
                .select_from(LifecycleTransition)
                .where(
                    LifecycleTransition.workspace_id == workspace_id,
                    LifecycleTransition.entered_on == as_of,
                )
            )
            or 0
        )
    held = (
        session.scalar(
            select(func.count())
            .select_from(LifecycleStage)
            .where(LifecycleStage.workspace_id == workspace_id, LifecycleStage.rule == HELD_RULE)
        )
        or 0
    )
    return LifecycleSummary(as_of, {s: counts.get(s, 0) for s in STAGES}, changed, held)
