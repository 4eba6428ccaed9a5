"""Seed 002's KPIs over the last 30 days, each one set-based query scoped to the workspace.

- Cart recovery rate: recovered / abandoned carts created in the period (and at least an hour
  before the as-of time). Seed 002: a cart is abandoned when it went an hour without the
  shopper's activity and without an order. Measured from `activity_at`, the shopper's last
  change to the cart (a conversion or a system clear does not touch it): abandoned when not
  converted by an order placed by the as-of time and idle for an hour since its last activity
  by then (open or cleared), or converted by an order placed more than an hour after its last
  activity. Recovered: abandoned, then converted by a paid order by the as-of time. Carts
  converted before migration 0023 have their creation as their last activity (the shopper's
  last activity was lost), so for those the rate stays an approximation.
- Churn win-back rate: of the customers sent a step of a churn-risk journey in the period
  (executions linked from the tasks of `churn_risk` enrolments), the share with a paid order
  within 14 days after a send (a customer sent recently may still order: the rate can rise).
- Segment conversion uplift: conversion of the enrolments that entered in the period and got
  the sends against their journey's holdout (`assignments.holdout`), pooled over the journeys
  that have a holdout; per journey in `extra`. No holdout, no uplift (None).
- Campaign open and click rates: distinct (customer, campaign) pairs sent in the period with
  an open (a click) by the as-of time / pairs sent (seed 002: OPEN / SENT, CLICK / SENT). A
  send is a campaign email event `sent` or an email through the gate (an execution, whose
  campaign is its trigger id, as the feedback webhook files the email's opens and clicks).
- Promotion attribution: revenue of paid orders in the period with a promotion applied and a
  campaign touch (a send through the gate or a campaign email) in the 7 days before the
  order; as a share of all promoted revenue, per currency.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, distinct, exists, func, select, union
from sqlalchemy.orm import Session, aliased

from core.models import (
    COMPLETED_STATUSES as PAID,
)
from core.models import (
    AppliedPromotion,
    Cart,
    CustomerTouch,
    EmailEvent,
    Execution,
    JourneyEnrolment,
    JourneyTask,
    Order,
)
from core.sql import seconds_between
from journeys.analytics_sql import count_if, in_window, is_holdout, not_holdout
from journeys.dashboard_data import Kpi, share

PERIOD = timedelta(days=30)
ABANDON_AFTER = timedelta(hours=1)
WINBACK_WITHIN = timedelta(days=14)
ATTRIBUTION_WINDOW = timedelta(days=7)
CHURN_TRIGGER = "churn_risk"


def cart_recovery(session: Session, workspace_id: str, as_of: datetime) -> Kpi:
    c = Cart
    o = Order
    converting = (
        (o.workspace_id == c.workspace_id)
        & (o.id == c.converted_order_id)
        & (o.ordered_at <= as_of)
    )
    ordered = o.id.is_not(None)
    late = ordered & (seconds_between(o.ordered_at, c.activity_at) > ABANDON_AFTER.total_seconds())
    idle = o.id.is_(None) & (c.activity_at <= as_of - ABANDON_AFTER)
    abandoned = late | idle
    recovered = late & o.status.in_(PAID)
    total, won = session.execute(
        select(count_if(abandoned), count_if(recovered))
        .select_from(c)
        .outerjoin(o, converting)
        .where(
            c.workspace_id == workspace_id,
            in_window(c.created_at, as_of - PERIOD, as_of - ABANDON_AFTER),
        )
    ).one()
    return Kpi(
        "cart_recovery_rate",
        "Cart recovery rate",
        int(won),
        int(total),
        f"{int(won)} of {int(total)} abandoned carts recovered",
        share(int(won), int(total)),
    )


def churn_winback(session: Session, workspace_id: str, as_of: datetime) -> Kpi:
    ex, task, e = Execution, JourneyTask, JourneyEnrolment
    o = Order
    sends = (
        select(ex.customer_id.label("customer_id"), ex.executed_at.label("sent_at"))
        .join(task, (task.execution_id == ex.id) & (task.workspace_id == ex.workspace_id))
        .join(e, e.id == task.enrolment_id)
        .where(
            ex.workspace_id == workspace_id,
            e.trigger_type == CHURN_TRIGGER,
            in_window(ex.executed_at, as_of - PERIOD, as_of),
        )
        .subquery()
    )
    ordered = exists().where(
        o.workspace_id == workspace_id,
        o.customer_id == sends.c.customer_id,
        o.status.in_(PAID),
        o.ordered_at > sends.c.sent_at,
        o.ordered_at <= as_of,
        seconds_between(o.ordered_at, sends.c.sent_at) <= WINBACK_WITHIN.total_seconds(),
    )
    recipients, won = session.execute(
        select(
            func.count(distinct(sends.c.customer_id)),
            func.count(distinct(case((ordered, sends.c.customer_id), else_=None))),
        )
    ).one()
    return Kpi(
        "churn_winback_rate",
        "Churn win-back rate",
        int(won),
        int(recipients),
        f"{int(won)} of {int(recipients)} churn-risk recipients ordered within 14 days",
        share(int(won), int(recipients)),
    )


def conversion_uplift(session: Session, workspace_id: str, as_of: datetime) -> Kpi:
    e = JourneyEnrolment
    converted = (e.status == "converted") | (
        e.converted_at.is_not(None) & (e.converted_at <= as_of)
    )
    rows = session.execute(
        select(
            e.journey_id,
            count_if(not_holdout()),
            count_if(not_holdout() & converted),
            count_if(is_holdout()),
            count_if(is_holdout() & converted),
        )
        .where(e.workspace_id == workspace_id, in_window(e.entered_at, as_of - PERIOD, as_of))
        .group_by(e.journey_id)
        .order_by(e.journey_id)
    ).all()
    per: dict[str, dict[str, Any]] = {}
    sums = [0, 0, 0, 0]
    for journey, *counts in rows:
        treated, treated_conv, held, held_conv = (int(v) for v in counts)
        if not held or not treated:
            continue
        sums = [a + b for a, b in zip(sums, (treated, treated_conv, held, held_conv), strict=True)]
        per[journey] = {
            "entrants": treated,
            "entrant_rate": treated_conv / treated,
            "holdout": held,
            "holdout_rate": held_conv / held,
            "uplift": treated_conv / treated - held_conv / held,
        }
    treated, treated_conv, held, held_conv = sums
    entrant_rate, holdout_rate = share(treated_conv, treated), share(held_conv, held)
    uplift = None if entrant_rate is None or holdout_rate is None else entrant_rate - holdout_rate
    detail = (
        f"entrants {entrant_rate:.1%} ({treated}) vs holdout {holdout_rate:.1%} ({held})"
        if uplift is not None
        else "no journey with a holdout had entrants in the period"
    )
    return Kpi(
        "segment_conversion_uplift",
        "Segment conversion uplift",
        treated_conv + held_conv,
        treated + held,
        detail,
        uplift,
        {"entrant_rate": entrant_rate, "holdout_rate": holdout_rate, "journeys": per},
    )


def email_engagement(session: Session, workspace_id: str, as_of: datetime) -> list[Kpi]:
    ev, ex, later = EmailEvent, Execution, aliased(EmailEvent)
    start = as_of - PERIOD
    sent = union(
        select(ev.customer_id.label("customer_id"), ev.campaign_id.label("campaign_id")).where(
            ev.workspace_id == workspace_id,
            ev.type == "sent",
            in_window(ev.occurred_at, start, as_of),
        ),
        select(ex.customer_id, func.coalesce(ex.trigger_id, ex.approval_item_id)).where(
            ex.workspace_id == workspace_id,
            ex.channel == "email",
            in_window(ex.executed_at, start, as_of),
        ),
    ).subquery()

    def engaged(kind: str) -> Any:
        return exists().where(
            later.workspace_id == workspace_id,
            later.customer_id == sent.c.customer_id,
            later.campaign_id == sent.c.campaign_id,
            later.type == kind,
            later.occurred_at <= as_of,
        )

    sends, opens, clicks = (
        int(v)
        for v in session.execute(
            select(func.count(), count_if(engaged("open")), count_if(engaged("click"))).select_from(
                sent
            )
        ).one()
    )
    return [
        Kpi(
            "campaign_open_rate",
            "Campaign open rate",
            opens,
            sends,
            f"{opens} of {sends} sends opened",
            share(opens, sends),
        ),
        Kpi(
            "campaign_click_rate",
            "Campaign click rate",
            clicks,
            sends,
            f"{clicks} of {sends} sends clicked",
            share(clicks, sends),
        ),
    ]


def promotion_attribution(session: Session, workspace_id: str, as_of: datetime) -> Kpi:
    o = Order
    p, t, ev = AppliedPromotion, CustomerTouch, EmailEvent
    window = ATTRIBUTION_WINDOW.total_seconds()
    promoted = exists().where(p.workspace_id == workspace_id, p.order_id == o.id)
    touched = exists().where(
        t.workspace_id == workspace_id,
        t.customer_id == o.customer_id,
        t.occurred_at < o.ordered_at,
        seconds_between(o.ordered_at, t.occurred_at) <= window,
    ) | exists().where(
        ev.workspace_id == workspace_id,
        ev.customer_id == o.customer_id,
        ev.type == "sent",
        ev.occurred_at < o.ordered_at,
        seconds_between(o.ordered_at, ev.occurred_at) <= window,
    )
    rows = session.execute(
        select(
            o.currency,
            func.count(),
            func.sum(o.total_cents),
            count_if(touched),
            func.coalesce(func.sum(case((touched, o.total_cents), else_=0)), 0),
        )
        .where(
            o.workspace_id == workspace_id,
            o.status.in_(PAID),
            in_window(o.ordered_at, as_of - PERIOD, as_of),
            promoted,
        )
        .group_by(o.currency)
        .order_by(o.currency)
    ).all()
    currencies = {
        str(currency): {
            "promoted_orders": int(orders),
            "promoted_cents": int(revenue or 0),
            "attributed_orders": int(hit),
            "attributed_cents": int(hit_revenue or 0),
        }
        for currency, orders, revenue, hit, hit_revenue in rows
    }
    attributed = sum(c["attributed_cents"] for c in currencies.values())
    promoted_total = sum(c["promoted_cents"] for c in currencies.values())
    detail = (
        "; ".join(
            f"{c['attributed_cents'] / 100:,.2f} {currency} from {c['attributed_orders']} of "
            f"{c['promoted_orders']} promoted orders"
            for currency, c in currencies.items()
        )
        or "no promoted orders"
    )
    return Kpi(
        "promotion_attribution",
        "Promotion attribution",
        attributed,
        promoted_total,
        f"{detail}; campaign touch within {ATTRIBUTION_WINDOW.days} days before",
        share(attributed, promoted_total) if len(currencies) <= 1 else None,
        {"currencies": currencies},
    )


def kpis(session: Session, workspace_id: str, as_of: datetime) -> list[Kpi]:
    return [
        cart_recovery(session, workspace_id, as_of),
        churn_winback(session, workspace_id, as_of),
        conversion_uplift(session, workspace_id, as_of),
        *email_engagement(session, workspace_id, as_of),
        promotion_attribution(session, workspace_id, as_of),
    ]
