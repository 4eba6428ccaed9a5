"""The trigger scan: detect every running journey's trigger, judge each firing, enrol the
winners, and log every firing with its outcome. Run by the worker loop and by
`mcopilot journey scan`.

One scan, in the caller's transaction (never committed here), in this order:

1. one scan per workspace at a time (a PostgreSQL advisory lock; SQLite serialises writers);
2. the unsubscribe-rate monitor pauses journeys that drive customers away (`journeys.fatigue`);
3. abandoned-cart enrolments whose cart was ordered or cleared end (`journeys.cart_exits`);
4. per running journey (active, paused or killed): its trigger as one query
   (`journeys.trigger_queries`), minus keys that already enrolled the customer, with the gate's
   facts read in the same query (`journeys.trigger_audience`). A paused or killed journey's
   firings are all `paused`: it enrols nobody;
5. the gate (`journeys.trigger_rules.gate`), one candidate per journey and customer, then one
   winner per customer across journeys (`resolve_conflicts`);
6. winners are enrolled, a batch per journey (`journeys.enrolment.enrol_many`: a handful of
   statements however many; the unique trigger key makes a second scan, or a concurrent one,
   enrol nobody);
7. every firing is logged once per journey, key and outcome (`journeys.firings`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.db import session_scope
from core.ids import sha256_hex
from core.models import JourneyEnrolment, JourneyState, TriggerCursor
from core.order_log import current_seq
from core.settings import Settings, get_settings
from core.statistics import analyze_stale
from guardrails.contact_store import policy_of
from journeys.cart_exits import sweep_cart_exits
from journeys.enrol_plan import Entrant
from journeys.enrolment import EnrolResult, enrol_many
from journeys.fatigue import check_unsubscribe_rates
from journeys.firings import Firing, record
from journeys.journey_store import spec_of
from journeys.spec import Journey
from journeys.trigger_audience import Hit, read_hits
from journeys.trigger_queries import Window, hits_query, order_writes_since
from journeys.trigger_rules import (
    DUPLICATE,
    ENROLLED,
    PAUSED,
    Candidate,
    Limits,
    Verdict,
    describe_firing,
    gate,
    resolve_conflicts,
)
from scoring.criteria_sql import SEGMENT_TABLES

logger = logging.getLogger("mcopilot.journeys.triggers")
RUNNING_STATES = ("active", "paused", "killed")
#: What the scan reads besides the segment tables: their statistics must be fresh on PostgreSQL
#: (with "one row" estimates after a bulk load, the churn query took 2 s instead of 50 ms).
SCAN_TABLES = (
    *SEGMENT_TABLES,
    "orders",
    "carts",
    "events",
    "suppressions",
    "customer_touches",
    "journey_enrolments",
    "trigger_firings",
)
ORDERS_STREAM = "orders"
CHUNK = 500


@dataclass
class JourneyScan:
    """One journey's part of a scan: firings judged, by outcome, and how many were new."""

    journey_id: str
    trigger_type: str
    state: str
    outcomes: Counter[str] = field(default_factory=Counter)
    logged: int = 0
    note: str = ""

    @property
    def fired(self) -> int:
        return sum(self.outcomes.values())


@dataclass
class ScanReport:
    workspace_id: str
    at: datetime
    journeys: list[JourneyScan] = field(default_factory=list)
    cart_exits: int = 0
    paused_by_monitor: list[str] = field(default_factory=list)

    @property
    def outcomes(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for scan in self.journeys:
            total.update(scan.outcomes)
        return total

    @property
    def enrolled(self) -> int:
        return self.outcomes[ENROLLED]

    @property
    def logged(self) -> int:
        return sum(scan.logged for scan in self.journeys)

    def to_json(self) -> dict[str, Any]:
        return {
            "workspace_id": self.workspace_id,
            "at": self.at.isoformat(),
            "enrolled": self.enrolled,
            "outcomes": dict(sorted(self.outcomes.items())),
            "logged": self.logged,
            "cart_exits": self.cart_exits,
            "paused_by_monitor": self.paused_by_monitor,
            "journeys": [
                {
                    "journey_id": scan.journey_id,
                    "trigger": scan.trigger_type,
                    "state": scan.state,
                    "fired": scan.fired,
                    "outcomes": dict(sorted(scan.outcomes.items())),
                    "logged": scan.logged,
                    "note": scan.note,
                }
                for scan in self.journeys
            ],
        }


@dataclass
class _Judged:
    """A firing on its way through the scan."""

    journey: Journey
    hit: Hit
    verdict: Verdict | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.journey.id, self.hit.facts.trigger_key


def lock_scan(session: Session, workspace_id: str) -> None:
    """One scan of a workspace at a time: a transaction-scoped advisory lock on PostgreSQL
    (a second scan waits, then finds the first one's enrolments); SQLite has one writer."""
    if session.get_bind().dialect.name != "postgresql":
        return
    lock_id = int(sha256_hex(f"trigger-scan:{workspace_id}")[:15], 16)
    session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})


