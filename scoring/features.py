"""Live customer features as of a day, as set-based SQL: order, promotion, web, email and cart
activity per customer, category affinity, channel preference and engagement trend.

Everything counts only what happened before the midnight after the as-of day, so the same
query gives the features a customer had on any past day (which the propensity models train
on). Windows are whole days ending with the as-of day, like RFM's.

- discount sensitivity (`redeemed_ratio`): completed orders with a promotion applied divided by
  completed orders; none without orders.
- engagement: page and track events plus email opens and clicks; the trend compares the last
  30 days with the 30 before, (a - b) / (a + b), from -1 (gone quiet) to 1 (new activity), 0
  when both are empty.
- preferred channel: the first channel the customer stated that they still consent to; else
  email when they consent to it and opened an email in 90 days; else the first consented of
  in-app, push, email, SMS; else none.
- open cart: the value of carts still open and touched in the last 30 days (older ones are
  abandoned for good, not purchase intent).
- category affinity: spend per category ever; the top one and its share of spend; whether the
  last completed order held the category (`customer_categories.in_last_order`).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    Float,
    and_,
    case,
    cast,
    distinct,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.sql import ColumnElement, Select

from core.models import (
    COMPLETED_STATUSES,
    AppliedPromotion,
    Cart,
    ChannelConsent,
    Customer,
    EmailEvent,
    Event,
    Order,
    OrderItem,
    Product,
)
from core.models.base import UTCDateTime
from core.sql import whole_days_between
from scoring.rfm import window_bounds

INFERRED_CHANNEL_ORDER = ("in_app", "push", "email", "sms")
OPEN_CART_DAYS = 30


def _at(value: Any) -> ColumnElement[Any]:
    return literal(value, UTCDateTime())


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


def _sum_if(condition: ColumnElement[bool], value: ColumnElement[Any]) -> ColumnElement[int]:
    return func.sum(case((condition, value), else_=0))


def _order_stats(workspace_id: str, end: Any) -> Any:
    completed = and_(
        Order.workspace_id == workspace_id,
        Order.status.in_(COMPLETED_STATUSES),
        Order.ordered_at < _at(end),
    )

    def since(days: int) -> ColumnElement[bool]:
        return Order.ordered_at >= _at(end - timedelta(days=days))

    return (
        select(
            Order.customer_id,
            func.count().label("orders_count"),
            func.min(Order.ordered_at).label("first_order_at"),
            func.max(Order.ordered_at).label("last_order_at"),
            _count_if(since(30)).label("orders_30d"),
            _count_if(since(90)).label("orders_90d"),
            _count_if(and_(since(180), ~since(90))).label("orders_prev_90d"),
            _sum_if(since(90), Order.total_cents).label("spend_90d_cents"),
            func.sum(Order.total_cents).label("lifetime_spend_cents"),
        )
        .where(completed)
        .group_by(Order.customer_id)
        .subquery("order_stats")
    )


def _promo_stats(workspace_id: str, end: Any) -> Any:
    promoted = (
        select(AppliedPromotion.order_id)
        .where(AppliedPromotion.workspace_id == workspace_id)
        .distinct()
        .subquery("promoted")
    )
    return (
        select(Order.customer_id, func.count().label("promo_orders"))
        .join(promoted, promoted.c.order_id == Order.id)
        .where(
            Order.workspace_id == workspace_id,
            Order.status.in_(COMPLETED_STATUSES),
            Order.ordered_at < _at(end),
        )
        .group_by(Order.customer_id)
        .subquery("promo_stats")
    )


def _event_stats(workspace_id: str, end: Any) -> Any:
    def since(days: int) -> ColumnElement[bool]:
        return Event.timestamp >= _at(end - timedelta(days=days))

    pricing = and_(Event.type.in_(("page", "track")), func.lower(Event.name).like("%pricing%"))
    activity = Event.type.in_(("page", "track"))
    return (
        select(
            Event.customer_id,
            _count_if(and_(pricing, since(7))).label("pricing_views_7d"),
            _count_if(and_(pricing, since(30))).label("pricing_views_30d"),
            _count_if(and_(activity, since(30))).label("events_30d"),
            _count_if(and_(activity, ~since(30))).label("events_prev_30d"),
        )
        .where(
            Event.workspace_id == workspace_id,
            Event.timestamp < _at(end),
            since(60),
        )
        .group_by(Event.customer_id)
        .subquery("event_stats")
    )


def _email_stats(workspace_id: str, end: Any) -> Any:
    def since(days: int) -> ColumnElement[bool]:
        return EmailEvent.occurred_at >= _at(end - timedelta(days=days))

    engaged = EmailEvent.type.in_(("open", "click"))
    return (
        select(
            EmailEvent.customer_id,
            _count_if(EmailEvent.type == "sent").label("emails_sent_90d"),
            _count_if(EmailEvent.type == "open").label("email_opens_90d"),
            _count_if(EmailEvent.type == "click").label("email_clicks_90d"),
            _count_if(and_(engaged, since(30))).label("engaged_30d"),
            _count_if(and_(engaged, since(60), ~since(30))).label("engaged_prev_30d"),
        )
        .where(
            EmailEvent.workspace_id == workspace_id,
            EmailEvent.occurred_at < _at(end),
            since(90),
        )
        .group_by(EmailEvent.customer_id)
        .subquery("email_stats")
    )


def _cart_stats(workspace_id: str, end: Any) -> Any:
    return (
        select(
            Cart.customer_id,
            func.sum(Cart.total_cents).label("open_cart_cents"),
            func.max(Cart.updated_at).label("open_cart_updated_at"),
        )
        .where(
            Cart.workspace_id == workspace_id,
            Cart.status == "open",
            Cart.updated_at < _at(end),
            Cart.updated_at >= _at(end - timedelta(days=OPEN_CART_DAYS)),
        )
        .group_by(Cart.customer_id)
        .subquery("cart_stats")
    )


def _consents(workspace_id: str, end: Any) -> Any:
    def granted(channel: str) -> ColumnElement[int]:
        return func.max(
            case(
                (and_(ChannelConsent.channel == channel, ChannelConsent.status == "granted"), 1),
                else_=0,
            )
        ).label(channel)

    return (
        select(ChannelConsent.customer_id, *(granted(c) for c in INFERRED_CHANNEL_ORDER))
        .where(ChannelConsent.workspace_id == workspace_id, ChannelConsent.recorded_at < _at(end))
        .group_by(ChannelConsent.customer_id)
        .subquery("consents")
    )


def category_stats_select(workspace_id: str, as_of: date) -> Select[Any]:
    """Per customer and category: completed orders, spend, last bought, in the last order."""
    _, end = window_bounds(as_of, 1)
    # The time bound is wrapped so SQLite's planner does not pick the orders-by-time index:
    # reading the items in index order and looking each order up by key is twice as fast.
    completed = and_(
        OrderItem.workspace_id == workspace_id,
        Order.status.in_(COMPLETED_STATUSES),
        func.coalesce(Order.ordered_at, Order.ordered_at) < _at(end),
    )
    return (
        select(
            Order.customer_id,
            Product.category,
            func.count(distinct(Order.id)).label("orders"),
            func.sum(OrderItem.quantity * OrderItem.unit_price_cents).label("spend_cents"),
            case(
                (
                    func.max(Order.ordered_at)
                    == func.max(func.max(Order.ordered_at)).over(partition_by=Order.customer_id),
                    true(),
                ),
                else_=false(),
            ).label("in_last_order"),
            func.max(Order.ordered_at).label("last_bought_at"),
        )
        .select_from(OrderItem)
        .join(
            Order,
            and_(Order.workspace_id == OrderItem.workspace_id, Order.id == OrderItem.order_id),
        )
        .join(
            Product,
            and_(
                Product.workspace_id == OrderItem.workspace_id, Product.id == OrderItem.product_id
            ),
        )
        .where(completed)
        .group_by(Order.customer_id, Product.category)
    )


def features_select(
    workspace_id: str,
    as_of: date,
    categories: Any | None = None,
    *,
    with_categories: bool = True,
) -> Select[Any]:
    """One SELECT of every active customer's features as of the day. `categories` is a table
    or subquery shaped like `category_stats_select` (the stored `customer_categories`);
    without it the category columns are computed inline. `with_categories=False` leaves the
    costly category columns empty (NULL), for training matrices at past days."""
    _, end = window_bounds(as_of, 1)
    orders = _order_stats(workspace_id, end)
    promos = _promo_stats(workspace_id, end)
    events = _event_stats(workspace_id, end)
    emails = _email_stats(workspace_id, end)
    carts = _cart_stats(workspace_id, end)
    consents = _consents(workspace_id, end)
    if with_categories and categories is None:
        categories = category_stats_select(workspace_id, as_of).subquery("categories")
    top = _top_category(categories) if with_categories else None
    day = literal(as_of, Date())
    orders_count = func.coalesce(orders.c.orders_count, 0)
    promo_orders = func.coalesce(promos.c.promo_orders, 0)
    events_30d = func.coalesce(events.c.events_30d, 0)
    engagement_30d = events_30d + func.coalesce(emails.c.engaged_30d, 0)
    engagement_prev = func.coalesce(events.c.events_prev_30d, 0) + func.coalesce(
        emails.c.engaged_prev_30d, 0
    )
    trend = case(
        (engagement_30d + engagement_prev == 0, 0.0),
        else_=cast(engagement_30d - engagement_prev, Float())
        / cast(engagement_30d + engagement_prev, Float()),
    )
    statement = (
        select(
            Customer.id.label("customer_id"),
            orders_count.label("orders_count"),
            orders.c.first_order_at,
            orders.c.last_order_at,
            case(
                (orders.c.first_order_at.is_(None), None),
                else_=whole_days_between(day, orders.c.first_order_at),
            ).label("days_since_first_order"),
            case(
                (orders.c.last_order_at.is_(None), None),
                else_=whole_days_between(day, orders.c.last_order_at),
            ).label("days_since_last_order"),
            func.coalesce(orders.c.orders_30d, 0).label("orders_30d"),
            func.coalesce(orders.c.orders_90d, 0).label("orders_90d"),
            func.coalesce(orders.c.orders_prev_90d, 0).label("orders_prev_90d"),
            func.coalesce(orders.c.spend_90d_cents, 0).label("spend_90d_cents"),
            func.coalesce(orders.c.lifetime_spend_cents, 0).label("lifetime_spend_cents"),
            # integer / integer, which truncates on both databases (SQLAlchemy's `/` would
            # divide as NUMERIC on PostgreSQL, and a cast back rounds)
            cast(orders.c.lifetime_spend_cents, BigInteger())
            .op("/", return_type=BigInteger())(func.nullif(orders.c.orders_count, 0))
            .label("avg_order_cents"),
            promo_orders.label("promo_orders"),
            (cast(promo_orders, Float()) / func.nullif(orders_count, 0)).label("redeemed_ratio"),
            func.coalesce(events.c.pricing_views_7d, 0).label("pricing_views_7d"),
            func.coalesce(events.c.pricing_views_30d, 0).label("pricing_views_30d"),
            events_30d.label("events_30d"),
            func.coalesce(emails.c.emails_sent_90d, 0).label("emails_sent_90d"),
            func.coalesce(emails.c.email_opens_90d, 0).label("email_opens_90d"),
            func.coalesce(emails.c.email_clicks_90d, 0).label("email_clicks_90d"),
            engagement_30d.label("engagement_30d"),
            engagement_prev.label("engagement_prev_30d"),
            trend.label("engagement_trend"),
            carts.c.open_cart_cents,
            carts.c.open_cart_updated_at,
            (top.c.category if top is not None else null()).label("top_category"),
            (top.c.share if top is not None else null()).label("top_category_share"),
            _preferred_channel(consents, emails).label("preferred_channel"),
        )
        .select_from(Customer)
        .outerjoin(orders, orders.c.customer_id == Customer.id)
        .outerjoin(promos, promos.c.customer_id == Customer.id)
        .outerjoin(events, events.c.customer_id == Customer.id)
        .outerjoin(emails, emails.c.customer_id == Customer.id)
        .outerjoin(carts, carts.c.customer_id == Customer.id)
        .outerjoin(consents, consents.c.customer_id == Customer.id)
        .where(Customer.workspace_id == workspace_id, Customer.merged_into.is_(None))
    )
    if top is not None:
        statement = statement.outerjoin(top, top.c.customer_id == Customer.id)
    return statement


def _top_category(categories: Any) -> Any:
    """Per customer: the category with the most spend (ties: the first by name), its share.
    Plain GROUP BYs rather than a window, so every database joins them by key."""
    per_customer = (
        select(
            categories.c.customer_id,
            func.max(categories.c.spend_cents).label("top_spend"),
            func.sum(categories.c.spend_cents).label("total_spend"),
        )
        .group_by(categories.c.customer_id)
        .subquery("category_totals")
    )
    return (
        select(
            categories.c.customer_id,
            func.min(categories.c.category).label("category"),
            (
                cast(func.max(per_customer.c.top_spend), Float())
                / func.nullif(func.max(per_customer.c.total_spend), 0)
            ).label("share"),
        )
        .join(
            per_customer,
            and_(
                per_customer.c.customer_id == categories.c.customer_id,
                per_customer.c.top_spend == categories.c.spend_cents,
            ),
        )
        .group_by(categories.c.customer_id)
        .subquery("top_category")
    )


def _preferred_channel(consents: Any, emails: Any) -> ColumnElement[Any]:
    stated = Customer.preferred_channels[0].as_string()
    stated_ok = or_(
        *(
            and_(stated == channel, func.coalesce(consents.c[channel], 0) == 1)
            for channel in INFERRED_CHANNEL_ORDER
        )
    )
    email_engaged = and_(
        func.coalesce(consents.c.email, 0) == 1, func.coalesce(emails.c.email_opens_90d, 0) > 0
    )
    return case(
        (stated_ok, stated),
        (email_engaged, "email"),
        *((func.coalesce(consents.c[c], 0) == 1, c) for c in INFERRED_CHANNEL_ORDER),
        else_=None,
    )
