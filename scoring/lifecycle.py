"""Lifecycle stages from seed 000 by configurable deterministic rules, as one SQL CASE.

The rules run in order and the first that matches places the customer (every rule has a name,
stored with the stage, so a stage can always be explained):

1. churned: bought before, and no completed order for more than `churned_after_days` (180).
2. at_risk: bought before, and no order for `at_risk_after_days` (45, the seed's churn-risk
   trigger), or a churn risk of `at_risk_churn_risk` (0.6) or more, or orders halved against
   the previous 90 days while engagement falls (trend -0.5 or less).
3. advocacy: `advocacy_min_orders` (12) or more orders, one in the last 30 days, and an RFM
   composite of `advocacy_min_composite` (47: top recency and frequency) or more; the
   promoters and community leaders.
4. expansion: a repeat buyer showing upgrade intent: `expansion_pricing_views` (2) or more
   pricing-page views in 30 days, an upgrade propensity of `expansion_upgrade_propensity`
   (0.5) or more, or more orders in the last 90 days than in the 90 before.
5. activation: a first purchase within `activation_days` (30), or only one order so far.
6. retention: a repeat buyer.
7. consideration: no purchase yet, but an open cart, a pricing-page view, activity on the
   site in 30 days or an email click in 90.
8. awareness: everyone else.

A customer keeps a stage for at least `min_stage_days` (7) before moving on, so a customer at
the edge of two rules does not cycle between them; the stored rule then reads
`held:min_stage_days`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import and_, case, literal, or_
from sqlalchemy.sql import ColumnElement

from core.errors import InvalidInput

STAGES = (
    "awareness",
    "consideration",
    "activation",
    "retention",
    "expansion",
    "advocacy",
    "at_risk",
    "churned",
)
HELD_RULE = "held:min_stage_days"


@dataclass(frozen=True, slots=True)
class LifecycleConfig:
    churned_after_days: int = 180
    at_risk_after_days: int = 45
    at_risk_churn_risk: float = 0.6
    advocacy_min_orders: int = 12
    advocacy_min_composite: int = 47
    expansion_pricing_views: int = 2
    expansion_upgrade_propensity: float = 0.5
    activation_days: int = 30
    min_stage_days: int = 7

    def __post_init__(self) -> None:
        if not 0 < self.at_risk_after_days < self.churned_after_days:
            raise InvalidInput(
                "must be above 0 and below churned_after_days", field="lifecycle.at_risk_after_days"
            )
        for name in ("at_risk_churn_risk", "expansion_upgrade_propensity"):
            if not 0 <= getattr(self, name) <= 1:
                raise InvalidInput("must be between 0 and 1", field=f"lifecycle.{name}")
        for name in ("advocacy_min_orders", "expansion_pricing_views", "activation_days"):
            if getattr(self, name) < 1:
                raise InvalidInput("must be at least 1", field=f"lifecycle.{name}")
        if not 0 <= self.min_stage_days <= 365:
            raise InvalidInput("must be between 0 and 365", field="lifecycle.min_stage_days")
        if not 10 <= self.advocacy_min_composite <= 50:
            raise InvalidInput(
                "must be between 10 and 50", field="lifecycle.advocacy_min_composite"
            )


def load_lifecycle_config(path: Path) -> LifecycleConfig:
    """Thresholds from a YAML mapping (any subset of LifecycleConfig's fields)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}", field="--lifecycle") from None
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0]
        raise InvalidInput(f"not valid YAML: {first}", field="--lifecycle") from None
    if not isinstance(data, dict):
        raise InvalidInput("must be a mapping of threshold: value", field="--lifecycle")
    allowed = {f.name: f.type for f in fields(LifecycleConfig)}
    for name, value in data.items():
        if name not in allowed:
            raise InvalidInput(
                f"unknown threshold {name!r}; allowed: {', '.join(allowed)}",
                field=f"lifecycle.{name}",
            )
        wanted = float if allowed[name] == "float" else int
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidInput(f"must be a number, got {value!r}", field=f"lifecycle.{name}")
        if wanted is int and value != int(value):
            raise InvalidInput(f"must be a whole number, got {value}", field=f"lifecycle.{name}")
        data[name] = wanted(value)
    return LifecycleConfig(**data)


@dataclass(frozen=True, slots=True)
class Inputs:
    """The columns the rules read (from customer features, RFM and propensities)."""

    orders_count: ColumnElement[Any]
    days_since_first_order: ColumnElement[Any]
    days_since_last_order: ColumnElement[Any]
    orders_90d: ColumnElement[Any]
    orders_prev_90d: ColumnElement[Any]
    engagement_trend: ColumnElement[Any]
    pricing_views_30d: ColumnElement[Any]
    events_30d: ColumnElement[Any]
    email_clicks_90d: ColumnElement[Any]
    open_cart_cents: ColumnElement[Any]
    rfm_composite: ColumnElement[Any]
    churn_risk: ColumnElement[Any]
    upgrade_propensity: ColumnElement[Any]


def rules(i: Inputs, c: LifecycleConfig) -> list[tuple[str, str, ColumnElement[bool]]]:
    """(stage, rule name, condition), in the order they are tried."""
    bought = i.orders_count >= 1
    repeat = i.orders_count >= 2
    return [
        (
            "churned",
            "no_order_over_churn_days",
            and_(bought, i.days_since_last_order > c.churned_after_days),
        ),
        (
            "at_risk",
            "no_order_over_risk_days",
            and_(bought, i.days_since_last_order >= c.at_risk_after_days),
        ),
        ("at_risk", "high_churn_risk", and_(bought, i.churn_risk >= c.at_risk_churn_risk)),
        (
            "at_risk",
            "declining_orders_and_engagement",
            and_(
                bought,
                i.orders_90d * 2 < i.orders_prev_90d,
                i.engagement_trend <= -0.5,
            ),
        ),
        (
            "advocacy",
            "loyal_high_value",
            and_(
                i.orders_count >= c.advocacy_min_orders,
                i.days_since_last_order <= 30,
                i.rfm_composite >= c.advocacy_min_composite,
            ),
        ),
        (
            "expansion",
            "pricing_interest",
            and_(repeat, i.pricing_views_30d >= c.expansion_pricing_views),
        ),
        (
            "expansion",
            "upgrade_likely",
            and_(repeat, i.upgrade_propensity >= c.expansion_upgrade_propensity),
        ),
        (
            "expansion",
            "growing_orders",
            and_(repeat, i.orders_90d > i.orders_prev_90d, i.orders_prev_90d >= 1),
        ),
        (
            "activation",
            "first_purchase_recent",
            and_(bought, i.days_since_first_order <= c.activation_days),
        ),
        ("activation", "single_purchase", i.orders_count == 1),
        ("retention", "repeat_buyer", repeat),
        (
            "consideration",
            "shopping_without_purchase",
            or_(
                i.open_cart_cents > 0,
                i.pricing_views_30d >= 1,
                i.events_30d >= 1,
                i.email_clicks_90d >= 1,
            ),
        ),
    ]


def stage_and_rule(i: Inputs, c: LifecycleConfig) -> tuple[ColumnElement[str], ColumnElement[str]]:
    """The CASE expressions giving each customer's stage and the rule that placed them."""
    ordered = rules(i, c)
    stage = case(
        *((condition, literal(s)) for s, _, condition in ordered), else_=literal("awareness")
    )
    rule = case(
        *((condition, literal(r)) for _, r, condition in ordered),
        else_=literal("no_purchase_signal"),
    )
    return stage, rule
