"""The fields the segment language can test: name, type, unit, and the SQL expression read."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, and_, case, false, func, literal, null, true, type_coerce
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import ColumnElement

from core.models import (
    CHANNELS,
    ChannelConsent,
    Customer,
    CustomerFeatures,
    LifecycleStage,
    PropensityScore,
    RfmSnapshot,
)
from core.sql import days_between_dates, trait_bool, trait_number, trait_present, trait_text

LIFECYCLE_STAGES = (
    "awareness",
    "consideration",
    "activation",
    "retention",
    "expansion",
    "advocacy",
    "at_risk",
    "churned",
)
#: The seed's "ACTIVE": a customer who has bought and not churned.
ACTIVE_STAGES = ("activation", "retention", "expansion", "advocacy", "at_risk")
CONSENT_VALUES = ("granted", "revoked", "none")


class FieldType(StrEnum):
    INT = "int"
    NUMBER = "number"
    MONEY = "money"
    ENUM = "enum"
    TEXT = "text"
    CATEGORIES = "category set"
    BOOL = "bool"


class Source(StrEnum):
    """The table a field reads; the query joins only the sources its criteria use."""

    CUSTOMER = "customer"
    FEATURES = "features"
    RFM = "rfm"
    LIFECYCLE = "lifecycle"
    PROPENSITY = "propensity"
    CONSENT_EMAIL = "consent_email"
    CONSENT_SMS = "consent_sms"
    CONSENT_PUSH = "consent_push"
    CONSENT_IN_APP = "consent_in_app"
    CATEGORIES = "categories"


#: One alias of channel_consents per channel, joined on (workspace, customer, channel).
CONSENT_TABLES = {
    channel: aliased(ChannelConsent, name=f"consent_{channel}") for channel in CHANNELS
}
CONSENT_SOURCES = {channel: Source(f"consent_{channel}") for channel in CHANNELS}

OPERATORS: dict[FieldType, tuple[str, ...]] = {
    FieldType.INT: ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "exists"),
    FieldType.NUMBER: ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "exists"),
    FieldType.MONEY: ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "exists"),
    FieldType.ENUM: ("eq", "ne", "in", "not_in", "exists"),
    FieldType.TEXT: ("eq", "ne", "in", "not_in", "exists"),
    FieldType.CATEGORIES: ("eq", "ne", "in", "not_in", "exists"),
    FieldType.BOOL: ("eq", "ne", "exists"),
}


@dataclass(frozen=True, slots=True)
class Field:
    """One testable customer attribute.

    `column` is the SQL expression (over customers and the joined source tables) whose value
    the field has; None for category sets, which compile to EXISTS over customer_categories.
    Money is stored in cents and written in criteria in currency units.
    """

    name: str
    type: FieldType
    source: Source
    column: ColumnElement[Any] | None
    unit: str
    description: str
    values: tuple[str, ...] = ()
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    minimum: float | None = None
    maximum: float | None = None
    operators: tuple[str, ...] = ()

    @property
    def allowed_operators(self) -> tuple[str, ...]:
        return self.operators or OPERATORS[self.type]

    def describe_values(self) -> str:
        """The enum's values for a message, aliases first: `active (= a|b), x, y`."""
        named = [f"{alias} (= {'|'.join(vals)})" for alias, vals in self.aliases.items()]
        return ", ".join([*named, *self.values])


def _feature(
    name: str,
    kind: FieldType,
    column: Any,
    unit: str,
    description: str,
    **extra: Any,
) -> Field:
    return Field(name, kind, Source.FEATURES, column, unit, description, **extra)


_f = CustomerFeatures
_r = RfmSnapshot
_l = LifecycleStage
_p = PropensityScore

