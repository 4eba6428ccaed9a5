"""Reason codes and the rules: the largest drivers with their direction, and words that quote
the customer's real values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scoring.propensity_inputs import CANDIDATES, FEATURE_COLUMNS, INPUTS, input_matrix
from scoring.propensity_model import Scored, sigmoid
from scoring.propensity_reasons import top_reasons
from scoring.propensity_rules import BASE, score_rules

TYPICAL = {
    "orders_count": 6,
    "days_since_first_order": 300,
    "days_since_last_order": 20,
    "orders_90d": 2,
    "orders_prev_90d": 2,
    "spend_90d_cents": 20000,
    "avg_order_cents": 10000,
    "redeemed_ratio": 0.0,
    "pricing_views_7d": 0,
    "pricing_views_30d": 0,
    "emails_sent_90d": 3,
    "email_opens_90d": 1,
    "email_clicks_90d": 0,
    "engagement_30d": 2,
    "engagement_prev_30d": 2,
    "engagement_trend": 0.0,
    "open_cart_cents": None,
}


def columns(*customers: dict) -> dict[str, np.ndarray]:
    rows = [{**TYPICAL, **c} for c in customers]
    return {name: np.array([r[name] for r in rows], dtype=float) for name in FEATURE_COLUMNS}


def text(code: str, **values) -> str:
    row = {**TYPICAL, **values}
    raw = {name: (math.nan if row[name] is None else row[name]) for name in INPUTS[code].columns}
    return INPUTS[code].text(raw, "USD")


@pytest.mark.parametrize(
    ("code", "values", "expected"),
    [
        ("recency", {"days_since_last_order": 52}, "no order for 52 days"),
        ("recency", {"days_since_last_order": 3}, "last order 3 days ago"),
        ("recency", {"days_since_last_order": 0}, "last order today"),
        ("recency", {"days_since_last_order": None}, "no completed order yet"),
        ("pricing_views_7d", {"pricing_views_7d": 3}, "3 pricing-page views in 7 days"),
        ("pricing_views_7d", {"pricing_views_7d": 1}, "1 pricing-page view in 7 days"),
        ("pricing_views_30d", {"pricing_views_30d": 0}, "no pricing-page views in 30 days"),
        (
            "orders_trend",
            {"orders_90d": 1, "orders_prev_90d": 4},
            "orders down from 4 to 1 (last 90 days vs the 90 before)",
        ),
        (
            "orders_trend",
            {"orders_90d": 3, "orders_prev_90d": 1},
            "orders up from 1 to 3 (last 90 days vs the 90 before)",
        ),
        (
            "email_open_rate",
            {"email_opens_90d": 0, "emails_sent_90d": 3},
            "opened 0 of 3 emails in 90 days",
        ),
        ("email_open_rate", {"emails_sent_90d": 0}, "no emails sent in 90 days"),
        (
            "engagement_trend",
            {"engagement_trend": -0.5, "engagement_30d": 2, "engagement_prev_30d": 6},
            "engagement falling (2 visits, opens and clicks in the last 30 days vs 6 before)",
        ),
        ("promo_share", {"redeemed_ratio": 0.6}, "60% of orders used a promotion"),
        (
            "overdue",
            {"orders_count": 11, "days_since_first_order": 200, "days_since_last_order": 52},
            "no order for 52 days, usually one every 15 days",
        ),
        (
            "overdue",
            {"orders_count": 5, "days_since_first_order": 90, "days_since_last_order": 10},
            "ordering on schedule: one every 20 days, the last 10 days ago",
        ),
        ("overdue", {"orders_count": 1}, "too few orders for a usual gap"),
        ("avg_order", {"avg_order_cents": 12345}, "average order 123.45 USD"),
        (
            "spend_trend",
            {"orders_90d": 2, "spend_90d_cents": 50000, "avg_order_cents": 14000},
            "recent orders average 250.00 USD vs 140.00 USD overall",
        ),
        (
            "frequency",
            {"orders_count": 12, "days_since_first_order": 360},
            "12 orders in total, 1.0 a month",
        ),
        (
            "gap_chance",
            {"orders_count": 3, "days_since_first_order": 900},
            "usually 0.1 orders a month: a 90-day gap is 74% likely",
        ),
        ("orders_90d", {"orders_90d": 1}, "1 order in the last 90 days"),
    ],
)
def test_texts_quote_the_real_values(code, values, expected):
    assert text(code, **values) == expected


def test_top_reasons_are_the_largest_contributions_with_their_direction():
    data = columns({"days_since_last_order": 52, "pricing_views_7d": 3}, {})
    codes = ("recency", "pricing_views_7d", "email_open_rate", "promo_share")
    contributions = np.array([[1.5, -0.7, 0.2, -0.9], [0.0, 0.0, 0.0, 0.05]])
    scored = Scored(sigmoid(contributions.sum(axis=1)), contributions, codes)
    first, second = top_reasons(scored, data, k=3)
    assert [r["code"] for r in first] == ["recency", "promo_share", "pricing_views_7d"]
    assert [r["direction"] for r in first] == ["up", "down", "down"]
    assert [r["weight"] for r in first] == [1.5, 0.9, 0.7]
    assert first[0]["text"] == "no order for 52 days" and first[0]["value"] == 52
    assert first[2]["text"] == "3 pricing-page views in 7 days" and first[2]["value"] == 3
    assert set(first[0]) == {"code", "text", "value", "direction", "weight"}
    # drivers that do not move the score are not reasons
    assert [r["code"] for r in second] == ["promo_share"]


def test_churn_rules_score_a_lapsed_customer_above_a_regular_one():
    data = columns(
        {  # lapsed: long gone, orders falling, stopped opening, falling engagement
            "days_since_last_order": 200,
            "orders_count": 4,
            "days_since_first_order": 500,
            "orders_90d": 0,
            "orders_prev_90d": 0,
            "email_opens_90d": 0,
            "emails_sent_90d": 3,
            "engagement_trend": -1.0,
        },
        {  # regular: ordered last week, on schedule
            "days_since_last_order": 7,
            "orders_count": 12,
            "days_since_first_order": 330,
            "orders_90d": 4,
            "orders_prev_90d": 3,
            "email_opens_90d": 2,
        },
        {"orders_count": 0, "days_since_first_order": None, "days_since_last_order": None},
    )
    scored = score_rules("churn", data)
    lapsed, regular, prospect = scored.probability
    assert lapsed > 0.9 and regular < 0.1 and 0.3 < prospect < 0.7
    points = dict(zip(scored.codes, scored.contributions[0], strict=True))
    assert points == {
        "recency": 2.0,
        "overdue": 0.5,
        "orders_trend": 0.0,
        "email_open_rate": 0.4,
        "engagement_trend": 0.3,
        "frequency": 0.0,
    }
    assert lapsed == pytest.approx(sigmoid(np.array(BASE["churn"] + 3.2)))
    reasons = top_reasons(scored, data)
    assert [(r["text"], r["direction"], r["weight"]) for r in reasons[0]] == [
        ("no order for 200 days", "up", 2.0),
        ("no order for 200 days, usually one every 100 days", "up", 0.5),
        ("opened 0 of 3 emails in 90 days", "up", 0.4),
    ]
    assert reasons[1][0]["text"] == "last order 7 days ago" and reasons[1][0]["direction"] == "down"
    assert reasons[2][0]["text"] == "no completed order yet"


def test_upgrade_rules_follow_pricing_views_and_rising_spend():
    data = columns(
        {"pricing_views_7d": 3, "pricing_views_30d": 4, "orders_90d": 3, "spend_90d_cents": 45000},
        {"orders_90d": 0, "spend_90d_cents": 0},
    )
    scored = score_rules("upgrade", data)
    keen, quiet = scored.probability
    assert keen > 0.8 > 0.2 > quiet
    reasons = top_reasons(scored, data)[0]
    assert reasons[0] == {
        "code": "pricing_views_7d",
        "text": "3 pricing-page views in 7 days",
        "value": 3,
        "direction": "up",
        "weight": 1.5,
    }
    assert reasons[1]["text"] == "3 orders in the last 90 days"


def test_rules_are_deterministic_and_every_model_input_is_known():
    data = columns({}, {"pricing_views_7d": 2})
    assert np.array_equal(
        score_rules("upgrade", data).probability, score_rules("upgrade", data).probability
    )
    for target, candidates in CANDIDATES.items():
        matrix = input_matrix(data, list(candidates))
        assert matrix.shape == (2, len(candidates)), target
        assert all(code in INPUTS for code in score_rules(target, data).codes)
