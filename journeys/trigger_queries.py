"""Trigger detection as one SQL query per journey (SQLite and PostgreSQL alike).

Each query selects the customers whose trigger holds at `now`, one row each, with columns
`customer_id`, `trigger_key` (customer + trigger + date bucket, or the order id: seed 002's
idempotency key), `at` (the moment it refers to), `subject` (what fired: cart, order, segment
run, snapshot day, event) and `value` (a number for the log: cart value, composite, count).

A state (an active customer whose last order is 45 days old, a customer inactive for N days)
fires while it holds, with the key of the day it began, so the key stays the same until the
state ends and begins again. A moment (a cart gone idle, an order paid, a segment entered, an
event, a composite crossing) fires while it is within the lookback window. The scan leaves out
keys that already enrolled the customer; the rest are judged again on every scan, so a firing
held back (journey paused, caps, conflict) can still enrol when that changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import Select

from core.models import (
    COMPLETED_STATUSES,
    Cart,
    Customer,
    Event,
    LifecycleStage,
    Order,
    OrderWrite,
    RfmRun,
    RfmSnapshot,
    SegmentChange,
    SegmentDefinition,
    SegmentMember,
    SegmentRun,
    TriggerFiring,
)
from core.models.base import UTCDateTime
from core.sql import utc_day
from journeys.spec import (
    AbandonedCartTrigger,
    ChurnRiskTrigger,
    EventTrigger,
    InactivityTrigger,
    Journey,
    PostPurchaseTrigger,
    SegmentEntryTrigger,
    VipMilestoneTrigger,
)
from scoring.criteria_sql import segment_query
from scoring.segment_fields import ACTIVE_STAGES

#: Orders that never happened do not convert a cart.
NOT_AN_ORDER = ("cancelled",)
DAY_SECONDS = 86_400


@dataclass(frozen=True, slots=True)
class Window:
    """What a scan reads: the time, the lookback for moments, and for post-purchase what the
    order writes since the journey's last scan touched."""

    now: datetime
    lookback: timedelta
    order_writes: OrderWrites | None = None


def _key(customer: Any, trigger_type: str, bucket: Any) -> Any:
    return customer + literal(f":{trigger_type}:") + bucket


def _columns(customer: Any, key: Any, at: Any, subject: Any = None, value: Any = None) -> list[Any]:
    return [
        customer.label("customer_id"),
        key.label("trigger_key"),
        type_coerce(at, UTCDateTime()).label("at"),
        (subject if subject is not None else null()).label("subject"),
        cast(value if value is not None else null(), BigInteger).label("value"),
    ]


def _live(workspace_id: str) -> list[Any]:
    """The customer rows a trigger may fire for: this workspace's, not merged away."""
    return [Customer.workspace_id == workspace_id, Customer.merged_into.is_(None)]


def abandoned_cart(workspace_id: str, trigger: AbandonedCartTrigger, window: Window) -> Select:
    """An open cart the shopper last changed (`activity_at`) `inactive_hours` ago or more
    (within the lookback), with no order since that change; the customer's latest such cart."""
    idle = timedelta(hours=trigger.inactive_hours)
    idle_seconds = int(idle.total_seconds())
    ordered_since = exists().where(
        Order.workspace_id == Cart.workspace_id,
        Order.customer_id == Cart.customer_id,
        Order.ordered_at >= Cart.activity_at,
        Order.status.not_in(NOT_AN_ORDER),
    )
    latest = func.row_number().over(
        partition_by=Cart.customer_id, order_by=(Cart.activity_at.desc(), Cart.id.desc())
    )
    carts = (
        select(
            Cart.customer_id,
            Cart.id,
            Cart.activity_at,
            Cart.total_cents,
            latest.label("latest"),
        )
        .join(Customer, Customer.id == Cart.customer_id)
        .where(
            *_live(workspace_id),
            Cart.workspace_id == workspace_id,
            Cart.status == "open",
            Cart.activity_at <= window.now - idle,
            Cart.activity_at > window.now - idle - window.lookback,
            ~ordered_since,
        )
        .subquery("carts")
    )
    return select(
        *_columns(
            carts.c.customer_id,
            _key(carts.c.customer_id, trigger.type, utc_day(carts.c.activity_at, idle_seconds)),
            carts.c.activity_at,
            carts.c.id,
            carts.c.total_cents,
        )
    ).where(carts.c.latest == 1)


def _last_orders(workspace_id: str) -> Any:
    return (
        select(Order.customer_id, func.max(Order.ordered_at).label("last_at"))
        .where(Order.workspace_id == workspace_id, Order.status.in_(COMPLETED_STATUSES))
        .group_by(Order.customer_id)
        .subquery("last_orders")
    )


