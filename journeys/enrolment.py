"""Enrolment: put a customer into a running journey once per trigger key, and take them out.

`enrol` inserts the enrolment with INSERT ... ON CONFLICT DO NOTHING on the unique
(workspace, journey, trigger key), so two firings of the same trigger (two workers, a re-run
scan) enrol the customer once whatever the timing. It records the holdout and experiment
assignments (deterministic: `journeys.schedule.assignments_for`) and schedules the journey's
first node as a due task. Holdout customers are enrolled and walk the journey like everyone
else (so exits and conversions are measured the same way), but the worker sends them nothing.

`end_enrolment` ends an active enrolment (completed, converted, exited, removed) and cancels
its waiting tasks in the same transaction. Neither commits: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.ids import new_id
from core.models import JourneyEnrolment, JourneyTask
from core.sql import dialect_insert
from journeys.journey_store import spec_of, state_of
from journeys.schedule import assignments_for, due_at, step_key
from journeys.spec import Journey

EnrolStatus = Literal["enrolled", "duplicate", "already_active", "paused", "not_active"]
END_STATES = ("completed", "converted", "exited", "removed")
WAITING = ("pending", "claimed")


@dataclass(frozen=True, slots=True)
class EnrolResult:
    """What came of an enrolment: `enrolled`, `duplicate` (this trigger key already enrolled
    the customer), `already_active` (the customer is in this journey on another key),
    `paused` (the journey is paused or killed) or `not_active` (draft, retired or unknown)."""

    status: EnrolStatus
    enrolment_id: str | None = None
    detail: str = ""
    assignments: dict[str, Any] = field(default_factory=dict)

    @property
    def enrolled(self) -> bool:
        return self.status == "enrolled"


def schedule_node(
    session: Session,
    enrolment: JourneyEnrolment,
    journey: Journey,
    node_id: str,
    *,
    reached_at: datetime,
) -> None:
    """Insert the due task of `node_id` for the enrolment (a no-op if it exists already)."""
    schedule_nodes(session, [(enrolment, journey, node_id)], reached_at=reached_at)


def schedule_nodes(
    session: Session,
    moves: Sequence[tuple[JourneyEnrolment, Journey, str]],
    *,
    reached_at: datetime,
) -> None:
    """`schedule_node` for many enrolments in one INSERT ... ON CONFLICT DO NOTHING."""
    rows = []
    for enrolment, journey, node_id in moves:
        node = journey.node(node_id)
        if node is None:
            raise InvalidInput(
                f"journey {journey.id!r} has no node {node_id!r}", field="next", fix="validate it"
            )
        rows.append(
            {
                "id": new_id("jt"),
                "workspace_id": enrolment.workspace_id,
                "enrolment_id": enrolment.id,
                "journey_id": enrolment.journey_id,
                "customer_id": enrolment.customer_id,
                "node_id": node_id,
                "channel": getattr(node, "channel", None),
                "idempotency_key": step_key(
                    enrolment.workspace_id, enrolment.journey_id, enrolment.id, node_id
                ),
                "due_at": due_at(node, entered_at=enrolment.entered_at, reached_at=reached_at),
                "status": "pending",
                "attempts": 0,
                "failures": 0,
                "updated_at": reached_at,
            }
        )
    if not rows:
        return
    insert = dialect_insert(session)
    session.execute(
        insert(JourneyTask).on_conflict_do_nothing(
            index_elements=["workspace_id", "idempotency_key"]
        ),
        rows,
    )
    for enrolment, _, node_id in moves:
        enrolment.node_id = node_id


def enrol(
    session: Session,
    *,
    workspace_id: str,
    journey_id: str,
    customer_id: str,
    trigger_type: str,
    trigger_key: str,
    at: datetime,
) -> EnrolResult:
    """Enrol the customer in the journey's running version once per trigger key."""
    state = state_of(session, workspace_id, journey_id)
    if state is None or state.state not in ("active", "paused", "killed"):
        return EnrolResult("not_active", detail=f"journey is {state.state if state else 'unknown'}")
    if state.state != "active":
        return EnrolResult("paused", detail=f"journey is {state.state}: {state.reason}")
    if not trigger_key.strip() or len(trigger_key) > 200:
        raise InvalidInput(
            "must be 1 to 200 characters",
            field="trigger_key",
            fix="derive it from customer + trigger + date bucket",
        )
    active = session.scalars(
        select(JourneyEnrolment.id).where(
            JourneyEnrolment.workspace_id == workspace_id,
            JourneyEnrolment.customer_id == customer_id,
            JourneyEnrolment.journey_id == journey_id,
            JourneyEnrolment.status == "active",
        )
    ).first()
    if active is not None:
        return EnrolResult("already_active", active, "the customer is in this journey already")
    journey = spec_of(session, workspace_id, journey_id, state.version)
    assignments = assignments_for(journey, customer_id)
    insert = dialect_insert(session)
    enrolment_id = session.execute(
        insert(JourneyEnrolment)
        .values(
            id=new_id("je"),
            workspace_id=workspace_id,
            journey_id=journey_id,
            version=state.version,
            customer_id=customer_id,
            trigger_type=trigger_type,
            trigger_key=trigger_key,
            status="active",
            assignments=assignments,
            node_id=journey.start,
            entered_at=at,
        )
        .on_conflict_do_nothing(index_elements=["workspace_id", "journey_id", "trigger_key"])
        .returning(JourneyEnrolment.id)
    ).scalar_one_or_none()
    if enrolment_id is None:
        held = session.scalars(
            select(JourneyEnrolment.id).where(
                JourneyEnrolment.workspace_id == workspace_id,
                JourneyEnrolment.journey_id == journey_id,
                JourneyEnrolment.trigger_key == trigger_key,
            )
        ).first()
        return EnrolResult("duplicate", held, "this trigger key enrolled the customer already")
    enrolment = session.get(JourneyEnrolment, enrolment_id)
    assert enrolment is not None
    schedule_node(session, enrolment, journey, journey.start, reached_at=at)
    session.flush()
    return EnrolResult("enrolled", enrolment_id, "", assignments)