_FIELDS: list[Field] = [
    Field(
        "rfm.recency_days",
        FieldType.INT,
        Source.RFM,
        _r.recency_days,
        "days",
        "Days since the last completed order, in the RFM snapshot of the features' day.",
        minimum=0,
    ),
    Field(
        "rfm.frequency",
        FieldType.INT,
        Source.RFM,
        _r.frequency,
        "orders",
        "Completed orders in the RFM window.",
        minimum=0,
    ),
    Field(
        "rfm.monetary",
        FieldType.MONEY,
        Source.RFM,
        _r.monetary_cents,
        "currency units",
        "Spend in the RFM window.",
    ),
    Field(
        "rfm.r",
        FieldType.INT,
        Source.RFM,
        _r.r,
        "1-5",
        "Recency bucket, 5 = most recent.",
        minimum=1,
        maximum=5,
    ),
    Field(
        "rfm.f",
        FieldType.INT,
        Source.RFM,
        _r.f,
        "1-5",
        "Frequency bucket, 5 = most orders.",
        minimum=1,
        maximum=5,
    ),
    Field(
        "rfm.m",
        FieldType.INT,
        Source.RFM,
        _r.m,
        "1-5",
        "Monetary bucket, 5 = most spend.",
        minimum=1,
        maximum=5,
    ),
    Field(
        "rfm.composite",
        FieldType.INT,
        Source.RFM,
        _r.composite,
        "points",
        "Weighted R, F and M (4R + 3F + 3M by default: 10-50; VIP at 38).",
        minimum=0,
    ),
    Field(
        "lifecycle.stage",
        FieldType.ENUM,
        Source.LIFECYCLE,
        _l.stage,
        "stage",
        "Current lifecycle stage; ACTIVE means bought and not churned.",
        values=LIFECYCLE_STAGES,
        aliases={"active": ACTIVE_STAGES},
    ),
    Field(
        "lifecycle.daysInStage",
        FieldType.INT,
        Source.LIFECYCLE,
        days_between_dates(_f.as_of, _l.since),  # as of the scoring day, like the RFM join
        "days",
        "Days since the customer entered the current stage.",
        minimum=0,
    ),
    _feature(
        "daysSinceLastOrder",
        FieldType.INT,
        _f.days_since_last_order,
        "days",
        "Days since the last completed order; missing when there is none.",
        minimum=0,
    ),
    _feature(
        "daysSinceFirstOrder",
        FieldType.INT,
        _f.days_since_first_order,
        "days",
        "Days since the first completed order; missing when there is none.",
        minimum=0,
    ),
    _feature(
        "orders.count",
        FieldType.INT,
        _f.orders_count,
        "orders",
        "Completed orders, ever.",
        minimum=0,
    ),
    _feature(
        "orders.last30d",
        FieldType.INT,
        _f.orders_30d,
        "orders",
        "Completed orders in the last 30 days.",
        minimum=0,
    ),
    _feature(
        "orders.last90d",
        FieldType.INT,
        _f.orders_90d,
        "orders",
        "Completed orders in the last 90 days.",
        minimum=0,
    ),
    _feature(
        "spend.last90d",
        FieldType.MONEY,
        _f.spend_90d_cents,
        "currency units",
        "Spend in the last 90 days.",
    ),
    _feature(
        "spend.lifetime", FieldType.MONEY, _f.lifetime_spend_cents, "currency units", "Spend, ever."
    ),
    _feature(
        "orders.averageValue",
        FieldType.MONEY,
        _f.avg_order_cents,
        "currency units",
        "Average completed order value; missing when there is no order.",
    ),
    _feature(
        "promotions.redeemedRatio",
        FieldType.NUMBER,
        _f.redeemed_ratio,
        "0-1",
        "Share of completed orders that used a promotion (discount sensitivity).",
        minimum=0,
        maximum=1,
    ),
    _feature(
        "pricing.views7d",
        FieldType.INT,
        _f.pricing_views_7d,
        "views",
        "Pricing page views in the last 7 days.",
        minimum=0,
    ),
    _feature(
        "pricing.views30d",
        FieldType.INT,
        _f.pricing_views_30d,
        "views",
        "Pricing page views in the last 30 days.",
        minimum=0,
    ),
    _feature(
        "engagement.last30d",
        FieldType.INT,
        _f.engagement_30d,
        "events",
        "Events, email opens and clicks in the last 30 days.",
        minimum=0,
    ),
    _feature(
        "engagement.trend",
        FieldType.NUMBER,
        _f.engagement_trend,
        "-1..1",
        "Last 30 days against the 30 before: -1 falling, 0 flat, 1 rising.",
        minimum=-1,
        maximum=1,
    ),
    _feature(
        "email.opens90d",
        FieldType.INT,
        _f.email_opens_90d,
        "opens",
        "Email opens in the last 90 days.",
        minimum=0,
    ),
    _feature(
        "email.clicks90d",
        FieldType.INT,
        _f.email_clicks_90d,
        "clicks",
        "Email clicks in the last 90 days.",
        minimum=0,
    ),
    _feature(
        "cart.openValue",
        FieldType.MONEY,
        _f.open_cart_cents,
        "currency units",
        "Value of the open (not converted) cart; missing when there is none.",
    ),
    _feature(
        "cart.isOpen",
        FieldType.BOOL,
        type_coerce(
            case(
                (_f.customer_id.is_(None), null()),
                (_f.open_cart_cents.is_not(None), true()),
                else_=false(),
            ),
            Boolean(),
        ),
        "true/false",
        "Whether the customer has an open cart.",
    ),
    _feature(
        "categories.top",
        FieldType.TEXT,
        _f.top_category,
        "category",
        "The category the customer spent most on (exact name).",
    ),
    Field(
        "categories.purchased",
        FieldType.CATEGORIES,
        Source.CATEGORIES,
        None,
        "categories",
        "Categories ever bought; a list matches customers who bought any of them.",
    ),
    Field(
        "categories.lastOrderMissing",
        FieldType.CATEGORIES,
        Source.CATEGORIES,
        None,
        "categories",
        "The last order held none of the listed categories; customers without an order "
        "never match.",
        operators=("eq", "in"),
    ),
    Field(
        "churn.risk",
        FieldType.NUMBER,
        Source.PROPENSITY,
        _p.churn_risk,
        "0-1",
        "Probability of churning (model or rules).",
        minimum=0,
        maximum=1,
    ),
    Field(
        "upgrade.propensity",
        FieldType.NUMBER,
        Source.PROPENSITY,
        _p.upgrade_propensity,
        "0-1",
        "Probability of upgrading (model or rules).",
        minimum=0,
        maximum=1,
    ),
    _feature(
        "channel.preferred",
        FieldType.ENUM,
        _f.preferred_channel,
        "channel",
        "Stated or inferred preferred channel, among consented ones.",
        values=CHANNELS,
    ),
    *(
        Field(
            f"consent.{channel}",
            FieldType.ENUM,
            CONSENT_SOURCES[channel],
            func.coalesce(CONSENT_TABLES[channel].status, literal("none")),
            "status",
            f"Consent for {channel}: granted, revoked, or none recorded.",
            values=CONSENT_VALUES,
        )
        for channel in CHANNELS
    ),
    Field(
        "customer.locale",
        FieldType.TEXT,
        Source.CUSTOMER,
        Customer.locale,
        "locale",
        "Locale from the profile, e.g. en-US (exact).",
    ),
    Field(
        "customer.timezone",
        FieldType.TEXT,
        Source.CUSTOMER,
        Customer.timezone,
        "IANA zone",
        "Time zone from the profile, e.g. Europe/Berlin (exact).",
    ),
]

