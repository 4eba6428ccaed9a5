"""Moving an enrolment on: to the next node, to the end of its path, or out through an exit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from core.models import JourneyEnrolment
from journeys.enrolment import end_enrolment, end_enrolments, enrol, schedule_nodes
from journeys.exits import ExitHit
from journeys.spec import Journey

TRANSITION = "transition"


def advance(
    session: Session,
    enrolment: JourneyEnrolment,
    journey: Journey,
    next_id: str | None,
    *,
    now: datetime,
) -> None:
    """Schedule the next node, or end the path: converted when the goal happened, else
    completed."""
    advance_many(session, [(enrolment, journey, next_id)], now=now)


Move = tuple[JourneyEnrolment, Journey, str | None]


def advance_many(session: Session, moves: Sequence[Move], *, now: datetime) -> None:
    """`advance` for many enrolments (each at most once): the next tasks in one INSERT, the
    ended paths in one UPDATE per end state."""
    schedule_nodes(session, [(e, j, n) for e, j, n in moves if n is not None], reached_at=now)
    ending: dict[str, list[str]] = {}
    for enrolment, _, next_id in moves:
        if next_id is None:
            status = "converted" if enrolment.converted_at is not None else "completed"
            ending.setdefault(status, []).append(enrolment.id)
    for status, ids in sorted(ending.items()):
        end_enrolments(session, ids, status=status, reason="end of the journey", at=now)


def apply_exit(session: Session, hit: ExitHit, journey: Journey, *, now: datetime) -> bool:
    """End the enrolment through the exit and, for a transition, enrol the customer in the
    named journey (trigger type `transition`, one per enrolment); False if it had ended."""
    reason = hit.exit.description or f"exit {hit.exit.id}"
    if not end_enrolment(
        session, hit.enrolment_id, status=hit.status, exit_id=hit.exit.id, reason=reason, at=now
    ):
        return False
    if hit.exit.transition_to:
        enrol(
            session,
            workspace_id=_workspace_of(session, hit.enrolment_id),
            journey_id=hit.exit.transition_to,
            customer_id=hit.customer_id,
            trigger_type=TRANSITION,
            trigger_key=f"{TRANSITION}:{journey.id}:{hit.enrolment_id}",
            at=now,
        )
    return True


def _workspace_of(session: Session, enrolment_id: str) -> str:
    enrolment = session.get(JourneyEnrolment, enrolment_id)
    assert enrolment is not None
    return enrolment.workspace_id