def cancel_waiting_tasks(session: Session, enrolment_id: str, *, reason: str, at: datetime) -> int:
    """Cancel the enrolment's tasks that have not run; the number cancelled."""
    return _cancel_waiting(session, [enrolment_id], reason=reason, at=at)


def _cancel_waiting(
    session: Session, enrolment_ids: Sequence[str], *, reason: str, at: datetime
) -> int:
    result = session.execute(
        update(JourneyTask)
        .where(JourneyTask.enrolment_id.in_(list(enrolment_ids)), JourneyTask.status.in_(WAITING))
        .values(
            status="cancelled",
            outcome="cancelled",
            detail=reason,
            claimed_by=None,
            lease_until=None,
            updated_at=at,
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def end_enrolment(
    session: Session,
    enrolment_id: str,
    *,
    status: str,
    exit_id: str | None = None,
    reason: str = "",
    at: datetime,
) -> bool:
    """End an active enrolment and cancel its waiting tasks; False if it had ended already."""
    return bool(
        end_enrolments(
            session, [enrolment_id], status=status, exit_id=exit_id, reason=reason, at=at
        )
    )


def end_enrolments(
    session: Session,
    enrolment_ids: Sequence[str],
    *,
    status: str,
    exit_id: str | None = None,
    reason: str = "",
    at: datetime,
) -> list[str]:
    """`end_enrolment` for many, in two statements; the ids that were active and ended."""
    if status not in END_STATES:
        raise InvalidInput(
            f"unknown end state {status!r}", field="status", fix=f"use {', '.join(END_STATES)}"
        )
    if not enrolment_ids:
        return []
    ended = list(
        session.scalars(
            update(JourneyEnrolment)
            .where(
                JourneyEnrolment.id.in_(list(enrolment_ids)), JourneyEnrolment.status == "active"
            )
            .values(status=status, ended_at=at, exit_id=exit_id, exit_reason=reason or None)
            .returning(JourneyEnrolment.id)
        )
    )
    if ended:
        _cancel_waiting(session, ended, reason=f"enrolment {status}: {reason}", at=at)
    return ended