FIELDS: dict[str, Field] = {f.name: f for f in _FIELDS}
#: Whether the customer has a last order (categories.lastOrderMissing needs one).
HAS_ORDER = and_(_f.customer_id.is_not(None), _f.last_order_at.is_not(None))


#: `traits.<name>`: a value of the customer's profile traits (identify calls), by name.
TRAIT_PREFIX = "traits."
TRAIT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_TRAIT_COLUMNS = {
    FieldType.NUMBER: trait_number,
    FieldType.TEXT: trait_text,
    FieldType.BOOL: trait_bool,
}


def is_trait(name: str) -> bool:
    return name.startswith(TRAIT_PREFIX)


def trait_kind(test: str, operand: Any) -> FieldType | None:
    """The type a trait condition compares as, from its operand: number, bool or text (None
    for `exists`, which only asks whether the trait has a non-null value)."""
    if test == "exists":
        return None
    sample = operand[0] if isinstance(operand, tuple) else operand
    if isinstance(sample, bool):
        return FieldType.BOOL
    if isinstance(sample, int | float):
        return FieldType.NUMBER
    return FieldType.TEXT


def trait_field(name: str, kind: FieldType | None) -> Field:
    """The field `traits.<key>` compared as `kind`: its SQL reads the JSON value only when it
    has that JSON type (a number, a string, true/false) and is NULL otherwise, so a trait
    holding text never matches a numeric comparison (and never fails a cast)."""
    key = name[len(TRAIT_PREFIX) :]
    if kind is None:
        return Field(
            name,
            FieldType.TEXT,
            Source.CUSTOMER,
            trait_present(Customer.traits, key),
            "trait",
            f"Whether the profile trait {key!r} has a non-null value.",
            operators=("exists",),
        )
    return Field(
        name,
        kind,
        Source.CUSTOMER,
        _TRAIT_COLUMNS[kind](Customer.traits, key),
        "trait",
        f"The profile trait {key!r} as a {kind} (missing when it holds another JSON type).",
    )


def spec_for(name: str, test: str = "exists", operand: Any = None) -> Field:
    """The field a condition tests: a registered one, or a trait typed by its operand."""
    if is_trait(name):
        return trait_field(name, trait_kind(test, operand))
    return FIELDS[name]


def trait_typed(value: Any, kind: FieldType | None) -> Any:
    """A raw JSON trait value as the SQL expression of `trait_field(name, kind)` reads it."""
    if value is None:
        return None
    if kind is None:
        return True
    if kind is FieldType.BOOL:
        return value if isinstance(value, bool) else None
    if kind is FieldType.NUMBER:
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        return value if is_number else None
    return value if isinstance(value, str) else None


def get_field(name: str) -> Field | None:
    return FIELDS.get(name)


def field_names() -> list[str]:
    return list(FIELDS)
