"""Recompute segments' membership set-based: the diff into segment_changes, members updated
from it, `customer.segmented` events, a run with drift and a `segment.drift` event on alert.

Every step is one INSERT ... SELECT, DELETE or UPDATE over whole sets; nothing loops over
customers in Python. Several segments of a workspace are refreshed together: one pass over
the customers evaluates all their criteria, and one statement writes all their diffs. The
caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import JSON, case, delete, func, insert, literal, select, tuple_, union_all
from sqlalchemy.orm import Session

from core import workspaces
from core.batch_settings import use_batch_settings
from core.clock import utcnow
from core.db import session_scope
from core.ids import new_id
from core.models import DomainEvent, SegmentChange, SegmentDefinition, SegmentMember, SegmentRun
from core.models.base import UTCDateTime
from core.settings import Settings
from core.statistics import analyze_stale
from scoring.criteria_sql import SEGMENT_TABLES, Audience, audiences_query
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


def _write_diff(
    session: Session,
    workspace_id: str,
    runs: Sequence[SegmentRun],
    audiences: Sequence[Audience],
    features_day: date | None,
) -> None:
    """Every segment's diff into segment_changes in one statement: the members now (side 1,
    from one pass over the customers) and before (side 2) side by side; a customer found on
    one side only entered (1) or exited (2)."""
    new = audiences_query(workspace_id, audiences, features_day).subquery("new")
    old = select(SegmentMember.segment_id, SegmentMember.customer_id, literal(2)).where(
        SegmentMember.segment_id.in_([run.segment_id for run in runs])
    )
    sides = union_all(
        select(new.c.key.label("segment_id"), new.c.customer_id, literal(1).label("side")), old
    ).subquery("sides")
    diff = (
        select(sides.c.segment_id, sides.c.customer_id, func.max(sides.c.side).label("side"))
        .group_by(sides.c.segment_id, sides.c.customer_id)
        .having(func.count() == 1)
        .subquery("diff")
    )
    run_of = case({run.segment_id: literal(run.id) for run in runs}, value=diff.c.segment_id)
    session.execute(
        insert(SegmentChange).from_select(
            ["run_id", "segment_id", "workspace_id", "customer_id", "change"],
            select(
                run_of,
                diff.c.segment_id,
                literal(workspace_id),
                diff.c.customer_id,
                case((diff.c.side == 1, literal("entered")), else_=literal("exited")),
            ),
        )
    )


def _apply_diff(session: Session, workspace_id: str, run_ids: list[str], now: datetime) -> None:
    """Members updated from the runs' changes: the exited deleted, the entered inserted."""
    exited = select(SegmentChange.segment_id, SegmentChange.customer_id).where(
        SegmentChange.run_id.in_(run_ids), SegmentChange.change == "exited"
    )
    session.execute(
        delete(SegmentMember).where(
            tuple_(SegmentMember.segment_id, SegmentMember.customer_id).in_(exited)
        )
    )
    session.execute(
        insert(SegmentMember).from_select(
            ["segment_id", "customer_id", "workspace_id", "entered_at"],
            select(
                SegmentChange.segment_id,
                SegmentChange.customer_id,
                literal(workspace_id),
                literal(now, UTCDateTime()),
            ).where(SegmentChange.run_id.in_(run_ids), SegmentChange.change == "entered"),
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
    return refresh_many(session, [segment], now=now, unscored=unscored)[0]


def refresh_many(
    session: Session,
    segments: Sequence[SegmentDefinition],
    *,
    now: datetime | None = None,
    unscored: int | None = None,
) -> list[RunSummary]:
    """Recompute the members of segments of one workspace now, together: their criteria
    evaluated in one pass over the customers, their diffs written and applied by one
    statement each; the runs' summaries in the order given. Each segment gets its own run,
    events and drift check, exactly as if refreshed alone."""
    if not segments:
        return []
    now = now or utcnow()
    workspace_id = segments[0].workspace_id
    if any(segment.workspace_id != workspace_id for segment in segments):
        raise ValueError("the segments refreshed together must be of one workspace")
    ids = [segment.id for segment in segments]
    use_batch_settings(session)
    # one refresh of a segment at a time (PostgreSQL; SQLite serialises writers anyway)
    session.execute(
        select(SegmentDefinition.id)
        .where(SegmentDefinition.id.in_(ids))
        .order_by(SegmentDefinition.id)
        .with_for_update()
    )
    criteria = [criterion_of(segment) for segment in segments]
    as_of = require_features(session, workspace_id)
    analyze_stale(session, SEGMENT_TABLES)
    runs = [
        SegmentRun(
            id=new_id("run"),
            segment_id=segment.id,
            workspace_id=workspace_id,
            as_of=as_of or now.date(),
            computed_at=now,
            previous_population=segment.population,
            population=0,
            entered=0,
            exited=0,
            drift_pct=None,
            drift_alert=False,
        )
        for segment in segments
    ]
    session.add_all(runs)
    session.flush()
    audiences = [
        Audience(segment.id, criterion, segment.channel, segment.include_unsubscribed)
        for segment, criterion in zip(segments, criteria, strict=True)
    ]
    _write_diff(session, workspace_id, runs, audiences, as_of)
    analyze_stale(session, ("segment_changes",))
    run_ids = [run.id for run in runs]
    _apply_diff(session, workspace_id, run_ids, now)
    counts = {
        (run_id, change): count
        for run_id, change, count in session.execute(
            select(SegmentChange.run_id, SegmentChange.change, func.count())
            .where(SegmentChange.run_id.in_(run_ids))
            .group_by(SegmentChange.run_id, SegmentChange.change)
        )
    }
    populations = dict(
        session.execute(
            select(SegmentMember.segment_id, func.count())
            .where(SegmentMember.segment_id.in_(ids))
            .group_by(SegmentMember.segment_id)
        ).all()
    )
    summaries = []
    for segment, criterion, run in zip(segments, criteria, runs, strict=True):
        for change in ("entered", "exited"):
            _insert_events(session, segment, run.id, change, now)
        summaries.append(
            _finish(
                session,
                segment,
                run,
                populations.get(segment.id, 0),
                (counts.get((run.id, "entered"), 0), counts.get((run.id, "exited"), 0)),
                criteria_warnings(session, workspace_id, criterion, as_of, unscored),
                now,
            )
        )
    return summaries


def _finish(
    session: Session,
    segment: SegmentDefinition,
    run: SegmentRun,
    population: int,
    moved: tuple[int, int],
    warnings: list[str],
    now: datetime,
) -> RunSummary:
    """The run's figures and drift stored, a drift event on alert, the segment updated."""
    entered, exited = moved
    pct, alert = drift(segment.population, population, segment.drift_threshold_pct)
    run.population = population
    run.entered = entered
    run.exited = exited
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
        entered=entered,
        exited=exited,
        drift_pct=pct,
        drift_alert=alert,
        threshold_pct=segment.drift_threshold_pct,
        warnings=warnings,
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
