"""Rule-based churn and upgrade scores, for workspaces with too little history to fit a model.

Deterministic points on the log-odds scale from the same features; the probability is
sigmoid(base + sum of points), and each rule's points are its reason's weight.

Churn (base -1.0):
- recency: no completed order yet +1.5; no order for 180+ days +2.0, 90+ +1.2, 45+ +0.5,
  15+ -0.3; an order in the last 14 days -1.0 (so every churn score has a reason).
- overdue (2+ orders): days since the last order 3x the usual gap or more +1.0, 1.5x +0.5,
  under 0.75x -0.5.
- orders_trend: fewer orders in the last 90 days than the 90 before +0.5, more -0.5.
- email_open_rate (2+ emails sent in 90 days): none opened +0.4, half or more opened -0.4.
- engagement_trend: falling (-0.3 or less) +0.3, rising (0.3 or more) -0.3.
- frequency: a single order +0.5, 10 or more orders -0.5.

Upgrade (base -1.5):
- pricing_views_7d: 2+ views +1.5, 1 view +0.8.
- pricing_views_30d: a view 8-30 days back +0.4.
- orders_90d: 3+ orders +0.8, 1-2 +0.3, none -0.8 (so every upgrade score has a reason).
- spend_trend: recent orders average 1.25x the customer's overall average or more +0.4.
- engagement_trend: rising +0.3, falling -0.3.
- email_clicks: a click in 90 days +0.3.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from scoring.propensity_inputs import usual_gap
from scoring.propensity_model import Scored, sigmoid

KIND = "rules"
VERSION = 1
BASE = {"churn": -1.0, "upgrade": -1.5}

Columns = Mapping[str, np.ndarray]


def _points(conditions: list[tuple[np.ndarray, float]], n: int) -> np.ndarray:
    """The points of the first condition that holds, per customer; 0 when none does."""
    if not conditions:
        return np.zeros(n)
    return np.select([c for c, _ in conditions], [p for _, p in conditions], default=0.0)


def _churn(c: Columns, n: int) -> dict[str, np.ndarray]:
    days = c["days_since_last_order"]
    known = ~np.isnan(days)
    d = np.nan_to_num(days, nan=0.0)
    gap = usual_gap(c)
    has_gap = ~np.isnan(gap)
    ratio = np.where(has_gap, d / np.maximum(np.nan_to_num(gap, nan=1.0), 1.0), 0.0)
    now, before = c["orders_90d"], c["orders_prev_90d"]
    sent = c["emails_sent_90d"]
    rate = np.where(sent > 0, c["email_opens_90d"] / np.maximum(sent, 1), 0.0)
    trend = np.nan_to_num(c["engagement_trend"], nan=0.0)
    orders = c["orders_count"]
    return {
        "recency": _points(
            [
                (~known, 1.5),
                (d >= 180, 2.0),
                (d >= 90, 1.2),
                (d >= 45, 0.5),
                (d >= 15, -0.3),
                (known, -1.0),
            ],
            n,
        ),
        "overdue": _points(
            [
                (has_gap & (ratio >= 3), 1.0),
                (has_gap & (ratio >= 1.5), 0.5),
                (has_gap & (ratio < 0.75), -0.5),
            ],
            n,
        ),
        "orders_trend": _points([(now < before, 0.5), (now > before, -0.5)], n),
        "email_open_rate": _points(
            [
                ((sent >= 2) & (c["email_opens_90d"] == 0), 0.4),
                ((sent >= 2) & (rate >= 0.5), -0.4),
            ],
            n,
        ),
        "engagement_trend": _points([(trend <= -0.3, 0.3), (trend >= 0.3, -0.3)], n),
        "frequency": _points([(orders == 1, 0.5), (orders >= 10, -0.5)], n),
    }


def _upgrade(c: Columns, n: int) -> dict[str, np.ndarray]:
    week, month = c["pricing_views_7d"], c["pricing_views_30d"]
    recent = c["orders_90d"]
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where(
            (recent > 0) & (c["avg_order_cents"] > 0),
            c["spend_90d_cents"] / np.maximum(recent, 1) / c["avg_order_cents"],
            0.0,
        )
    trend = np.nan_to_num(c["engagement_trend"], nan=0.0)
    return {
        "pricing_views_7d": _points([(week >= 2, 1.5), (week >= 1, 0.8)], n),
        "pricing_views_30d": _points([(month > week, 0.4)], n),
        "orders_90d": _points([(recent >= 3, 0.8), (recent >= 1, 0.3), (recent == 0, -0.8)], n),
        "spend_trend": _points([(np.nan_to_num(lift) >= 1.25, 0.4)], n),
        "engagement_trend": _points([(trend >= 0.3, 0.3), (trend <= -0.3, -0.3)], n),
        "email_clicks": _points([(c["email_clicks_90d"] >= 1, 0.3)], n),
    }


def score_rules(target: str, columns: Columns) -> Scored:
    """Rule scores of the target for every customer in the feature columns."""
    n = len(columns["orders_count"])
    if target == "churn":
        points = _churn(columns, n)
    elif target == "upgrade":
        points = _upgrade(columns, n)
    else:
        raise ValueError(f"unknown target {target!r}")
    codes = tuple(points)
    contributions = np.column_stack([points[code] for code in codes]).reshape(n, len(codes))
    probability = sigmoid(BASE[target] + contributions.sum(axis=1))
    return Scored(probability, contributions, codes)
