"""Criteria compiled to one SQL query (SQLAlchemy Core, SQLite and PostgreSQL alike), and
one customer's field values read with the same expressions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, case, literal, not_, or_, select, true, union_all
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import CompoundSelect, Select
from sqlalchemy.sql.expression import ColumnElement, FromClause

from core.errors import InvalidInput
from core.models import (
    CHANNELS,
    ChannelConsent,
    Customer,
    CustomerCategory,
    CustomerFeatures,
    LifecycleStage,
    PropensityScore,
    RfmSnapshot,
)
from scoring.criteria import AllOf, AnyOf, Condition, Criterion, Not, fields_used, parse_criteria
from scoring.criteria_eval import LAST_ORDER_MISSING
from scoring.segment_fields import (
    CONSENT_SOURCES,
    CONSENT_TABLES,
    FIELDS,
    HAS_ORDER,
    TRAIT_PREFIX,
    FieldType,
    Source,
    spec_for,
)

#: What a segment query and a refresh read: their statistics must be fresh on PostgreSQL.
SEGMENT_TABLES = (
    "customers",
    "customer_features",
    "rfm_snapshots",
    "lifecycle_stages",
    "propensity_scores",
    "channel_consents",
    "customer_categories",
    "segment_members",
    "segment_changes",
)
_JOIN_ORDER = (
    Source.RFM,
    Source.LIFECYCLE,
    Source.PROPENSITY,
    *(CONSENT_SOURCES[channel] for channel in CHANNELS),
)


def _onclause(source: Source, features_day: date | None = None) -> ColumnElement[bool]:
    if source is Source.RFM:
        on = and_(
            RfmSnapshot.workspace_id == Customer.workspace_id,
            RfmSnapshot.customer_id == Customer.id,
            RfmSnapshot.as_of == CustomerFeatures.as_of,
        )
        # The features' day spelled out as well (every feature row of a workspace has it),
        # so PostgreSQL reads that day's snapshot only, not every day's.
        return on if features_day is None else and_(on, RfmSnapshot.as_of == features_day)
    if source is Source.LIFECYCLE:
        return and_(
            LifecycleStage.workspace_id == Customer.workspace_id,
            LifecycleStage.customer_id == Customer.id,
        )
    if source is Source.PROPENSITY:
        return and_(
            PropensityScore.workspace_id == Customer.workspace_id,
            PropensityScore.customer_id == Customer.id,
        )
    channel = next(ch for ch, s in CONSENT_SOURCES.items() if s is source)
    table = CONSENT_TABLES[channel]
    return and_(
        table.workspace_id == Customer.workspace_id,
        table.customer_id == Customer.id,
        table.channel == channel,
    )


_TABLES: dict[Source, Any] = {
    Source.RFM: RfmSnapshot,
    Source.LIFECYCLE: LifecycleStage,
    Source.PROPENSITY: PropensityScore,
    **{CONSENT_SOURCES[ch]: CONSENT_TABLES[ch] for ch in CHANNELS},
}


def customer_sources(sources: set[Source], features_day: date | None = None) -> FromClause:
    """Customers left-joined to their features and to the other sources named (one row each).
    features_day: the day of the workspace's features, when the caller knows it."""
    joined = Customer.__table__.outerjoin(
        CustomerFeatures,
        and_(
            CustomerFeatures.workspace_id == Customer.workspace_id,
            CustomerFeatures.customer_id == Customer.id,
        ),
    )
    for source in _JOIN_ORDER:
        if source in sources:
            joined = joined.outerjoin(_TABLES[source], _onclause(source, features_day))
    return joined


def _categories_exist(categories: tuple[str, ...] | None, last_order: bool) -> ColumnElement[bool]:
    bought = aliased(CustomerCategory)
    query = select(literal(1)).where(
        bought.workspace_id == Customer.workspace_id, bought.customer_id == Customer.id
    )
    if categories is not None:
        query = query.where(bought.category.in_(categories))
    if last_order:
        query = query.where(bought.in_last_order.is_(True))
    return query.correlate(Customer).exists()