def churn_risk(workspace_id: str, trigger: ChurnRiskTrigger, window: Window) -> Select:
    """An active customer (lifecycle ACTIVE) whose last completed order is
    `days_since_last_order` days old or more; keyed by the day that became true."""
    last = _last_orders(workspace_id)
    days = trigger.days_since_last_order
    return (
        select(
            *_columns(
                last.c.customer_id,
                _key(last.c.customer_id, trigger.type, utc_day(last.c.last_at, days * DAY_SECONDS)),
                last.c.last_at,
            )
        )
        .join(Customer, Customer.id == last.c.customer_id)
        .join(
            LifecycleStage,
            and_(
                LifecycleStage.workspace_id == workspace_id,
                LifecycleStage.customer_id == last.c.customer_id,
            ),
        )
        .where(
            *_live(workspace_id),
            LifecycleStage.stage.in_(ACTIVE_STAGES),
            last.c.last_at <= window.now - timedelta(days=days),
        )
    )


def snapshot_days(session: Session, workspace_id: str) -> list[date]:
    """The workspace's two latest RFM snapshot days, newest first."""
    return list(
        session.scalars(
            select(RfmRun.as_of)
            .where(RfmRun.workspace_id == workspace_id)
            .order_by(RfmRun.as_of.desc())
            .limit(2)
        )
    )


def vip_milestone(
    workspace_id: str, trigger: VipMilestoneTrigger, window: Window, days: list[date]
) -> Select | None:
    """The composite reaches `composite_gte` in the latest snapshot and was below it (or
    absent) in the one before; None without two snapshots, or when the latest is older than
    the lookback."""
    if len(days) < 2 or days[0] < (window.now - window.lookback).date():
        return None
    latest, previous = days
    now_ = aliased(RfmSnapshot, name="latest")
    before = aliased(RfmSnapshot, name="previous")
    return (
        select(
            *_columns(
                now_.customer_id,
                _key(now_.customer_id, trigger.type, literal(latest.isoformat())),
                now_.computed_at,
                literal(latest.isoformat()),
                now_.composite,
            )
        )
        .join(Customer, Customer.id == now_.customer_id)
        .outerjoin(
            before,
            and_(
                before.workspace_id == workspace_id,
                before.as_of == previous,
                before.customer_id == now_.customer_id,
            ),
        )
        .where(
            *_live(workspace_id),
            now_.workspace_id == workspace_id,
            now_.as_of == latest,
            now_.composite >= trigger.composite_gte,
            (before.composite.is_(None)) | (before.composite < trigger.composite_gte),
        )
    )


@dataclass(frozen=True, slots=True)
class OrderWrites:
    """Order writes since a journey's last scan: the earliest order time they touched, or
    `any_time` for a write of any time (a bulk load or delete)."""

    earliest: datetime | None
    any_time: bool


def order_writes_since(session: Session, workspace_id: str, after_seq: int) -> OrderWrites | None:
    """What order writes numbered above `after_seq` touched; None when there was none."""
    writes, dated, earliest = session.execute(
        select(
            func.count(),
            func.count(OrderWrite.earliest_ordered_at),
            func.min(OrderWrite.earliest_ordered_at),
        ).where(OrderWrite.workspace_id == workspace_id, OrderWrite.seq > after_seq)
    ).one()
    if not writes:
        return None
    return OrderWrites(earliest, any_time=dated < writes)


def post_purchase(
    workspace_id: str,
    journey_id: str,
    trigger: PostPurchaseTrigger,
    window: Window,
    max_age: timedelta,
) -> Select:
    """A paid or completed order placed within the lookback; and when order writes since the
    journey's last scan touched older orders (an order marked paid days after it was placed),
    those placed from there on, at most `max_age` ago, that this journey never judged; keyed
    by the order id."""
    key = _key(Order.customer_id, trigger.type, Order.id)
    recent = Order.ordered_at >= window.now - window.lookback
    placed = recent
    written = window.order_writes
    if written is not None and (written.any_time or written.earliest is not None):
        floor = window.now - max_age
        if not written.any_time and written.earliest is not None:
            floor = max(written.earliest, floor)
        never_judged = ~exists().where(
            TriggerFiring.workspace_id == workspace_id,
            TriggerFiring.journey_id == journey_id,
            TriggerFiring.trigger_key == key,
        )
        placed = or_(recent, and_(Order.ordered_at >= floor, never_judged))
    return (
        select(*_columns(Order.customer_id, key, Order.ordered_at, Order.id, Order.total_cents))
        .join(Customer, Customer.id == Order.customer_id)
        .where(
            *_live(workspace_id),
            Order.workspace_id == workspace_id,
            Order.status.in_(COMPLETED_STATUSES),
            placed,
            Order.ordered_at <= window.now,
        )
    )


