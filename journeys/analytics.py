"""The journey dashboard from the workspace's records, as of a moment: set-based queries, each
scoped to one workspace, assembled into a `Dashboard` (seed 000's live view, seed 002's KPIs).

Definitions (each window ends at, and includes, the as-of time):
- ACTIVE JOURNEYS: journeys whose run state at the as-of time was `active` (the last change
  at or before it, in `journey_state_changes`). Customers in journeys: distinct customers
  with an enrolment active at the as-of time (entered, not yet ended), holdout left out.
- Pipeline per journey: see `JourneyRow` (conversion rate = converted / ended).
- Trigger activity, last hour: firings (`trigger_firings`), sends (`executions`), failed
  deliveries per channel (the runtime's channel-failure alerts), suppressions by cap and by
  opt-out (journey task and firing outcomes); the vocabulary is in `journeys.analytics_sql`,
  the delivery rate in `TriggerActivity`.
- NBA stats, last hour: the `nba_decisions` log that `next_best_action` writes.
- Trends and KPIs: `journeys.analytics_trends`, `journeys.analytics_kpis`.
- Alerts: `journeys.dashboard_alerts` on the figures above, daily entries and sends per
  journey, the targets in `journey_targets`, and the `journey.alert` domain events of the
  last 24 hours, grouped by kind, journey and channel.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, distinct, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from core.models import (
    DomainEvent,
    Execution,
    JourneyEnrolment,
    JourneyState,
    JourneyStateChange,
    JourneyTarget,
    JourneyTask,
    JourneyVersion,
    NbaDecision,
    TriggerFiring,
)
from core.settings import Settings
from journeys.analytics_kpis import kpis
from journeys.analytics_sql import (
    ALERT_EVENT,
    CAP_OUTCOMES,
    COMPLETED_STATUSES,
    FAILURE_ALERTS,
    FIRING_CAP,
    FIRING_OPT_OUT,
    OPT_OUT_OUTCOMES,
    count_if,
    in_window,
    not_holdout,
)
from journeys.analytics_trends import trends
from journeys.dashboard_alerts import (
    TRAILING_DAYS,
    DailySeries,
    channel_failure_alerts,
    dropoff_alerts,
    raised_alert,
    target_alerts,
)
from journeys.dashboard_data import (
    ActionShare,
    Alert,
    Dashboard,
    JourneyRow,
    NbaStats,
    TriggerActivity,
)
from scoring.action_store import inventory_of

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
TOP_ACTIONS = 5
RAISED_LOOKBACK = timedelta(hours=24)
RAISED_LIMIT = 20
CONVERSION_RATE = "conversion_rate"


def _journey_names(session: Session, workspace_id: str) -> dict[str, tuple[str, str]]:
    """journey id -> (name from its running or newest stored version, run state)."""
    states = {
        journey: (version, state)
        for journey, version, state in session.execute(
            select(JourneyState.journey_id, JourneyState.version, JourneyState.state).where(
                JourneyState.workspace_id == workspace_id
            )
        )
    }
    names: dict[str, str] = {}
    for journey, version, spec in session.execute(
        select(JourneyVersion.journey_id, JourneyVersion.version, JourneyVersion.spec)
        .where(JourneyVersion.workspace_id == workspace_id)
        .order_by(JourneyVersion.created_at)
    ):
        running = states.get(journey, (None, ""))[0]
        if journey not in names or version == running:
            names[journey] = str((spec or {}).get("name") or journey)
    return {
        journey: (names.get(journey, journey), states.get(journey, ("", "none"))[1])
        for journey in {*names, *states}
    }


def pipeline(session: Session, workspace_id: str, as_of: datetime) -> list[JourneyRow]:
    """Per journey: active, ended, completed and converted enrolments as of `as_of`."""
    e = JourneyEnrolment
    ended = e.ended_at.is_not(None) & (e.ended_at <= as_of)
    active = e.ended_at.is_(None) | (e.ended_at > as_of)
    converted = ended & (
        (e.status == "converted") | (e.converted_at.is_not(None) & (e.converted_at <= as_of))
    )
    rows = session.execute(
        select(
            e.journey_id,
            count_if(active),
            count_if(ended),
            count_if(ended & e.status.in_(COMPLETED_STATUSES)),
            count_if(converted),
        )
        .where(e.workspace_id == workspace_id, e.entered_at <= as_of, not_holdout())
        .group_by(e.journey_id)
    ).all()
    counts = {row[0]: tuple(int(v) for v in row[1:]) for row in rows}
    names = _journey_names(session, workspace_id)
    listed = [j for j, (_, state) in names.items() if state not in ("none", "draft")]
    result = []
    for journey in sorted({*counts, *listed}):
        name, state = names.get(journey, (journey, "none"))
        active_n, ended_n, completed_n, converted_n = counts.get(journey, (0, 0, 0, 0))
        result.append(JourneyRow(journey, name, state, active_n, ended_n, completed_n, converted_n))
    result.sort(key=lambda r: (r.state != "active", r.name.lower(), r.journey_id))
    return result


def journeys_in_flight(session: Session, workspace_id: str, as_of: datetime) -> tuple[int, int]:
    """(journeys running now, distinct customers in a journey at `as_of`)."""
    e = JourneyEnrolment
    c = JourneyStateChange
    # each journey's last change at or before the moment, by when it took effect (a change
    # can be recorded with an earlier time than one recorded before it), then by id
    ranked = (
        select(
            c.state,
            func.row_number()
            .over(partition_by=c.journey_id, order_by=(c.changed_at.desc(), c.id.desc()))
            .label("rank"),
        )
        .where(c.workspace_id == workspace_id, c.changed_at <= as_of)
        .subquery()
    )
    running = session.scalar(
        select(func.count()).where(ranked.c.rank == 1, ranked.c.state == "active")
    )
    customers = session.scalar(
        select(func.count(distinct(e.customer_id))).where(
            e.workspace_id == workspace_id,
            e.entered_at <= as_of,
            e.ended_at.is_(None) | (e.ended_at > as_of),
            not_holdout(),
        )
    )
    return int(running or 0), int(customers or 0)


def trigger_activity(
    session: Session, workspace_id: str, as_of: datetime, window: timedelta = HOUR
) -> TriggerActivity:
    start = as_of - window
    f, t = TriggerFiring, JourneyTask
    fired, firing_cap, firing_optout = session.execute(
        select(
            func.count(),
            count_if(f.outcome == FIRING_CAP),
            count_if(f.outcome == FIRING_OPT_OUT),
        ).where(f.workspace_id == workspace_id, in_window(f.fired_at, start, as_of))
    ).one()
    executed = session.scalar(
        select(func.count()).where(
            Execution.workspace_id == workspace_id, in_window(Execution.executed_at, start, as_of)
        )
    )
    in_hour = (t.workspace_id == workspace_id) & in_window(t.updated_at, start, as_of)
    task_cap, task_optout = session.execute(
        select(
            count_if(t.outcome.in_(CAP_OUTCOMES)), count_if(t.outcome.in_(OPT_OUT_OUTCOMES))
        ).where(in_hour)
    ).one()
    failures = _alerts(workspace_id, start, as_of, kinds=FAILURE_ALERTS)
    failed_by_channel = {
        str(ch or "unknown"): int(n)
        for ch, n in session.execute(
            select(failures.c.channel, func.count()).group_by(failures.c.channel)
        )
    }
    return TriggerActivity(
        start=start,
        end=as_of,
        fired=int(fired),
        executed=int(executed or 0),
        failed_by_channel=failed_by_channel,
        suppressed_cap=int(firing_cap) + int(task_cap),
        suppressed_optout=int(firing_optout) + int(task_optout),
    )


def nba_stats(
    session: Session, workspace_id: str, as_of: datetime, window: timedelta = HOUR
) -> NbaStats:
    start = as_of - window
    n = NbaDecision
    rows = session.execute(
        select(n.action_id, n.channel, func.count(), func.sum(n.confidence))
        .where(n.workspace_id == workspace_id, in_window(n.decided_at, start, as_of))
        .group_by(n.action_id, n.channel)
    ).all()
    decisions = sum(int(r[2]) for r in rows)
    named = [r for r in rows if r[0] is not None]
    with_action = sum(int(r[2]) for r in named)
    confidence = sum(float(r[3] or 0) for r in named)
    titles = {a.id: a.title for a in inventory_of(session, workspace_id).actions}
    named.sort(key=lambda r: (-int(r[2]), str(r[0]), str(r[1])))
    top = [
        ActionShare(
            action_id=str(action),
            title=titles.get(str(action), str(action)),
            channel=str(channel or ""),
            count=int(count),
            share=int(count) / decisions,
        )
        for action, channel, count, _ in named[:TOP_ACTIONS]
    ]
    return NbaStats(
        start=start,
        end=as_of,
        decisions=decisions,
        avg_confidence=confidence / with_action if with_action else None,
        top_actions=top,
        no_action=decisions - with_action,
    )


def _daily(column: Any, as_of: datetime) -> ColumnElement[Any]:
    """0 for the last 24 hours, 1..7 for each day before (None further back)."""
    return case(
        *[
            (in_window(column, as_of - (i + 1) * DAY, as_of - i * DAY), i)
            for i in range(TRAILING_DAYS + 1)
        ],
        else_=None,
    )


def daily_series(
    session: Session, workspace_id: str, as_of: datetime, names: dict[str, str]
) -> list[DailySeries]:
    """Per journey, entries and sends in the last 24 hours and each of the 7 days before."""
    start = as_of - (TRAILING_DAYS + 1) * DAY
    e, t = JourneyEnrolment, JourneyTask
    entries = (
        select(e.journey_id.label("journey"), _daily(e.entered_at, as_of).label("day"))
        .where(e.workspace_id == workspace_id, in_window(e.entered_at, start, as_of))
        .subquery()
    )
    sends = (
        select(t.journey_id.label("journey"), _daily(t.updated_at, as_of).label("day"))
        .where(
            t.workspace_id == workspace_id,
            t.status == "sent",
            in_window(t.updated_at, start, as_of),
        )
        .subquery()
    )
    series = []
    for metric, sub in (("entries", entries), ("sends", sends)):
        per: dict[str, list[int]] = {}
        for journey, day, count in session.execute(
            select(sub.c.journey, sub.c.day, func.count())
            .where(sub.c.day.is_not(None))
            .group_by(sub.c.journey, sub.c.day)
        ):
            per.setdefault(journey, [0] * (TRAILING_DAYS + 1))[int(day)] = int(count)
        for journey, days in sorted(per.items()):
            series.append(
                DailySeries(journey, names.get(journey, journey), metric, days[0], days[1:])
            )
    return series


def conversion_targets(session: Session, workspace_id: str) -> dict[str, float]:
    return {
        journey: float(target)
        for journey, target in session.execute(
            select(JourneyTarget.journey_id, JourneyTarget.target).where(
                JourneyTarget.workspace_id == workspace_id,
                JourneyTarget.metric == CONVERSION_RATE,
            )
        )
    }


def _alerts(
    workspace_id: str, start: datetime, end: datetime, *, kinds: tuple[str, ...] = ()
) -> Any:
    """The window's `journey.alert` events as a subquery of (id, at, kind, journey, channel):
    grouped outside it, as PostgreSQL wants the JSON lookups labelled before a GROUP BY."""
    e = DomainEvent
    kind = e.payload["kind"].as_string()
    query = select(
        e.id.label("id"),
        e.occurred_at.label("at"),
        kind.label("kind"),
        e.payload["journey_id"].as_string().label("journey"),
        e.payload["channel"].as_string().label("channel"),
    ).where(
        e.workspace_id == workspace_id, e.name == ALERT_EVENT, in_window(e.occurred_at, start, end)
    )
    if kinds:
        query = query.where(kind.in_(kinds))
    return query.subquery()


def raised_alerts(session: Session, workspace_id: str, as_of: datetime) -> list[Alert]:
    """The `journey.alert` events of the last 24 hours, one alert per kind, journey and
    channel with how many and the newest one's message; most recent first."""
    a = _alerts(workspace_id, as_of - RAISED_LOOKBACK, as_of)
    groups = session.execute(
        select(a.c.kind, a.c.journey, a.c.channel, func.count(), func.max(a.c.id))
        .group_by(a.c.kind, a.c.journey, a.c.channel)
        .order_by(func.max(a.c.at).desc(), func.max(a.c.id).desc())
        .limit(RAISED_LIMIT)
    ).all()
    payloads = dict(
        session.execute(
            select(DomainEvent.id, DomainEvent.payload).where(
                DomainEvent.id.in_([g[4] for g in groups])
            )
        ).all()
    )
    return [
        raised_alert(kind, journey, channel, int(n), payloads.get(newest) or {})
        for kind, journey, channel, n, newest in groups
    ]