def condition_sql(condition: Condition) -> ColumnElement[bool]:
    """One condition as a two-valued SQL boolean (never NULL, so NOT is plain negation)."""
    test, operand = condition.test, condition.operand
    spec = spec_for(condition.field, test, operand)
    if spec.type is FieldType.CATEGORIES:
        if condition.field == LAST_ORDER_MISSING:
            return and_(HAS_ORDER, not_(_categories_exist(operand, last_order=True)))
        if test == "exists":
            present = _categories_exist(None, last_order=False)
            return present if operand else not_(present)
        hit = _categories_exist(operand, last_order=False)
        return hit if test == "in" else not_(hit)
    column = spec.column
    assert column is not None
    if test == "exists":
        return column.is_not(None) if operand else column.is_(None)
    comparison = {
        "eq": lambda: column == operand,
        "ne": lambda: column != operand,
        "gt": lambda: column > operand,
        "gte": lambda: column >= operand,
        "lt": lambda: column < operand,
        "lte": lambda: column <= operand,
        "in": lambda: column.in_(operand),
        "not_in": lambda: column.not_in(operand),
    }[test]()
    return and_(column.is_not(None), comparison)


def criteria_sql(criterion: Criterion) -> ColumnElement[bool]:
    """The whole tree as one SQL boolean over `customer_sources`."""
    if isinstance(criterion, Condition):
        return condition_sql(criterion)
    if isinstance(criterion, Not):
        return not_(criteria_sql(criterion.item))
    parts = [criteria_sql(item) for item in criterion.items]
    if isinstance(criterion, AllOf):
        return and_(*parts)
    assert isinstance(criterion, AnyOf)
    return or_(*parts)


def _consent_exists(channels: tuple[str, ...], status: str) -> ColumnElement[bool]:
    consent = aliased(ChannelConsent)
    return (
        select(literal(1))
        .where(
            consent.workspace_id == Customer.workspace_id,
            consent.customer_id == Customer.id,
            consent.channel.in_(channels),
            consent.status == status,
        )
        .correlate(Customer)
        .exists()
    )


def consent_exclusion(channel: str | None, include_unsubscribed: bool) -> ColumnElement[bool]:
    """True for customers the segment keeps: not unsubscribed from its channel or, without a
    channel, not unsubscribed from every channel they have a consent record for."""
    if include_unsubscribed:
        return true()
    if channel is not None:
        return not_(_consent_exists((channel,), "revoked"))
    return not_(
        and_(_consent_exists(CHANNELS, "revoked"), not_(_consent_exists(CHANNELS, "granted")))
    )


def check_channel(channel: str | None, *, field: str = "channel") -> str | None:
    if channel is not None and channel not in CHANNELS:
        raise InvalidInput(
            f"unknown channel {channel!r}", field=field, fix=f"use one of {', '.join(CHANNELS)}"
        )
    return channel


def as_criterion(criteria: Criterion | Mapping[str, Any]) -> Criterion:
    if isinstance(criteria, Condition | AllOf | AnyOf | Not):
        return criteria
    return parse_criteria(criteria)


def segment_query(
    workspace_id: str,
    criteria: Criterion | Mapping[str, Any],
    channel: str | None = None,
    include_unsubscribed: bool = False,
) -> Select[tuple[str]]:
    """One SELECT of the ids (column `customer_id`) of the workspace's active customers who
    meet the criteria and are not excluded for consent."""
    criterion = as_criterion(criteria)
    check_channel(channel)
    sources = {spec_for(name).source for name in fields_used(criterion)}
    return (
        select(Customer.id.label("customer_id"))
        .select_from(customer_sources(sources))
        .where(
            Customer.workspace_id == workspace_id,
            Customer.merged_into.is_(None),
            criteria_sql(criterion),
            consent_exclusion(channel, include_unsubscribed),
        )
    )


def trait_values(traits: Any) -> dict[str, Any]:
    """A profile's traits as field values `traits.<name>` (raw JSON values)."""
    if not isinstance(traits, Mapping):
        return {}
    return {f"{TRAIT_PREFIX}{name}": value for name, value in traits.items()}


