"""Exits and conversions of active enrolments, found set-based for a whole journey or for one.

An exit holds when its criteria hold on the customer's current values (`when`, compiled by
`scoring.criteria_sql` into one query), when its event happened since the customer entered
(`event`: a tracked event by name; `order.created` / `order.paid` read the orders), or when the
customer has been in the journey `after_days` days. Exits are tried in the journey's order; the
first that holds ends the enrolment with its outcome, and a transition enrols the customer in
the named journey. The goal (an order or an event within `within_days` of entry) marks the
enrolment converted at the time it happened; the enrolment runs on until a path ends or an
exit holds.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, exists, func, select, update
from sqlalchemy.orm import Session

from core.models import COMPLETED_STATUSES, Event, JourneyEnrolment, Order
from journeys.spec import Exit, Goal, Journey
from scoring.criteria_sql import segment_query

ORDER_CREATED = "order.created"
ORDER_PAID = "order.paid"
VOID_ORDERS = ("cancelled", "refunded")
OUTCOME_STATUS = {
    "completed": "completed",
    "converted": "converted",
    "transition": "exited",
    "churned": "exited",
    "exited": "exited",
}


@dataclass(frozen=True, slots=True)
class ExitHit:
    enrolment_id: str
    customer_id: str
    exit: Exit

    @property
    def status(self) -> str:
        return OUTCOME_STATUS[self.exit.outcome]


def _happened(name: str, customer: Any, since: Any, until: datetime) -> Any:
    """EXISTS: the named event (or order) for the customer between `since` and `until`."""
    if name in (ORDER_CREATED, ORDER_PAID):
        statuses = (
            Order.status.in_(COMPLETED_STATUSES)
            if name == ORDER_PAID
            else (Order.status.not_in(VOID_ORDERS))
        )
        return exists().where(
            Order.workspace_id == JourneyEnrolment.workspace_id,
            Order.customer_id == customer,
            Order.ordered_at >= since,
            Order.ordered_at <= until,
            statuses,
        )
    return exists().where(
        Event.workspace_id == JourneyEnrolment.workspace_id,
        Event.customer_id == customer,
        Event.name == name,
        Event.timestamp >= since,
        Event.timestamp <= until,
    )


def _condition(workspace_id: str, exit_: Exit, now: datetime) -> Any:
    if exit_.after_days is not None:
        return JourneyEnrolment.entered_at <= now - timedelta(days=exit_.after_days)
    if exit_.event is not None:
        return _happened(
            exit_.event, JourneyEnrolment.customer_id, JourneyEnrolment.entered_at, now
        )
    members = segment_query(workspace_id, exit_.when or {}, include_unsubscribed=True)
    return JourneyEnrolment.customer_id.in_(members.scalar_subquery())


def _active(
    workspace_id: str,
    journey: Journey,
    version: str,
    enrolment_id: str | None,
    enrolment_ids: Collection[str] | None = None,
) -> Select[Any]:
    query = select(JourneyEnrolment.id, JourneyEnrolment.customer_id).where(
        JourneyEnrolment.workspace_id == workspace_id,
        JourneyEnrolment.journey_id == journey.id,
        JourneyEnrolment.version == version,
        JourneyEnrolment.status == "active",
    )
    if enrolment_id is not None:
        query = query.where(JourneyEnrolment.id == enrolment_id)
    if enrolment_ids is not None:
        query = query.where(JourneyEnrolment.id.in_(sorted(enrolment_ids)))
    return query


def find_exits(
    session: Session,
    workspace_id: str,
    journey: Journey,
    version: str,
    now: datetime,
    *,
    enrolment_id: str | None = None,
    enrolment_ids: Collection[str] | None = None,
) -> list[ExitHit]:
    """Every active enrolment of the journey version (or the one or ones named) for which an
    exit holds, with the first exit (in the journey's order) that does."""
    hits: list[ExitHit] = []
    seen: set[str] = set()
    for exit_ in journey.exits:
        query = _active(workspace_id, journey, version, enrolment_id, enrolment_ids).where(
            _condition(workspace_id, exit_, now)
        )
        for found_id, customer_id in session.execute(query):
            if found_id not in seen:
                seen.add(found_id)
                hits.append(ExitHit(found_id, customer_id, exit_))
    return hits


def _goal_time(goal: Goal) -> tuple[Any, Any]:
    """(time column, filter) of what counts as the goal happening."""
    if goal.kind == "order":
        return Order.ordered_at, and_(
            Order.workspace_id == JourneyEnrolment.workspace_id,
            Order.customer_id == JourneyEnrolment.customer_id,
            Order.status.not_in(VOID_ORDERS),
            Order.ordered_at >= JourneyEnrolment.entered_at,
        )
    return Event.timestamp, and_(
        Event.workspace_id == JourneyEnrolment.workspace_id,
        Event.customer_id == JourneyEnrolment.customer_id,
        Event.name == goal.event,
        Event.timestamp >= JourneyEnrolment.entered_at,
    )


def mark_conversions(
    session: Session,
    workspace_id: str,
    journey: Journey,
    version: str,
    now: datetime,
    *,
    enrolment_id: str | None = None,
    enrolment_ids: Collection[str] | None = None,
) -> int:
    """Set converted_at on enrolments (all active ones of the version, or the one or ones
    named) whose goal happened within `within_days` of entry; the number marked."""
    column, condition = _goal_time(journey.goal)
    first = (
        select(func.min(column)).where(condition, column <= now).correlate(JourneyEnrolment)
    ).scalar_subquery()
    query = _active(workspace_id, journey, version, enrolment_id, enrolment_ids).where(
        JourneyEnrolment.converted_at.is_(None)
    )
    rows = session.execute(
        query.with_only_columns(JourneyEnrolment.id, JourneyEnrolment.entered_at, first)
    ).all()
    window = timedelta(days=journey.goal.within_days)
    marked = 0
    for found_id, entered_at, happened in rows:
        if happened is None:
            continue
        happened = _aware(happened)
        if happened - entered_at <= window:
            session.execute(
                update(JourneyEnrolment)
                .where(JourneyEnrolment.id == found_id, JourneyEnrolment.converted_at.is_(None))
                .values(converted_at=happened)
            )
            marked += 1
    return marked


def _aware(value: datetime) -> datetime:
    """SQLite gives the MIN() of a UTC column back as naive text; it is UTC."""
    from datetime import UTC

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
