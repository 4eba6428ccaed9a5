"""The worker's periodic sweeps: opt-outs and suppressions out of journeys, exits, conversions.

Opt-outs (seed 000: "remove from active journeys"): the `customer.opted_out` domain events not
handled yet are read and marked handled (`handled_at`) in the same transaction as the
enrolments they end, so each is handled once. Not a cursor on the event id: PostgreSQL takes
the id at insert, not at commit, so a slow opt-out with a lower id can become visible after a
later one was read, and a cursor would have moved past it for good. Two sweeps at once take
disjoint events (`FOR UPDATE SKIP LOCKED`). An opt-out of every channel removes the customer
from every active journey; of one channel, from the journeys that use that channel. A
customer suppressed on every channel (a hard bounce, a complaint) is removed too. Their waiting
tasks are cancelled at once; the gate would block the sends anyway. Enrolments are ended in id
order, the order a worker locks them in, so a sweep and a batch never deadlock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select, text, update
from sqlalchemy.orm import Session

from core.models import ALL_CHANNELS, DomainEvent, JourneyEnrolment, Suppression
from core.models.events import UNHANDLED_OPT_OUTS
from journeys.enrolment import end_enrolment
from journeys.exits import find_exits, mark_conversions
from journeys.journey_store import spec_of
from journeys.progress import apply_exit

EVENT_BATCH = 1000


@dataclass(frozen=True, slots=True)
class SweepReport:
    removed: int = 0
    exited: int = 0
    converted: int = 0


def _active_enrolments(
    session: Session, workspace_id: str, customer_id: str
) -> list[JourneyEnrolment]:
    return list(
        session.scalars(
            select(JourneyEnrolment).where(
                JourneyEnrolment.workspace_id == workspace_id,
                JourneyEnrolment.customer_id == customer_id,
                JourneyEnrolment.status == "active",
            )
        )
    )


def remove_opted_out(session: Session, workspace_id: str, now: datetime) -> int:
    """Consume the workspace's opt-out events not handled yet (up to a batch, oldest first);
    the number of enrolments ended."""
    events = session.scalars(
        select(DomainEvent)
        # the partial index's own predicate, spelled out (not a bound parameter), so the
        # planner can use the index
        .where(DomainEvent.workspace_id == workspace_id, text(UNHANDLED_OPT_OUTS))
        .order_by(DomainEvent.id)
        .limit(EVENT_BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    ending: dict[str, str] = {}  # enrolment id -> why it ends
    for event in events:
        if event.customer_id is None:
            continue
        scope = str((event.payload or {}).get("scope", ALL_CHANNELS))
        for enrolment in _active_enrolments(session, workspace_id, event.customer_id):
            if scope != ALL_CHANNELS:
                journey = spec_of(session, workspace_id, enrolment.journey_id, enrolment.version)
                if scope not in journey.channels():
                    continue
            ending.setdefault(enrolment.id, f"opted out ({scope})")
    if events:
        session.execute(
            update(DomainEvent)
            .where(DomainEvent.id.in_([event.id for event in events]))
            .values(handled_at=now)
            .execution_options(synchronize_session=False)
        )
    return sum(
        end_enrolment(session, found, status="removed", reason=ending[found], at=now)
        for found in sorted(ending)
    )


def remove_suppressed(session: Session, workspace_id: str, now: datetime) -> int:
    """End the active enrolments of customers suppressed on every channel."""
    suppressed = exists().where(
        Suppression.workspace_id == JourneyEnrolment.workspace_id,
        Suppression.customer_id == JourneyEnrolment.customer_id,
        Suppression.channel == ALL_CHANNELS,
    )
    ids = session.scalars(
        select(JourneyEnrolment.id)
        .where(
            JourneyEnrolment.workspace_id == workspace_id,
            JourneyEnrolment.status == "active",
            suppressed,
        )
        .order_by(JourneyEnrolment.id)  # the order workers lock enrolments in
    ).all()
    return sum(
        end_enrolment(
            session, found, status="removed", reason="suppressed on every channel", at=now
        )
        for found in ids
    )


def sweep_exits(session: Session, workspace_id: str, now: datetime) -> tuple[int, int]:
    """Conversions and exits of every running journey version with active enrolments;
    (exited, converted)."""
    versions = session.execute(
        select(JourneyEnrolment.journey_id, JourneyEnrolment.version)
        .where(JourneyEnrolment.workspace_id == workspace_id, JourneyEnrolment.status == "active")
        .distinct()
    ).all()
    exited = converted = 0
    for journey_id, version in versions:
        journey = spec_of(session, workspace_id, journey_id, version)
        converted += mark_conversions(session, workspace_id, journey, version, now)
        for hit in find_exits(session, workspace_id, journey, version, now):
            exited += apply_exit(session, hit, journey, now=now)
    return exited, converted


def sweep(session: Session, workspace_id: str, now: datetime) -> SweepReport:
    """Every sweep of one workspace, in the caller's transaction."""
    removed = remove_opted_out(session, workspace_id, now)
    removed += remove_suppressed(session, workspace_id, now)
    exited, converted = sweep_exits(session, workspace_id, now)
    return SweepReport(removed, exited, converted)