def segment_entry(
    workspace_id: str, trigger: SegmentEntryTrigger, window: Window, segment_id: str
) -> Select:
    """Entered the segment in a refresh within the lookback, and still a member."""
    still_member = exists().where(
        SegmentMember.segment_id == segment_id,
        SegmentMember.customer_id == SegmentChange.customer_id,
    )
    latest = func.row_number().over(
        partition_by=SegmentChange.customer_id,
        order_by=(SegmentRun.computed_at.desc(), SegmentChange.id.desc()),
    )
    entries = (
        select(
            SegmentChange.customer_id,
            SegmentRun.id.label("run_id"),
            SegmentRun.computed_at,
            latest.label("latest"),
        )
        .join(SegmentRun, SegmentRun.id == SegmentChange.run_id)
        .join(Customer, Customer.id == SegmentChange.customer_id)
        .where(
            *_live(workspace_id),
            SegmentRun.workspace_id == workspace_id,
            SegmentRun.segment_id == segment_id,
            SegmentRun.computed_at > window.now - window.lookback,
            SegmentRun.computed_at <= window.now,
            SegmentChange.segment_id == segment_id,
            SegmentChange.change == "entered",
            still_member,
        )
        .subquery("entries")
    )
    return select(
        *_columns(
            entries.c.customer_id,
            _key(entries.c.customer_id, trigger.type, utc_day(entries.c.computed_at)),
            entries.c.computed_at,
            entries.c.run_id,
        )
    ).where(entries.c.latest == 1)


def segment_id_of(session: Session, workspace_id: str, name: str) -> str | None:
    return session.scalars(
        select(SegmentDefinition.id).where(
            SegmentDefinition.workspace_id == workspace_id, SegmentDefinition.name == name
        )
    ).one_or_none()


def event(workspace_id: str, trigger: EventTrigger, window: Window) -> Select:
    """At least `count` events named `event` (within `within_days`, else ever), the latest
    within the lookback, for customers matching `where`; keyed by the day of the latest."""
    counted = select(
        Event.customer_id,
        func.count().label("events"),
        func.max(Event.timestamp).label("last_at"),
    ).where(
        Event.workspace_id == workspace_id,
        Event.name == trigger.event,
        Event.timestamp <= window.now,
    )
    if trigger.within_days is not None:
        counted = counted.where(Event.timestamp > window.now - timedelta(days=trigger.within_days))
    counts = (
        counted.group_by(Event.customer_id)
        .having(
            func.count() >= trigger.count,
            func.max(Event.timestamp) > window.now - window.lookback,
        )
        .subquery("counts")
    )
    query = (
        select(
            *_columns(
                counts.c.customer_id,
                _key(counts.c.customer_id, trigger.type, utc_day(counts.c.last_at)),
                counts.c.last_at,
                literal(trigger.event[:200]),
                counts.c.events,
            )
        )
        .join(Customer, Customer.id == counts.c.customer_id)
        .where(*_live(workspace_id))
    )
    if trigger.where is not None:
        matching = segment_query(workspace_id, trigger.where, include_unsubscribed=True)
        query = query.where(counts.c.customer_id.in_(matching))
    return query


def inactivity(workspace_id: str, trigger: InactivityTrigger, window: Window) -> Select:
    """No event (the profile's last seen time) and no order for `days` days; keyed by the day
    that became true."""
    last_order = (
        select(Order.customer_id, func.max(Order.ordered_at).label("last_at"))
        .where(Order.workspace_id == workspace_id)
        .group_by(Order.customer_id)
        .subquery("last_any_order")
    )
    last_active = case(
        (
            and_(
                last_order.c.last_at.is_not(None),
                last_order.c.last_at > Customer.last_seen_at,
            ),
            last_order.c.last_at,
        ),
        else_=Customer.last_seen_at,
    )
    seconds = trigger.days * DAY_SECONDS
    return (
        select(
            *_columns(
                Customer.id,
                _key(Customer.id, trigger.type, utc_day(last_active, seconds)),
                last_active,
                None,
                cast(literal(trigger.days), Integer),
            )
        )
        .outerjoin(last_order, last_order.c.customer_id == Customer.id)
        .where(*_live(workspace_id), last_active <= window.now - timedelta(days=trigger.days))
    )


def hits_query(
    session: Session, workspace_id: str, journey: Journey, window: Window, *, max_age: timedelta
) -> Select | None:
    """The journey's trigger as one query; None when it cannot fire now (no such segment,
    fewer than two RFM snapshots)."""
    trigger = journey.trigger
    if isinstance(trigger, AbandonedCartTrigger):
        return abandoned_cart(workspace_id, trigger, window)
    if isinstance(trigger, ChurnRiskTrigger):
        return churn_risk(workspace_id, trigger, window)
    if isinstance(trigger, VipMilestoneTrigger):
        return vip_milestone(workspace_id, trigger, window, snapshot_days(session, workspace_id))
    if isinstance(trigger, PostPurchaseTrigger):
        return post_purchase(workspace_id, journey.id, trigger, window, max_age)
    if isinstance(trigger, SegmentEntryTrigger):
        segment_id = segment_id_of(session, workspace_id, trigger.segment)
        return (
            None if segment_id is None else segment_entry(workspace_id, trigger, window, segment_id)
        )
    if isinstance(trigger, EventTrigger):
        return event(workspace_id, trigger, window)
    assert isinstance(trigger, InactivityTrigger)
    return inactivity(workspace_id, trigger, window)