def _running(session: Session, workspace_id: str) -> list[JourneyState]:
    return list(
        session.scalars(
            select(JourneyState)
            .where(
                JourneyState.workspace_id == workspace_id,
                JourneyState.state.in_(RUNNING_STATES),
            )
            .order_by(JourneyState.journey_id)
        )
    )


def _cursor(session: Session, workspace_id: str, journey_id: str) -> TriggerCursor | None:
    return session.get(TriggerCursor, (workspace_id, journey_id, ORDERS_STREAM))


def _advance(session: Session, workspace_id: str, journey_id: str, seq: int, now: datetime) -> None:
    cursor = _cursor(session, workspace_id, journey_id)
    if cursor is None:
        session.add(
            TriggerCursor(
                workspace_id=workspace_id,
                journey_id=journey_id,
                stream=ORDERS_STREAM,
                position=seq,
                updated_at=now,
            )
        )
    else:
        cursor.position, cursor.updated_at = seq, now


def _window(
    session: Session, workspace_id: str, journey: Journey, now: datetime, settings: Settings
) -> Window:
    window = Window(now, timedelta(hours=settings.trigger_lookback_hours))
    if journey.trigger.type == "post_purchase":
        cursor = _cursor(session, workspace_id, journey.id)
        if cursor is not None:
            written = order_writes_since(session, workspace_id, cursor.position)
            window = Window(now, window.lookback, written)
    return window


def _detect(
    session: Session,
    workspace_id: str,
    state: JourneyState,
    journey: Journey,
    now: datetime,
    settings: Settings,
) -> tuple[JourneyScan, list[Hit]]:
    scan = JourneyScan(journey.id, journey.trigger.type, state.state)
    window = _window(session, workspace_id, journey, now, settings)
    query = hits_query(
        session,
        workspace_id,
        journey,
        window,
        max_age=timedelta(days=settings.post_purchase_max_age_days),
    )
    if query is None:
        scan.note = (
            f"segment {journey.trigger.segment!r} does not exist"  # type: ignore[union-attr]
            if journey.trigger.type == "segment_entry"
            else "needs two RFM snapshots, the latest within the lookback"
        )
        return scan, []
    return scan, read_hits(session, workspace_id, journey, query, now)


def _judge(
    journey: Journey, state: JourneyState, hits: Iterable[Hit], limits: Limits, now: datetime
) -> list[_Judged]:
    judged: list[_Judged] = []
    seen: set[str] = set()
    for hit in hits:
        item = _Judged(journey, hit)
        if state.state != "active":
            item.verdict = Verdict(PAUSED, f"journey is {state.state}: {state.reason}")
        elif hit.facts.customer_id in seen:
            item.verdict = Verdict(
                DUPLICATE, "another firing of this trigger enrols the customer in this scan"
            )
        else:
            item.verdict = gate(hit.facts, journey, limits, now)
        if item.verdict is None:
            seen.add(hit.facts.customer_id)
        judged.append(item)
    return judged


def _active_journeys(
    session: Session, workspace_id: str, customers: Sequence[str]
) -> dict[str, list[Journey]]:
    """The journeys each customer is active in now (specs of the versions they entered)."""
    found: dict[str, list[Journey]] = {}
    specs: dict[tuple[str, str], Journey] = {}
    for start in range(0, len(customers), CHUNK):
        rows = session.execute(
            select(
                JourneyEnrolment.customer_id,
                JourneyEnrolment.journey_id,
                JourneyEnrolment.version,
            ).where(
                JourneyEnrolment.workspace_id == workspace_id,
                JourneyEnrolment.status == "active",
                JourneyEnrolment.customer_id.in_(customers[start : start + CHUNK]),
            )
        )
        for customer_id, journey_id, version in rows:
            if (journey_id, version) not in specs:
                specs[(journey_id, version)] = spec_of(session, workspace_id, journey_id, version)
            found.setdefault(customer_id, []).append(specs[(journey_id, version)])
    return found


def _enrolled(result: EnrolResult) -> Verdict:
    if result.status == "enrolled":
        held_out = bool(result.assignments.get("holdout"))
        return Verdict(ENROLLED, "enrolled in the holdout (no sends)" if held_out else "enrolled")
    if result.status in ("duplicate", "already_active"):
        return Verdict(DUPLICATE, result.detail)
    return Verdict(PAUSED, result.detail)


