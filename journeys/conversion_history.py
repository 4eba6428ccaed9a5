"""The workspace's history of conversions, for a simulation's expected conversions: per recency
bucket, how many customers there were on a reference day and how many reached the goal within
the goal window after it. Set-based: one GROUP BY over customers and their orders."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from core.models import COMPLETED_STATUSES, Customer, Event, Order
from core.sql import whole_days_between
from journeys.simulate import NEVER, OLDER, RECENCY_BUCKETS, BaseRate
from journeys.spec import Goal


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def last_orders(session: Session, workspace_id: str, before: datetime) -> dict[str, datetime]:
    """Each customer's last completed order before `before`."""
    query = (
        select(Order.customer_id, func.max(Order.ordered_at))
        .where(
            Order.workspace_id == workspace_id,
            Order.status.in_(COMPLETED_STATUSES),
            Order.ordered_at < before,
        )
        .group_by(Order.customer_id)
    )
    return {
        customer_id: at.replace(tzinfo=UTC) if at.tzinfo is None else at
        for customer_id, at in session.execute(query)
    }


def _bucket(days: ColumnElement[Any], last: ColumnElement[Any]) -> ColumnElement[str]:
    """`journeys.simulate.recency_bucket` in SQL."""
    whens: list[tuple[Any, Any]] = [(last.is_(None), literal(NEVER))]
    whens += [(days <= limit, literal(name)) for limit, name in RECENCY_BUCKETS]
    return case(*whens, else_=literal(OLDER))


def base_rates(
    session: Session, workspace_id: str, goal: Goal, reference: date
) -> dict[str, BaseRate]:
    """Per recency bucket on `reference`: the workspace's customers who had signed up by then,
    and how many of them reached the goal (a completed order, or the goal's event) in the
    `goal.within_days` days from it."""
    start = _midnight(reference)
    end = start + timedelta(days=goal.within_days)
    last = (
        select(Order.customer_id, func.max(Order.ordered_at).label("last_at"))
        .where(
            Order.workspace_id == workspace_id,
            Order.status.in_(COMPLETED_STATUSES),
            Order.ordered_at < start,
        )
        .group_by(Order.customer_id)
        .subquery()
    )
    if goal.kind == "order":
        reached = (
            select(Order.customer_id)
            .where(
                Order.workspace_id == workspace_id,
                Order.status.in_(COMPLETED_STATUSES),
                Order.ordered_at >= start,
                Order.ordered_at < end,
            )
            .distinct()
            .subquery()
        )
    else:
        reached = (
            select(Event.customer_id)
            .where(
                Event.workspace_id == workspace_id,
                Event.name == goal.event,
                Event.timestamp >= start,
                Event.timestamp < end,
            )
            .distinct()
            .subquery()
        )
    bucket = _bucket(whole_days_between(literal(reference), last.c.last_at), last.c.last_at)
    per_customer = (
        select(bucket.label("bucket"), reached.c.customer_id.label("reached"))
        .select_from(Customer)
        .outerjoin(last, last.c.customer_id == Customer.id)
        .outerjoin(reached, reached.c.customer_id == Customer.id)
        .where(
            Customer.workspace_id == workspace_id,
            Customer.merged_into.is_(None),
            Customer.first_seen_at < start,
        )
        .subquery()
    )
    query = select(
        per_customer.c.bucket, func.count(), func.count(per_customer.c.reached)
    ).group_by(per_customer.c.bucket)
    return {
        name: BaseRate(name, int(customers), int(converted))
        for name, customers, converted in session.execute(query)
    }
