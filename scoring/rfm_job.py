"""The RFM snapshot job: compute in SQL, persist by as-of date, check the snapshot is whole."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, func, insert, literal, select
from sqlalchemy.orm import Session

from core import workspaces
from core.batch_settings import postgres_setting, use_batch_settings
from core.clock import utcnow
from core.db import session_scope
from core.errors import Conflict
from core.models import Customer, RfmRun, RfmSnapshot
from core.models.base import UTCDateTime
from core.order_log import current_seq, writes_before
from core.settings import Settings
from scoring.rfm import RfmConfig, RfmRow, rfm_select, window_bounds
from scoring.rfm_plan import BaseRun, full_reason


@dataclass(frozen=True, slots=True)
class RfmSummary:
    as_of: date
    customers: int
    vip: int
    buckets: dict[str, list[int]]


def active_customers(session: Session, workspace_id: str) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Customer)
            .where(Customer.workspace_id == workspace_id, Customer.merged_into.is_(None))
        )
        or 0
    )


def _base_run(
    session: Session, workspace_id: str, as_of: date, config: RfmConfig
) -> BaseRun | None:
    """The latest run before the day with the same window and weights."""
    run = session.scalars(
        select(RfmRun)
        .where(
            RfmRun.workspace_id == workspace_id,
            RfmRun.as_of < as_of,
            RfmRun.window_days == config.window_days,
            RfmRun.weights == config.weights_text,
        )
        .order_by(RfmRun.as_of.desc())
        .limit(1)
    ).first()
    if run is None:
        return None
    return BaseRun(run.as_of, run.window_days, run.weights, run.orders_seq)


def plan_snapshot(
    session: Session, workspace_id: str, as_of: date, config: RfmConfig
) -> tuple[BaseRun | None, str | None]:
    """The base run to start from (None: from all orders) and why not, if not."""
    base = _base_run(session, workspace_id, as_of, config)
    unsafe = 0
    if base is not None:
        _, base_end = window_bounds(base.as_of, config.window_days)
        unsafe = writes_before(session, workspace_id, base.orders_seq, base_end)
    reason = full_reason(as_of, config, base, unsafe)
    return (None, reason) if reason else (base, None)


def write_snapshot(session: Session, workspace_id: str, as_of: date, config: RfmConfig) -> int:
    """Replace the workspace's snapshot for the day with a fresh one; the rows written. It
    starts from the previous day's snapshot when no order it counted has changed since
    (`scoring.rfm_plan`), else from all orders; the result is the same."""
    use_batch_settings(session)
    seq = current_seq(session, workspace_id)  # before reading any order
    base, _ = plan_snapshot(session, workspace_id, as_of, config)
    session.execute(
        delete(RfmSnapshot).where(
            RfmSnapshot.workspace_id == workspace_id, RfmSnapshot.as_of == as_of
        )
    )
    session.execute(
        delete(RfmRun).where(RfmRun.workspace_id == workspace_id, RfmRun.as_of == as_of)
    )
    computed = rfm_select(
        workspace_id, as_of, config, None if base is None else base.as_of
    ).subquery()
    source = select(
        literal(workspace_id).label("workspace_id"),
        literal(as_of).label("as_of"),
        computed.c.customer_id,
        computed.c.recency_days,
        computed.c.frequency,
        computed.c.monetary_cents,
        computed.c.r,
        computed.c.f,
        computed.c.m,
        computed.c.composite,
        literal(config.window_days).label("window_days"),
        literal(config.weights_text).label("weights"),
        literal(utcnow(), UTCDateTime()).label("computed_at"),
    ).order_by(computed.c.customer_id)  # in key order: SQLite appends to its b-trees
    columns = [
        "workspace_id",
        "as_of",
        "customer_id",
        "recency_days",
        "frequency",
        "monetary_cents",
        "r",
        "f",
        "m",
        "composite",
        "window_days",
        "weights",
        "computed_at",
    ]
    # From all orders: with the batch's work memory PostgreSQL would hash-aggregate a
    # sequential scan of every order; streaming them in customer order from the covering
    # index ix_orders_customer_time is a sixth faster (the plan it picks by default).
    streamed = postgres_setting(session, "enable_hashagg", "off") if base is None else nullcontext()
    with streamed:
        session.execute(insert(RfmSnapshot).from_select(columns, source))
    written = (
        session.scalar(
            select(func.count())
            .select_from(RfmSnapshot)
            .where(RfmSnapshot.workspace_id == workspace_id, RfmSnapshot.as_of == as_of)
        )
        or 0
    )
    expected = active_customers(session, workspace_id)
    if written != expected:  # the seed's snapshot integrity check
        raise Conflict(
            f"the RFM snapshot has {written} rows for {expected} active customers",
            field="--as-of",
            fix="run it again; if it persists, report it",
        )
    session.add(
        RfmRun(
            workspace_id=workspace_id,
            as_of=as_of,
            window_days=config.window_days,
            weights=config.weights_text,
            orders_seq=seq,
            incremental=base is not None,
            computed_at=utcnow(),
        )
    )
    session.flush()
    return written


def snapshot_rfm(
    settings: Settings, workspace_slug: str, as_of: date, config: RfmConfig | None = None
) -> RfmSummary:
    config = config or RfmConfig()
    with session_scope(settings) as session:
        workspace = workspaces.get_or_raise(session, workspace_slug)
        written = write_snapshot(session, workspace.id, as_of, config)
        vip = (
            session.scalar(
                select(func.count())
                .select_from(RfmSnapshot)
                .where(
                    RfmSnapshot.workspace_id == workspace.id,
                    RfmSnapshot.as_of == as_of,
                    RfmSnapshot.composite >= config.vip_threshold,
                )
            )
            or 0
        )
        buckets = {}
        for name in ("r", "f", "m"):
            column = getattr(RfmSnapshot, name)
            counts = dict(
                session.execute(
                    select(column, func.count())
                    .where(RfmSnapshot.workspace_id == workspace.id, RfmSnapshot.as_of == as_of)
                    .group_by(column)
                ).all()
            )
            buckets[name] = [counts.get(b, 0) for b in range(1, 6)]
    return RfmSummary(as_of, written, vip, buckets)


def snapshot_rows(settings: Settings, workspace_slug: str, as_of: date) -> list[RfmRow]:
    """The stored snapshot, customers named by their userId where they have one."""
    with session_scope(settings) as session:
        workspace = workspaces.get_or_raise(session, workspace_slug)
        rows = session.execute(
            select(
                func.coalesce(Customer.user_id, Customer.id),
                RfmSnapshot.recency_days,
                RfmSnapshot.frequency,
                RfmSnapshot.monetary_cents,
                RfmSnapshot.r,
                RfmSnapshot.f,
                RfmSnapshot.m,
                RfmSnapshot.composite,
            )
            .join(Customer, Customer.id == RfmSnapshot.customer_id)
            .where(RfmSnapshot.workspace_id == workspace.id, RfmSnapshot.as_of == as_of)
            .order_by(RfmSnapshot.composite.desc(), Customer.id)
        )
        return [RfmRow(*row) for row in rows]
