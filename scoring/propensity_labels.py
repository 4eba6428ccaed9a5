"""Propensity labels at a cutoff day and the training matrix (features + label), as SQL.

The cutoff C splits time: features count what happened before the midnight after C (as
`features_select` does), labels only what happened from that midnight on, within the horizon.
Only customers with at least one completed order by C are labelled (the population):

- churn: no completed order in the `horizon_days` days after C (default 90). 1 = churned.
- upgrade: a completed order in the `horizon_days` days after C (default 60) worth at least
  `ratio` (default 1.5) times the customer's average completed order before C. 1 = upgraded.

A label is fully observed only when the data reaches C + horizon, so the newest usable cutoff
for data up to day D is D - horizon.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Float, and_, case, cast, func, literal, select
from sqlalchemy.sql import Select

from core.models import COMPLETED_STATUSES, Order
from core.models.base import UTCDateTime
from scoring.features import features_select
from scoring.rfm import window_bounds


def _completed(workspace_id: str) -> Any:
    return and_(Order.workspace_id == workspace_id, Order.status.in_(COMPLETED_STATUSES))


def labels_select(
    workspace_id: str, cutoff: date, target: str, horizon_days: int, ratio: float = 1.5
) -> Select[Any]:
    """(customer_id, label) for every customer with a completed order by the cutoff."""
    if target not in ("churn", "upgrade"):
        raise ValueError(f"unknown target {target!r}")
    _, split = window_bounds(cutoff, 1)
    until = split + timedelta(days=horizon_days)
    before = (
        select(
            Order.customer_id,
            func.count().label("orders"),
            func.sum(Order.total_cents).label("spend"),
        )
        .where(_completed(workspace_id), Order.ordered_at < literal(split, UTCDateTime()))
        .group_by(Order.customer_id)
        .subquery("before_cutoff")
    )
    after = (
        select(
            Order.customer_id,
            func.count().label("orders"),
            func.max(Order.total_cents).label("largest"),
        )
        .where(
            _completed(workspace_id),
            Order.ordered_at >= literal(split, UTCDateTime()),
            Order.ordered_at < literal(until, UTCDateTime()),
        )
        .group_by(Order.customer_id)
        .subquery("after_cutoff")
    )
    if target == "churn":
        label = case((after.c.orders.is_(None), 1), else_=0)
    else:  # largest >= ratio x (spend / orders), without dividing
        label = case(
            (
                cast(after.c.largest, Float()) * before.c.orders
                >= literal(float(ratio), Float()) * before.c.spend,
                1,
            ),
            else_=0,
        )
    return select(before.c.customer_id, label.label("label")).outerjoin(
        after, after.c.customer_id == before.c.customer_id
    )


def training_select(
    workspace_id: str,
    cutoff: date,
    target: str,
    horizon_days: int,
    ratio: float = 1.5,
    columns: Sequence[str] | None = None,
) -> Select[Any]:
    """One SELECT: customer_id, the features as of the cutoff (all, or the named columns)
    and the label, for every labelled customer."""
    features = features_select(workspace_id, cutoff, with_categories=False).subquery("features")
    labels = labels_select(workspace_id, cutoff, target, horizon_days, ratio).subquery("labels")
    chosen = (
        [features.c.customer_id, *(features.c[name] for name in columns)]
        if columns is not None
        else list(features.c)
    )
    return select(*chosen, labels.c.label).join(
        labels, labels.c.customer_id == features.c.customer_id
    )
