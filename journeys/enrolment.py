"""Enrolment: put a customer into a running journey once per trigger key, and take them out.

`enrol_many` enrols a batch of customers (a trigger scan's winners for one journey) in a
handful of statements, exactly as `enrol` called for each in turn would (`journeys.enrol_plan`);
`enrol` is a batch of one. The enrolments go in with INSERT ... ON CONFLICT DO NOTHING on the
unique (workspace, journey, trigger key), so two firings of the same trigger (two workers, a
re-run scan, two scans racing) enrol the customer once whatever the timing. It records the
holdout and experiment assignments (deterministic: `journeys.schedule.assignments_for`) and
schedules the journey's first node as a due task. Holdout customers are enrolled and walk the
journey like everyone else (so exits and conversions are measured the same way), but the
worker sends them nothing.

`end_enrolment` ends an active enrolment (completed, converted, exited, removed) and cancels
its waiting tasks in the same transaction. Neither commits: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.ids import new_id
from core.models import JourneyEnrolment, JourneyTask
from core.sql import among, dialect_insert
from journeys.enrol_plan import Entrant, Planned, after_race, check_keys, plan
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


class Placed(Protocol):
    """What scheduling a node reads of an enrolment, and the node it sets: a loaded
    `JourneyEnrolment`, or `NewEnrolment` for a row just inserted."""

    id: str
    workspace_id: str
    journey_id: str
    customer_id: str
    entered_at: datetime
    node_id: str | None


@dataclass(slots=True)
class NewEnrolment:
    """A row `enrol_many` inserted, without loading it as an ORM object."""

    id: str
    workspace_id: str
    journey_id: str
    customer_id: str
    entered_at: datetime
    node_id: str | None


def schedule_node(
    session: Session,
    enrolment: Placed,
    journey: Journey,
    node_id: str,
    *,
    reached_at: datetime,
) -> None:
    """Insert the due task of `node_id` for the enrolment (a no-op if it exists already)."""
    schedule_nodes(session, [(enrolment, journey, node_id)], reached_at=reached_at)


def schedule_nodes(
    session: Session,
    moves: Sequence[tuple[Placed, Journey, str]],
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
    session.flush()  # a Core statement does not autoflush: the enrolments must be written
    session.execute(
        dialect_insert(session)(JourneyTask.__table__).on_conflict_do_nothing(
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
    (result,) = enrol_many(
        session,
        workspace_id=workspace_id,
        journey_id=journey_id,
        trigger_type=trigger_type,
        entrants=[Entrant(customer_id, trigger_key, at)],
    )
    return result


def enrol_many(
    session: Session,
    *,
    workspace_id: str,
    journey_id: str,
    trigger_type: str,
    entrants: Sequence[Entrant],
) -> list[EnrolResult]:
    """`enrol` for many customers of one journey, a result per entrant in order, the same as
    calling it for each in turn (`journeys.enrol_plan`), in a handful of statements: the
    journey's state; the customers active in it (and the keys held, when a customer comes
    twice; `core.sql.among`); one INSERT ... ON CONFLICT DO NOTHING of the enrolments (in
    customer order, so two batches racing on PostgreSQL never deadlock); the keys read back,
    which tell the rows inserted from those a concurrent transaction won; one INSERT of their
    first tasks (per entry time). A bad trigger key refuses the batch before any write. Never
    commits."""
    if not entrants:
        return []
    state = state_of(session, workspace_id, journey_id)
    if state is None or state.state not in ("active", "paused", "killed"):
        detail = f"journey is {state.state if state else 'unknown'}"
        return [EnrolResult("not_active", detail=detail) for _ in entrants]
    if state.state != "active":
        detail = f"journey is {state.state}: {state.reason}"
        return [EnrolResult("paused", detail=detail) for _ in entrants]
    check_keys(entrants)
    customers = [entrant.customer_id for entrant in entrants]
    # A key held already only changes the plan for a later entrant of the same customer (who
    # is not made active by it); otherwise the insert's conflict, read back, tells the same.
    repeated = len(set(customers)) < len(customers)
    keys = [entrant.trigger_key for entrant in entrants]
    planned = plan(
        entrants,
        [new_id("je") for _ in entrants],
        active=_active_in(session, workspace_id, journey_id, customers),
        held=_holders(session, workspace_id, journey_id, keys) if repeated else {},
    )
    news = [
        (entrant, item.enrolment_id)
        for entrant, item in zip(entrants, planned, strict=True)
        if item.status == "insert"
    ]
    if not news:
        return [_result(item, {}) for item in planned]
    journey = spec_of(session, workspace_id, journey_id, state.version)
    rows = {
        enrolment_id: {
            "id": enrolment_id,
            "workspace_id": workspace_id,
            "journey_id": journey_id,
            "version": state.version,
            "customer_id": entrant.customer_id,
            "trigger_type": trigger_type,
            "trigger_key": entrant.trigger_key,
            "status": "active",
            "assignments": assignments_for(journey, entrant.customer_id),
            "node_id": journey.start,
            "entered_at": entrant.at,
        }
        for entrant, enrolment_id in news
    }
    # in customer order, as every transaction locks customers (their rows, by foreign key)
    _insert(
        session, sorted(rows.values(), key=lambda row: (row["customer_id"], row["trigger_key"]))
    )
    holders = _holders(
        session, workspace_id, journey_id, [row["trigger_key"] for row in rows.values()]
    )
    inserted = {holders.get(row["trigger_key"]) for row in rows.values()} & rows.keys()
    lost = {
        id_: holders.get(row["trigger_key"]) for id_, row in rows.items() if id_ not in inserted
    }
    # not inserted and the key free: another transaction enrolled the customer in the journey
    # under another key since they were read (uq_enrolments_active refused this row)
    to_active = {id_ for id_, holder in lost.items() if holder is None}
    if to_active:
        active = _active_in(
            session, workspace_id, journey_id, [rows[id_]["customer_id"] for id_ in to_active]
        )
        lost.update({id_: active.get(rows[id_]["customer_id"]) for id_ in to_active})
    planned = after_race(planned, lost, to_active=to_active)
    _schedule_first(session, journey, [row for id_, row in rows.items() if id_ in inserted])
    session.flush()
    return [_result(item, rows) for item in planned]


def _result(item: Planned, rows: dict[str | None, dict[str, Any]]) -> EnrolResult:
    if item.status == "insert":
        return EnrolResult(
            "enrolled", item.enrolment_id, "", rows[item.enrolment_id]["assignments"]
        )
    if item.status == "already_active":
        return EnrolResult(
            "already_active", item.enrolment_id, "the customer is in this journey already"
        )
    return EnrolResult(
        "duplicate", item.enrolment_id, "this trigger key enrolled the customer already"
    )


def _active_in(
    session: Session, workspace_id: str, journey_id: str, customers: Sequence[str]
) -> dict[str, str]:
    """customer -> their active enrolment in the journey (the first by id if several)."""
    found: dict[str, str] = {}
    for within in among(session, JourneyEnrolment.customer_id, customers):
        rows = session.execute(
            select(JourneyEnrolment.customer_id, JourneyEnrolment.id)
            .where(
                JourneyEnrolment.workspace_id == workspace_id,
                JourneyEnrolment.journey_id == journey_id,
                JourneyEnrolment.status == "active",
                within,
            )
            .order_by(JourneyEnrolment.id)
        )
        for customer_id, enrolment_id in rows:
            found.setdefault(customer_id, enrolment_id)
    return found


def _holders(
    session: Session, workspace_id: str, journey_id: str, keys: Sequence[str]
) -> dict[str, str]:
    """trigger key -> the enrolment of the journey that holds it."""
    found: dict[str, str] = {}
    for within in among(session, JourneyEnrolment.trigger_key, keys):
        rows = session.execute(
            select(JourneyEnrolment.trigger_key, JourneyEnrolment.id).where(
                JourneyEnrolment.workspace_id == workspace_id,
                JourneyEnrolment.journey_id == journey_id,
                within,
            )
        )
        found.update({key: enrolment_id for key, enrolment_id in rows})
    return found


def _insert(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert the enrolments whose key is free and whose customer is not in the journey yet,
    in the order given. An executemany (psycopg
    pipelines it), and which rows went in is read back: with RETURNING, SQLAlchemy would send
    multi-row VALUES, whose every placeholder psycopg converts in Python (0.1 ms a row)."""
    session.execute(
        # no conflict target: a row is skipped when its key is held (uq_enrolments_key) or
        # when the customer is active in the journey already (uq_enrolments_active)
        dialect_insert(session)(JourneyEnrolment.__table__).on_conflict_do_nothing(),
        rows,
    )


def _schedule_first(session: Session, journey: Journey, rows: list[dict[str, Any]]) -> None:
    """The first node's task of each new enrolment: one INSERT per entry time."""
    by_time: dict[datetime, list[tuple[Placed, Journey, str]]] = {}
    for row in rows:
        placed = NewEnrolment(
            row["id"],
            row["workspace_id"],
            row["journey_id"],
            row["customer_id"],
            row["entered_at"],
            row["node_id"],
        )
        by_time.setdefault(row["entered_at"], []).append((placed, journey, journey.start))
    for at, moves in by_time.items():
        schedule_nodes(session, moves, reached_at=at)


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
