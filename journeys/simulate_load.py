"""Read what a journey simulation needs about a workspace's customers, set-based: one query per
kind of data (field values, consent, suppressions, touches, trigger hits, segments, last
orders) for all active customers at once, then the pure `journeys.simulate` runs over them.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session

from core.contact_rules import Touch
from core.errors import InvalidInput
from core.models import (
    COMPLETED_STATUSES,
    ChannelConsent,
    Customer,
    CustomerCategory,
    CustomerTouch,
    EmailEvent,
    Event,
    Order,
    SegmentDefinition,
    SegmentMember,
    Suppression,
)
from guardrails.contact_state import SUPPRESSING_EMAIL_EVENTS, lookback_of
from guardrails.contact_store import policy_of
from journeys.conversion_history import base_rates, last_orders
from journeys.simulate import (
    CustomerRow,
    Setting,
    SimulationReport,
    fields_needed,
    recency_bucket,
    segments_needed,
    simulate,
)
from journeys.spec import Journey
from scoring.criteria_eval import LAST_ORDER_MISSING
from scoring.criteria_sql import customer_sources, trait_values
from scoring.segment_fields import HAS_ORDER, FieldType, is_trait, spec_for

MAX_DAYS = 365
DEFAULT_EVENT_WINDOW_DAYS = 30


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def load_values(session: Session, workspace_id: str, names: set[str]) -> dict[str, dict[str, Any]]:
    """The named fields' values for every active customer of the workspace, as
    `load_field_values` gives them for one (traits raw, category sets as frozensets)."""
    scalars = sorted(n for n in names if not is_trait(n) and spec_for(n).column is not None)
    categories = sorted(n for n in names if spec_for(n).type is FieldType.CATEGORIES)
    traits = any(is_trait(n) for n in names)
    columns: list[Any] = [Customer.id, HAS_ORDER.label("has_order")]
    if traits:
        columns.append(Customer.traits)
    columns += [spec_for(n).column.label(f"f{i}") for i, n in enumerate(scalars)]  # type: ignore[union-attr]
    sources = {spec_for(n).source for n in scalars}
    query = (
        select(*columns)
        .select_from(customer_sources(sources))
        .where(Customer.workspace_id == workspace_id, Customer.merged_into.is_(None))
    )
    values: dict[str, dict[str, Any]] = {}
    has_order: dict[str, bool] = {}
    offset = 3 if traits else 2
    for row in session.execute(query):
        found = {name: row[offset + i] for i, name in enumerate(scalars)}
        if traits:
            found.update(trait_values(row[2]))
        values[row[0]] = found
        has_order[row[0]] = bool(row[1])
    if categories:
        bought: dict[str, list[tuple[str, bool]]] = defaultdict(list)
        rows = session.execute(
            select(
                CustomerCategory.customer_id,
                CustomerCategory.category,
                CustomerCategory.in_last_order,
            ).where(CustomerCategory.workspace_id == workspace_id)
        )
        for customer_id, category, last in rows:
            bought[customer_id].append((category, bool(last)))
        for customer_id, found in values.items():
            mine = bought.get(customer_id, [])
            found["categories.purchased"] = frozenset(name for name, _ in mine)
            found[LAST_ORDER_MISSING] = (
                frozenset(name for name, last in mine if last) if has_order[customer_id] else None
            )
    return values


def _consent(session: Session, workspace_id: str) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = defaultdict(dict)
    query = select(ChannelConsent.customer_id, ChannelConsent.channel, ChannelConsent.status)
    for customer_id, channel, status in session.execute(
        query.where(ChannelConsent.workspace_id == workspace_id)
    ):
        found[customer_id][channel] = status
    return found


def _suppressions(
    session: Session, workspace_id: str, start: datetime
) -> dict[str, list[tuple[str, str]]]:
    """Stored suppressions, and email bounces and complaints not imported yet (as the gate)."""
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    stored = select(Suppression.customer_id, Suppression.channel, Suppression.reason).where(
        Suppression.workspace_id == workspace_id
    )
    for customer_id, channel, reason in session.execute(stored):
        found[customer_id].append((channel, reason))
    email = (
        select(EmailEvent.customer_id, EmailEvent.type)
        .where(
            EmailEvent.workspace_id == workspace_id,
            EmailEvent.type.in_(SUPPRESSING_EMAIL_EVENTS),
            EmailEvent.occurred_at <= start,
        )
        .distinct()
    )
    for customer_id, kind in session.execute(email):
        found[customer_id].append(("email", kind))
    return found


def _touches(
    session: Session, workspace_id: str, start: datetime, lookback: timedelta
) -> dict[str, list[Touch]]:
    """Touches (and emails other tools sent) in the lookback before the start."""
    since = start - lookback
    found: dict[str, list[Touch]] = defaultdict(list)
    touches = select(
        CustomerTouch.customer_id,
        CustomerTouch.channel,
        CustomerTouch.action_id,
        CustomerTouch.occurred_at,
        CustomerTouch.high_value,
    ).where(
        CustomerTouch.workspace_id == workspace_id,
        CustomerTouch.occurred_at >= since,
        CustomerTouch.occurred_at < start,
    )
    for customer_id, channel, action_id, at, high_value in session.execute(touches):
        found[customer_id].append(Touch(channel, action_id, _aware(at), high_value=high_value))
    sent = select(EmailEvent.customer_id, EmailEvent.campaign_id, EmailEvent.occurred_at).where(
        EmailEvent.workspace_id == workspace_id,
        EmailEvent.type == "sent",
        EmailEvent.occurred_at >= since,
        EmailEvent.occurred_at < start,
    )
    for customer_id, campaign, at in session.execute(sent):
        found[customer_id].append(Touch("email", f"campaign:{campaign}", _aware(at)))
    return found


def _segments(session: Session, workspace_id: str, names: set[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    if not names:
        return found
    query = (
        select(SegmentMember.customer_id, SegmentDefinition.name)
        .join(SegmentDefinition, SegmentDefinition.id == SegmentMember.segment_id)
        .where(
            SegmentDefinition.workspace_id == workspace_id,
            SegmentMember.workspace_id == workspace_id,
            SegmentDefinition.name.in_(sorted(names)),
        )
    )
    for customer_id, name in session.execute(query):
        found[customer_id].add(name)
    return found


def trigger_hits(
    session: Session, workspace_id: str, journey: Journey, start: datetime
) -> set[str] | None:
    """The customers an event or inactivity trigger fires for at the start (None for triggers
    the simulation evaluates as criteria or as segment membership)."""
    trigger = journey.trigger
    if trigger.type == "event":
        since = start - timedelta(days=trigger.within_days or DEFAULT_EVENT_WINDOW_DAYS)
        query = (
            select(Event.customer_id)
            .where(
                Event.workspace_id == workspace_id,
                Event.name == trigger.event,
                Event.timestamp >= since,
                Event.timestamp < start,
            )
            .group_by(Event.customer_id)
            .having(func.count() >= trigger.count)
        )
        return set(session.scalars(query))
    if trigger.type == "inactivity":
        since = start - timedelta(days=trigger.days)
        active_event = exists().where(
            Event.workspace_id == workspace_id,
            Event.customer_id == Customer.id,
            Event.timestamp >= since,
            Event.timestamp < start,
        )
        ordered = exists().where(
            Order.workspace_id == workspace_id,
            Order.customer_id == Customer.id,
            Order.status.in_(COMPLETED_STATUSES),
            Order.ordered_at >= since,
            Order.ordered_at < start,
        )
        query = select(Customer.id).where(
            Customer.workspace_id == workspace_id,
            Customer.merged_into.is_(None),
            and_(~active_event, ~ordered),
        )
        return set(session.scalars(query))
    return None


def load_rows(
    session: Session,
    workspace_id: str,
    journey: Journey,
    start: datetime,
    days: int,
    lookback: timedelta,
) -> list[CustomerRow]:
    """One row per active customer of the workspace, everything the simulation reads."""
    values = load_values(session, workspace_id, fields_needed(journey, days) | {"lifecycle.stage"})
    consent = _consent(session, workspace_id)
    suppressions = _suppressions(session, workspace_id, start)
    touches = _touches(session, workspace_id, start, lookback)
    segments = _segments(session, workspace_id, segments_needed(journey))
    hits = trigger_hits(session, workspace_id, journey, start)
    if journey.trigger.type == "segment_entry":
        hits = {cid for cid, names in segments.items() if journey.trigger.segment in names}
    last = last_orders(session, workspace_id, start)
    rows = []
    for customer_id in sorted(values):
        previous = last.get(customer_id)
        recency = None if previous is None else (start.date() - previous.date()).days
        rows.append(
            CustomerRow(
                customer_id=customer_id,
                values=values[customer_id],
                consent=consent.get(customer_id, {}),
                suppressions=tuple(suppressions.get(customer_id, ())),
                touches=tuple(sorted(touches.get(customer_id, ()), key=lambda t: t.occurred_at)),
                segments=frozenset(segments.get(customer_id, ())),
                trigger_hit=hits is not None and customer_id in hits,
                recency=recency_bucket(recency),
            )
        )
    return rows


def check_days(days: int) -> int:
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"must be between 1 and {MAX_DAYS}, got {days}", field="--days")
    return days


def simulate_workspace(
    session: Session,
    workspace_id: str,
    journey: Journey,
    as_of: date,
    days: int,
    *,
    keep_touches: bool = False,
) -> SimulationReport:
    """The journey simulated over the workspace's customers from the start of `as_of`."""
    check_days(days)
    start = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC)
    policy = policy_of(session, workspace_id)
    rows = load_rows(session, workspace_id, journey, start, days, lookback_of(policy))
    reference = as_of - timedelta(days=journey.goal.within_days)
    rates = base_rates(session, workspace_id, journey.goal, reference)
    setting = Setting(
        start=start,
        days=days,
        policy=policy,
        rates=rates,
        reference=reference,
        keep_touches=keep_touches,
    )
    return simulate(journey, rows, setting)
