"""Performance trends: the last 30 days against the 30 before, set-based over both at once.

- Overall conversion rate: converted / ended, over enrolments (holdout left out) that ended in
  the period; converted = status `converted` or a conversion recorded (`converted_at`).
- Journey completion rate: completed / ended (status completed or converted), same cohort.
- Avg touches per customer: touches in the period / distinct customers touched in it; a
  touch is what the gate records per send (`customer_touches`) or a campaign email sent
  (`email_events` of type sent), as next best action counts them.
- Channel fatigue rate: customers a frequency cap or cooldown held back in the period (a task
  outcome or a firing `suppressed_cap`) / customers touched or held back in it.
- Unsubscribe rate: customers who unsubscribed in the period (an `unsubscribe` suppression or
  email event) / customers touched or unsubscribed in it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, distinct, func, literal, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from core.models import (
    CustomerTouch,
    EmailEvent,
    JourneyEnrolment,
    JourneyTask,
    Suppression,
    TriggerFiring,
)
from journeys.analytics_sql import (
    CAP_OUTCOMES,
    COMPLETED_STATUSES,
    FIRING_CAP,
    count_if,
    in_window,
    not_holdout,
)
from journeys.dashboard_data import Trend, share

PERIOD = timedelta(days=30)
TOUCH, CAPPED, UNSUBSCRIBED = "touch", "capped", "unsub"


def _distinct_if(condition: ColumnElement[bool], value: Any) -> ColumnElement[Any]:
    return func.count(distinct(case((condition, value), else_=None)))


def _conversion(session: Session, workspace_id: str, as_of: datetime) -> list[float | None]:
    """[conversion now, before, completion now, before]."""
    e = JourneyEnrolment
    now = in_window(e.ended_at, as_of - PERIOD, as_of)
    before = in_window(e.ended_at, as_of - 2 * PERIOD, as_of - PERIOD)
    converted = (e.status == "converted") | e.converted_at.is_not(None)
    completed = e.status.in_(COMPLETED_STATUSES)
    row = session.execute(
        select(
            count_if(now),
            count_if(now & converted),
            count_if(now & completed),
            count_if(before),
            count_if(before & converted),
            count_if(before & completed),
        ).where(
            e.workspace_id == workspace_id,
            in_window(e.ended_at, as_of - 2 * PERIOD, as_of),
            not_holdout(),
        )
    ).one()
    ended_now, conv_now, done_now, ended_before, conv_before, done_before = map(int, row)
    return [
        share(conv_now, ended_now),
        share(conv_before, ended_before),
        share(done_now, ended_now),
        share(done_before, ended_before),
    ]


def _contacts(session: Session, workspace_id: str, as_of: datetime) -> dict[str, float | None]:
    """Touches per customer, fatigue and unsubscribe rates, now and before, in one scan of
    the touches, cap outcomes and unsubscribes of the 60 days."""
    start = as_of - 2 * PERIOD
    t, f, task, s, ev = CustomerTouch, TriggerFiring, JourneyTask, Suppression, EmailEvent
    facts = union_all(
        select(t.customer_id, t.occurred_at.label("at"), literal(TOUCH).label("kind")).where(
            t.workspace_id == workspace_id, in_window(t.occurred_at, start, as_of)
        ),
        select(ev.customer_id, ev.occurred_at, literal(TOUCH)).where(
            ev.workspace_id == workspace_id,
            ev.type == "sent",
            in_window(ev.occurred_at, start, as_of),
        ),
        select(task.customer_id, task.updated_at, literal(CAPPED)).where(
            task.workspace_id == workspace_id,
            task.outcome.in_(CAP_OUTCOMES),
            in_window(task.updated_at, start, as_of),
        ),
        select(f.customer_id, f.fired_at, literal(CAPPED)).where(
            f.workspace_id == workspace_id,
            f.outcome == FIRING_CAP,
            in_window(f.fired_at, start, as_of),
        ),
        select(s.customer_id, s.created_at, literal(UNSUBSCRIBED)).where(
            s.workspace_id == workspace_id,
            s.reason == "unsubscribe",
            in_window(s.created_at, start, as_of),
        ),
        select(ev.customer_id, ev.occurred_at, literal(UNSUBSCRIBED)).where(
            ev.workspace_id == workspace_id,
            ev.type == "unsubscribe",
            in_window(ev.occurred_at, start, as_of),
        ),
    ).subquery()
    kind, customer = facts.c.kind, facts.c.customer_id
    columns = []
    for when in (facts.c.at > as_of - PERIOD, facts.c.at <= as_of - PERIOD):
        columns += [
            count_if(when & (kind == TOUCH)),
            _distinct_if(when & (kind == TOUCH), customer),
            _distinct_if(when & (kind == CAPPED), customer),
            _distinct_if(when & kind.in_((TOUCH, CAPPED)), customer),
            _distinct_if(when & (kind == UNSUBSCRIBED), customer),
            _distinct_if(when & kind.in_((TOUCH, UNSUBSCRIBED)), customer),
        ]
    row = [int(v) for v in session.execute(select(*columns)).one()]
    figures: dict[str, float | None] = {}
    for period, (touches, touched, capped, with_capped, unsub, with_unsub) in (
        ("now", row[:6]),
        ("before", row[6:]),
    ):
        figures[f"touches_{period}"] = share(touches, touched)
        figures[f"fatigue_{period}"] = share(capped, with_capped)
        figures[f"unsubscribe_{period}"] = share(unsub, with_unsub)
    return figures


def trends(session: Session, workspace_id: str, as_of: datetime) -> list[Trend]:
    conv_now, conv_before, done_now, done_before = _conversion(session, workspace_id, as_of)
    c = _contacts(session, workspace_id, as_of)
    return [
        Trend("conversion_rate", "Overall conversion rate", "share", conv_now, conv_before, True),
        Trend("completion_rate", "Journey completion rate", "share", done_now, done_before, True),
        Trend(
            "touches_per_customer",
            "Avg touches per customer",
            "touches",
            c["touches_now"],
            c["touches_before"],
            True,
        ),
        Trend(
            "fatigue_rate",
            "Channel fatigue rate",
            "share",
            c["fatigue_now"],
            c["fatigue_before"],
            False,
        ),
        Trend(
            "unsubscribe_rate",
            "Unsubscribe rate",
            "share",
            c["unsubscribe_now"],
            c["unsubscribe_before"],
            False,
        ),
    ]