def _settle(session: Session, workspace_id: str, judged: list[_Judged], now: datetime) -> None:
    """Resolve conflicts among the candidates and enrol the winners, one batch per journey
    (every verdict set)."""
    candidates = {item.key: item for item in judged if item.verdict is None}
    customers = sorted({item.hit.facts.customer_id for item in candidates.values()})
    winners, lost = resolve_conflicts(
        (
            Candidate(item.journey, item.hit.facts.customer_id, key[1], item.hit.facts.stage)
            for key, item in candidates.items()
        ),
        _active_journeys(session, workspace_id, customers),
    )
    for key, verdict in lost.items():
        candidates[key].verdict = verdict
    by_journey: dict[str, list[_Judged]] = {}
    for winner in winners:
        item = candidates[(winner.journey.id, winner.trigger_key)]
        by_journey.setdefault(winner.journey.id, []).append(item)
    for journey_id, items in by_journey.items():
        results = enrol_many(
            session,
            workspace_id=workspace_id,
            journey_id=journey_id,
            trigger_type=items[0].journey.trigger.type,
            entrants=[Entrant(item.hit.facts.customer_id, item.key[1], now) for item in items],
        )
        for item, result in zip(items, results, strict=True):
            item.verdict = _enrolled(result)


def _log(
    session: Session,
    workspace_id: str,
    judged: list[_Judged],
    scans: dict[str, JourneyScan],
    now: datetime,
) -> None:
    """Count every firing's outcome and log the ones not logged with it yet."""
    firings: dict[str, list[Firing]] = {}
    for item in judged:
        assert item.verdict is not None
        hit, trigger_type = item.hit, item.journey.trigger.type
        what = describe_firing(trigger_type, hit.at, hit.subject, hit.value)
        scans[item.journey.id].outcomes[item.verdict.outcome] += 1
        firings.setdefault(item.journey.id, []).append(
            Firing(
                journey_id=item.journey.id,
                trigger_type=trigger_type,
                customer_id=hit.facts.customer_id,
                trigger_key=hit.facts.trigger_key,
                outcome=item.verdict.outcome,
                detail=f"{what}: {item.verdict.detail}",
                subject=hit.subject,
            )
        )
    for journey_id, rows in firings.items():
        scans[journey_id].logged = record(session, workspace_id, rows, at=now)


def scan_triggers(
    session: Session, workspace_id: str, now: datetime, *, settings: Settings | None = None
) -> ScanReport:
    """Scan every running journey of the workspace at `now` (see the module docstring)."""
    settings = settings or get_settings()
    lock_scan(session, workspace_id)
    if session.get_bind().dialect.name == "postgresql":  # SQLite would analyze every scan
        analyze_stale(session, SCAN_TABLES)
    report = ScanReport(workspace_id, now)
    report.paused_by_monitor = [
        rate.journey_id
        for rate in check_unsubscribe_rates(session, workspace_id, now=now, settings=settings)
    ]
    report.cart_exits = len(sweep_cart_exits(session, workspace_id, now=now))
    policy = policy_of(session, workspace_id)
    limits = Limits(
        total_per_week=policy.caps.total_per_week,
        trigger_window=timedelta(hours=policy.rules.trigger_window_hours),
        cooling_off=timedelta(days=settings.journey_cooling_off_days),
    )
    orders_seq = current_seq(session, workspace_id)  # read before any query of orders
    judged: list[_Judged] = []
    scans: dict[str, JourneyScan] = {}
    for state in _running(session, workspace_id):
        journey = spec_of(session, workspace_id, state.journey_id, state.version)
        scan, hits = _detect(session, workspace_id, state, journey, now, settings)
        scans[journey.id] = scan
        report.journeys.append(scan)
        judged.extend(_judge(journey, state, hits, limits, now))
        if state.state == "active" and journey.trigger.type == "post_purchase":
            _advance(session, workspace_id, journey.id, orders_seq, now)

    _settle(session, workspace_id, judged, now)
    _log(session, workspace_id, judged, scans, now)
    session.flush()
    return report


def scan_job(settings: Settings, workspace_id: str, now: datetime) -> ScanReport:
    """The worker's periodic job (`journeys.worker.Worker(jobs=[scan_job])`): one scan of the
    workspace in its own transaction, its counts logged (no customer data)."""
    with session_scope(settings) as session:
        report = scan_triggers(session, workspace_id, now, settings=settings)
    if report.logged or report.cart_exits or report.paused_by_monitor:
        logger.info(
            "trigger scan %s: %s; %d cart exits; paused %s",
            workspace_id,
            dict(sorted(report.outcomes.items())),
            report.cart_exits,
            report.paused_by_monitor,
        )
    return report