def build_dashboard(
    session: Session, workspace_id: str, workspace: str, as_of: datetime, settings: Settings
) -> Dashboard:
    """Every section of the dashboard as of `as_of`, read in the caller's transaction."""
    rows = pipeline(session, workspace_id, as_of)
    running, customers = journeys_in_flight(session, workspace_id, as_of)
    activity = trigger_activity(session, workspace_id, as_of)
    names = {row.journey_id: row.name for row in rows}
    alerts = [
        *channel_failure_alerts(
            activity.failed_by_channel, threshold=settings.alert_channel_failures
        ),
        *dropoff_alerts(
            daily_series(session, workspace_id, as_of, names),
            pct=settings.alert_dropoff_pct,
            min_daily=settings.alert_dropoff_min_daily,
        ),
        *target_alerts(
            rows,
            conversion_targets(session, workspace_id),
            min_ended=settings.alert_target_min_ended,
        ),
        *raised_alerts(session, workspace_id, as_of),
    ]
    alerts.sort(key=lambda a: a.level != "warning")
    return Dashboard(
        workspace=workspace,
        as_of=as_of,
        active_journeys=running,
        customers_in_journeys=customers,
        journeys=rows,
        activity=activity,
        nba=nba_stats(session, workspace_id, as_of),
        trends=trends(session, workspace_id, as_of),
        alerts=alerts,
        kpis=kpis(session, workspace_id, as_of),
    )
