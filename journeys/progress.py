"""Moving an enrolment on: to the next node, to the end of its path, or out through an exit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from core.models import JourneyEnrolment
from journeys.enrolment import end_enrolment, enrol, schedule_node
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
    if next_id is not None:
        schedule_node(session, enrolment, journey, next_id, reached_at=now)
        return
    status = "converted" if enrolment.converted_at is not None else "completed"
    end_enrolment(session, enrolment.id, status=status, reason="end of the journey", at=now)


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