@dataclass(frozen=True, slots=True)
class Audience:
    """One segment's test: its criteria, the channel it is for, whether to keep customers
    unsubscribed from it; `key` names its members in `audiences_query` (the segment id)."""

    key: str
    criterion: Criterion
    channel: str | None = None
    include_unsubscribed: bool = False


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def audiences_query(
    workspace_id: str, audiences: Sequence[Audience], features_day: date | None = None
) -> Select[tuple[str, str]] | CompoundSelect:
    """One SELECT of (key, customer_id): the members of every audience, the same as
    `segment_query` gives for each, with the criteria of all of them evaluated in one pass
    over the workspace's active customers and the sources any of them reads.

    The pass yields one 0/1 column per audience (and one per consent exclusion they share);
    the members are unpivoted from it, which is materialized once and read once per audience.
    features_day: the day of the workspace's features (`scoring.segments.require_features`).
    """
    if not audiences:
        raise ValueError("no audiences to evaluate")
    sources: set[Source] = set()
    exclusions: dict[str | None, str] = {}  # channel: its column
    for audience in audiences:
        check_channel(audience.channel)
        sources |= {spec_for(name).source for name in fields_used(audience.criterion)}
        if not audience.include_unsubscribed:
            exclusions.setdefault(audience.channel, f"keep{len(exclusions)}")
    flags = [
        _flag(criteria_sql(audience.criterion)).label(f"in{i}")
        for i, audience in enumerate(audiences)
    ]
    kept = [
        _flag(consent_exclusion(channel, False)).label(name) for channel, name in exclusions.items()
    ]
    passed = (
        select(Customer.id.label("customer_id"), *flags, *kept)
        .select_from(customer_sources(sources, features_day))
        .where(Customer.workspace_id == workspace_id, Customer.merged_into.is_(None))
        .cte("pass")
        .prefix_with("MATERIALIZED")
    )
    members = []
    for i, audience in enumerate(audiences):
        test = passed.c[f"in{i}"] == 1
        if not audience.include_unsubscribed:
            test = and_(test, passed.c[exclusions[audience.channel]] == 1)
        members.append(select(literal(audience.key).label("key"), passed.c.customer_id).where(test))
    return members[0] if len(members) == 1 else union_all(*members)


def load_field_values(
    session: Session, workspace_id: str, customer_id: str
) -> dict[str, Any] | None:
    """Every field's value for one customer, in one query; None if no such customer.

    Scalars come from the same SQL expressions the segment query tests; the category sets are
    gathered from the customer's customer_categories rows, joined in the same query; each
    profile trait is there as `traits.<name>` with its raw JSON value (a condition reads it as
    the type it compares with, see `segment_fields.trait_typed`).
    """
    scalars = [spec for spec in FIELDS.values() if spec.column is not None]
    bought = aliased(CustomerCategory)
    query = (
        select(
            Customer.id,
            HAS_ORDER.label("has_order"),
            bought.category,
            bought.in_last_order,
            Customer.traits,
            *(spec.column.label(f"f{i}") for i, spec in enumerate(scalars)),  # type: ignore[union-attr]
        )
        .select_from(
            customer_sources(set(Source)).outerjoin(
                bought,
                and_(
                    bought.workspace_id == Customer.workspace_id, bought.customer_id == Customer.id
                ),
            )
        )
        .where(Customer.workspace_id == workspace_id, Customer.id == customer_id)
    )
    rows = session.execute(query).all()
    if not rows:
        return None
    first = rows[0]
    values: dict[str, Any] = {spec.name: first[5 + i] for i, spec in enumerate(scalars)}
    values.update(trait_values(first[4]))
    categories = [(row[2], row[3]) for row in rows if row[2] is not None]
    values["categories.purchased"] = frozenset(name for name, _ in categories)
    values[LAST_ORDER_MISSING] = (
        frozenset(name for name, last in categories if last) if first[1] else None
    )
    return values
