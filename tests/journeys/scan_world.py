"""A journey's first trigger scan over many customers, for the bulk-enrolment tests and
benchmarks/enrol.py: every customer viewed something an hour ago, so an event journey (with a
holdout and an A/B node) fires for all of them at once. Also the one-by-one enrolment path
the scan took before `enrol_many`, and a snapshot of what a scan wrote, to compare the two."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core.db import session_scope
from core.models import Event, JourneyEnrolment, JourneyTask, TriggerCursor, TriggerFiring
from core.settings import Settings
from journeys import journey_store
from journeys.enrol_plan import Entrant
from journeys.enrolment import EnrolResult, enrol
from tests.guardrails.approval_fixtures import Team, make_team
from tests.journeys.load_world import add_customers
from tests.journeys.runtime_fixtures import approved_item, journey_body

SCAN_JOURNEY = "JRN-SCAN"
VIEWED = "Viewed"


@dataclass(frozen=True)
class ScanWorld:
    team: Team
    settings: Settings
    customers: tuple[str, ...]
    now: datetime

    @property
    def workspace_id(self) -> str:
        return self.team.workspace_id


def scan_journey(item_id: str, journey_id: str = SCAN_JOURNEY) -> dict[str, Any]:
    """The two-step email journey on `Viewed`, with a 10% holdout and an A/B split first."""
    body = journey_body(
        item_id, id=journey_id, trigger={"type": "event", "event": VIEWED}, holdout=0.1, start="ab"
    )
    body["nodes"] = [
        {
            "kind": "experiment",
            "id": "ab",
            "variants": [{"id": "control", "next": "first"}, {"id": "b", "next": "second"}],
        },
        *body["nodes"],
    ]
    return body


def make_scan_world(settings: Settings, customers: int, now: datetime) -> ScanWorld:
    """`customers` consenting customers, each with a `Viewed` event an hour before `now`, and
    the scan journey active since a month before (nobody enrolled yet)."""
    team = make_team(settings)
    ids = add_customers(settings, team.workspace_id, customers, "email")
    item_id = approved_item(team)
    with session_scope(settings) as session:
        journey_store.save(session, team.marketer, scan_journey(item_id), now=now - timedelta(30))
        journey_store.activate(session, team.marketer, SCAN_JOURNEY, now=now - timedelta(30))
        session.execute(
            insert(Event),
            [
                {
                    "workspace_id": team.workspace_id,
                    "message_id": f"msg_{customer}",
                    "type": "track",
                    "name": VIEWED,
                    "customer_id": customer,
                    "properties": {},
                    "timestamp": now - timedelta(hours=1),
                    "received_at": now - timedelta(hours=1),
                }
                for customer in ids
            ],
        )
    return ScanWorld(team, settings, tuple(ids), now)


def enrol_one_by_one(
    session: Session,
    *,
    workspace_id: str,
    journey_id: str,
    trigger_type: str,
    entrants: Sequence[Entrant],
) -> list[EnrolResult]:
    """`enrol_many` as the scan did it before: `enrol` for each entrant in turn."""
    return [
        enrol(
            session,
            workspace_id=workspace_id,
            journey_id=journey_id,
            customer_id=entrant.customer_id,
            trigger_type=trigger_type,
            trigger_key=entrant.trigger_key,
            at=entrant.at,
        )
        for entrant in entrants
    ]


@contextmanager
def one_by_one() -> Iterator[None]:
    """Scans in this block enrol their winners one by one."""
    with mock.patch("journeys.triggers_job.enrol_many", enrol_one_by_one):
        yield


def snapshot(session: Session, workspace_id: str) -> dict[str, list[tuple[Any, ...]]]:
    """What scans wrote to the workspace, without the random ids: enrolments, their tasks
    (the enrolment named by its trigger key), the trigger log and the cursors, sorted."""
    enrolments = list(
        session.execute(
            select(JourneyEnrolment).where(JourneyEnrolment.workspace_id == workspace_id)
        ).scalars()
    )
    key_of = {e.id: (e.journey_id, e.trigger_key) for e in enrolments}
    tasks = session.scalars(select(JourneyTask).where(JourneyTask.workspace_id == workspace_id))
    firings = session.scalars(
        select(TriggerFiring).where(TriggerFiring.workspace_id == workspace_id)
    )
    cursors = session.scalars(
        select(TriggerCursor).where(TriggerCursor.workspace_id == workspace_id)
    )
    return {
        "enrolments": sorted(
            (
                e.journey_id,
                e.version,
                e.customer_id,
                e.trigger_type,
                e.trigger_key,
                e.status,
                tuple(sorted(e.assignments.items())),
                e.node_id,
                e.entered_at,
                e.ended_at,
            )
            for e in enrolments
        ),
        "tasks": sorted(
            (
                *key_of[t.enrolment_id],
                t.journey_id,
                t.customer_id,
                t.node_id,
                t.channel,
                t.idempotency_key.replace(t.enrolment_id, "<enrolment>"),
                t.due_at,
                t.status,
                t.attempts,
                t.failures,
                t.updated_at,
            )
            for t in tasks
        ),
        "firings": sorted(
            (
                f.journey_id,
                f.customer_id,
                f.trigger_type,
                f.trigger_key,
                f.outcome,
                f.detail,
                f.subject,
                f.fired_at,
            )
            for f in firings
        ),
        "cursors": sorted((c.journey_id, c.stream, c.position, c.updated_at) for c in cursors),
    }
