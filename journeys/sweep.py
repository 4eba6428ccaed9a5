"""The worker's periodic sweeps: opt-outs and suppressions out of journeys, exits, conversions.

Opt-outs (seed 000: "remove from active journeys"): the `customer.opted_out` domain events are
read in order from a per-workspace cursor (journey_cursors), in the same transaction as the
enrolments they end, so each is handled once. An opt-out of every channel removes the customer
from every active journey; of one channel, from the journeys that use that channel. A
customer suppressed on every channel (a hard bounce, a complaint) is removed too. Their waiting
tasks are cancelled at once; the gate would block the sends anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from core.models import (
    ALL_CHANNELS,
    DomainEvent,
    JourneyCursor,
    JourneyEnrolment,
    Suppression,
)
from core.sql import dialect_insert
from guardrails.suppressions import OPTED_OUT
from journeys.enrolment import end_enrolment
from journeys.exits import find_exits, mark_conversions
from journeys.journey_store import spec_of
from journeys.progress import apply_exit

OPT_OUT_CURSOR = "opt_outs"
EVENT_BATCH = 1000


@dataclass(frozen=True, slots=True)
class SweepReport:
    removed: int = 0
    exited: int = 0
    converted: int = 0


def _cursor(session: Session, workspace_id: str, name: str, now: datetime) -> JourneyCursor:
    insert = dialect_insert(session)
    session.execute(
        insert(JourneyCursor)
        .values(workspace_id=workspace_id, name=name, position=0, updated_at=now)
        .on_conflict_do_nothing(index_elements=["workspace_id", "name"])
    )
    return session.scalars(
        select(JourneyCursor)
        .where(JourneyCursor.workspace_id == workspace_id, JourneyCursor.name == name)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


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
    """Consume the workspace's new opt-out events; the number of enrolments ended."""
    cursor = _cursor(session, workspace_id, OPT_OUT_CURSOR, now)
    events = session.scalars(
        select(DomainEvent)
        .where(
            DomainEvent.workspace_id == workspace_id,
            DomainEvent.name == OPTED_OUT,
            DomainEvent.id > cursor.position,
        )
        .order_by(DomainEvent.id)
        .limit(EVENT_BATCH)
    ).all()
    removed = 0
    for event in events:
        if event.customer_id is None:
            continue
        scope = str((event.payload or {}).get("scope", ALL_CHANNELS))
        for enrolment in _active_enrolments(session, workspace_id, event.customer_id):
            if scope != ALL_CHANNELS:
                journey = spec_of(session, workspace_id, enrolment.journey_id, enrolment.version)
                if scope not in journey.channels():
                    continue
            removed += end_enrolment(
                session,
                enrolment.id,
                status="removed",
                reason=f"opted out ({scope})",
                at=now,
            )
    if events:
        cursor.position, cursor.updated_at = events[-1].id, now
    return removed


def remove_suppressed(session: Session, workspace_id: str, now: datetime) -> int:
    """End the active enrolments of customers suppressed on every channel."""
    suppressed = exists().where(
        Suppression.workspace_id == JourneyEnrolment.workspace_id,
        Suppression.customer_id == JourneyEnrolment.customer_id,
        Suppression.channel == ALL_CHANNELS,
    )
    ids = session.scalars(
        select(JourneyEnrolment.id).where(
            JourneyEnrolment.workspace_id == workspace_id,
            JourneyEnrolment.status == "active",
            suppressed,
        )
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
