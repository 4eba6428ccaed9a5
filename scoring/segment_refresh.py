"""Recompute a segment's membership set-based: the diff into segment_changes, members updated
from it, `customer.segmented` events, a run with drift and a `segment.drift` event on alert.

Every step is one INSERT ... SELECT, DELETE or UPDATE over whole sets; nothing loops over
customers in Python. The caller owns the transaction: one refresh, one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, case, delete, func, insert, literal, select, union_all
from sqlalchemy.orm import Session

from core import workspaces
from core.clock import utcnow
from core.db import session_scope
from core.ids import new_id
from core.models import DomainEvent, SegmentChange, SegmentDefinition, SegmentMember, SegmentRun
from core.models.base import UTCDateTime
from core.settings import Settings
from core.statistics import analyze_stale
from scoring.criteria_sql import SEGMENT_TABLES, segment_query
from scoring.segments import (
    criteria_warnings,
    criterion_of,
    get_or_raise,
    list_all,
    require_features,
)

SEGMENTED = "customer.segmented"
DRIFT = "segment.drift"


@dataclass(frozen=True, slots=True)
class RunSummary:
    segment_id: str
    segment: str
    run_id: str
    as_of: date
    previous_population: int | None
    population: int
    entered: int
    exited: int
    drift_pct: float | None
    drift_alert: bool
    threshold_pct: float
    warnings: list[str] = field(default_factory=list)


def drift(previous: int | None, population: int, threshold_pct: float) -> tuple[float | None, bool]:
    """The population change in percent of the previous one, and whether it exceeds the
    threshold. The first compute never alerts; from 0 to some the change has no percentage
    (None) and alerts."""
    if previous is None:
        return None, False
    if previous == 0:
        return (0.0, False) if population == 0 else (None, True)
    pct = abs(population - previous) * 100 / previous
    return round(pct, 2), pct > threshold_pct


def _insert_events(
    session: Session, segment: SegmentDefinition, run_id: str, change: str, now: datetime
) -> None:
    payload = {
        "segment_id": segment.id,
        "segment": segment.name,
        "change": change,
        "run_id": run_id,
    }
    source = (
        select(
            literal(segment.workspace_id),
            literal(SEGMENTED),
            SegmentChange.customer_id,
            literal(payload, JSON()),
            literal(now, UTCDateTime()),
        )
        .where(SegmentChange.run_id == run_id, SegmentChange.change == change)
        .order_by(SegmentChange.id)
    )
    session.execute(
        insert(DomainEvent).from_select(
            ["workspace_id", "name", "customer_id", "payload", "occurred_at"], source
        )
    )


def refresh(
    session: Session,
    segment: SegmentDefinition,
    *,
    now: datetime | None = None,
    unscored: int | None = None,
) -> RunSummary:
    """Recompute one segment's members now; the run's summary. unscored: the workspace's
    active customers without features, when the caller counted them once for several
    segments in this transaction (`scoring.segments.unscored_customers`)."""
    now = now or utcnow()
    # one refresh of a segment at a time (PostgreSQL; SQLite serialises writers anyway)
    session.execute(
        select(SegmentDefinition.id).where(SegmentDefinition.id == segment.id).with_for_update()
    )
    criterion = criterion_of(segment)
    as_of = require_features(session, segment.workspace_id)
    analyze_stale(session, SEGMENT_TABLES)
    run = SegmentRun(
        id=new_id("run"),
        segment_id=segment.id,
        workspace_id=segment.workspace_id,
        as_of=as_of or now.date(),
        computed_at=now,
        previous_population=segment.population,
        population=0,
        entered=0,
        exited=0,
        drift_pct=None,
        drift_alert=False,
    )
    session.add(run)
    session.flush()

    new = segment_query(
        segment.workspace_id, criterion, segment.channel, segment.include_unsubscribed
    )
    old = select(SegmentMember.customer_id, literal(2).label("side")).where(
        SegmentMember.segment_id == segment.id
    )
    # One pass over the criteria: members now (side 1) and before (side 2) side by side; a
    # customer found on one side only entered (1) or exited (2).
    sides = union_all(new.add_columns(literal(1).label("side")), old).subquery("sides")
    diff = (
        select(sides.c.customer_id, func.max(sides.c.side).label("side"))
        .group_by(sides.c.customer_id)
        .having(func.count() == 1)
        .subquery("diff")
    )
    session.execute(
        insert(SegmentChange).from_select(
            ["run_id", "segment_id", "workspace_id", "customer_id", "change"],
            select(
                literal(run.id),
                literal(segment.id),
                literal(segment.workspace_id),
                diff.c.customer_id,
                case((diff.c.side == 1, literal("entered")), else_=literal("exited")),
            ),
        )
    )

    analyze_stale(session, ("segment_changes",))

    def changed(change: str) -> Any:
        return select(SegmentChange.customer_id).where(
            SegmentChange.run_id == run.id, SegmentChange.change == change
        )

    session.execute(
        delete(SegmentMember).where(
            SegmentMember.segment_id == segment.id,
            SegmentMember.customer_id.in_(changed("exited")),
        )
    )
    session.execute(
        insert(SegmentMember).from_select(
            ["segment_id", "customer_id", "workspace_id", "entered_at"],
            select(
                literal(segment.id),
                SegmentChange.customer_id,
                literal(segment.workspace_id),
                literal(now, UTCDateTime()),
            ).where(SegmentChange.run_id == run.id, SegmentChange.change == "entered"),
        )
    )
    for change in ("entered", "exited"):
        _insert_events(session, segment, run.id, change, now)

    counts = dict(
        session.execute(
            select(SegmentChange.change, func.count())
            .where(SegmentChange.run_id == run.id)
            .group_by(SegmentChange.change)
        ).all()
    )
    population = (
        session.scalar(
            select(func.count())
            .select_from(SegmentMember)
            .where(SegmentMember.segment_id == segment.id)
        )
        or 0
    )
    pct, alert = drift(segment.population, population, segment.drift_threshold_pct)
    run.population = population
    run.entered = counts.get("entered", 0)
    run.exited = counts.get("exited", 0)
    run.drift_pct = pct
    run.drift_alert = alert
    if alert:
        session.add(
            DomainEvent(
                workspace_id=segment.workspace_id,
                name=DRIFT,
                customer_id=None,
                payload={
                    "segment_id": segment.id,
                    "segment": segment.name,
                    "run_id": run.id,
                    "previous_population": segment.population,
                    "population": population,
                    "drift_pct": pct,
                    "threshold_pct": segment.drift_threshold_pct,
                },
                occurred_at=now,
            )
        )
    summary = RunSummary(
        segment_id=segment.id,
        segment=segment.name,
        run_id=run.id,
        as_of=run.as_of,
        previous_population=segment.population,
        population=population,
        entered=counts.get("entered", 0),
        exited=counts.get("exited", 0),
        drift_pct=pct,
        drift_alert=alert,
        threshold_pct=segment.drift_threshold_pct,
        warnings=criteria_warnings(session, segment.workspace_id, criterion, as_of, unscored),
    )
    segment.population = population
    segment.computed_at = now
    segment.updated_at = now
    session.flush()
    return summary


def refresh_segments(
    settings: Settings, workspace_slug: str, names: Sequence[str] | None = None
) -> list[RunSummary]:
    """Recompute the named segments (default: all of the workspace's), one transaction each."""
    with session_scope(settings) as session:
        workspace = workspaces.get_or_raise(session, workspace_slug)
        if names:
            ids = [get_or_raise(session, workspace.id, name).id for name in names]
        else:
            ids = [s.id for s in list_all(session, workspace.id)]
    summaries = []
    for segment_id in ids:  # one transaction each, so each counts its own unscored customers
        with session_scope(settings) as session:
            segment = session.get(SegmentDefinition, segment_id)
            if segment is not None:  # deleted meanwhile
                summaries.append(refresh(session, segment))
    return summaries
