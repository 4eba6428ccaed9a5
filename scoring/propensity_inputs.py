"""Model inputs derived from customer features: transforms, expected directions, reason texts.

Each input turns raw feature columns (floats, NaN for missing) into one number per customer
and can say in words what the customer's real values are ("no order for 52 days"). NaN left
by a transform means "unknown": the model fills it with the training mean, so it contributes
nothing. Counts and money enter as log1p, so a few large values do not dominate.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

FEATURE_COLUMNS = (
    "orders_count",
    "days_since_first_order",
    "days_since_last_order",
    "orders_90d",
    "orders_prev_90d",
    "spend_90d_cents",
    "avg_order_cents",
    "redeemed_ratio",
    "pricing_views_7d",
    "pricing_views_30d",
    "emails_sent_90d",
    "email_opens_90d",
    "email_clicks_90d",
    "engagement_30d",
    "engagement_prev_30d",
    "engagement_trend",
    "open_cart_cents",
)
RECENCY_CAP_DAYS = 730  # also what "no completed order yet" counts as
OVERDUE_CAP = 20.0
TREND_WORDS = 0.2  # |engagement trend| below this reads as "steady"

Columns = Mapping[str, np.ndarray]
Values = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Input:
    """One model input: its code, the feature columns it reads, the transform, the words."""

    code: str
    columns: tuple[str, ...]
    transform: Callable[[Columns], np.ndarray]
    text: Callable[[Values, str], str]
    value: Callable[[Values], float | int | None]


def _missing(x: Any) -> bool:
    return x is None or x != x  # NaN is the only value unequal to itself


def _int(x: Any) -> int:
    return 0 if _missing(x) else round(x)


def _plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n} {word if n == 1 else (words or word + 's')}"


def _money(cents: float, currency: str) -> str:
    return f"{cents / 100:,.2f} {currency}"


def _divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)


def usual_gap(c: Columns) -> np.ndarray:
    """Mean days between completed orders (first to last over the gaps); NaN below 2 orders."""
    gaps = c["days_since_first_order"] - c["days_since_last_order"]
    return _divide(gaps, np.where(c["orders_count"] >= 2, c["orders_count"] - 1, 0))


def _usual_gap_of(v: Values) -> float:
    n = v["orders_count"]
    if _missing(n) or n < 2:
        return float("nan")
    return (v["days_since_first_order"] - v["days_since_last_order"]) / (n - 1)


def _recency(c: Columns) -> np.ndarray:
    days = np.nan_to_num(c["days_since_last_order"], nan=RECENCY_CAP_DAYS)
    return np.log1p(np.clip(days, 0, RECENCY_CAP_DAYS))


def _recency_text(v: Values, _: str) -> str:
    days = v["days_since_last_order"]
    if _missing(days):
        return "no completed order yet"
    days = _int(days)
    if days <= 30:
        return f"last order {_ago(days)}"
    return f"no order for {days} days"


def _overdue(c: Columns) -> np.ndarray:
    ratio = _divide(c["days_since_last_order"], np.maximum(usual_gap(c), 1.0))
    return np.log1p(np.minimum(ratio, OVERDUE_CAP))


def _overdue_value(v: Values) -> float | None:
    gap = _usual_gap_of(v)
    return None if np.isnan(gap) else round(v["days_since_last_order"] / max(gap, 1.0), 2)


def _ago(days: int) -> str:
    return "today" if days == 0 else f"{_plural(days, 'day')} ago"


def _overdue_text(v: Values, _: str) -> str:
    gap = _usual_gap_of(v)
    if np.isnan(gap):
        return "too few orders for a usual gap"
    days, every = _int(v["days_since_last_order"]), max(round(gap), 1)
    usual = "a day" if every == 1 else f"every {every} days"
    if days / max(gap, 1.0) >= 1.5:
        return f"no order for {days} days, usually one {usual}"
    return f"ordering on schedule: one {usual}, the last {_ago(days)}"


def _orders_trend(c: Columns) -> np.ndarray:
    now, before = c["orders_90d"], c["orders_prev_90d"]
    return np.nan_to_num(_divide(now - before, now + before), nan=0.0)


def _orders_trend_text(v: Values, _: str) -> str:
    now, before = _int(v["orders_90d"]), _int(v["orders_prev_90d"])
    window = "(last 90 days vs the 90 before)"
    if now < before:
        return f"orders down from {before} to {now} {window}"
    if now > before:
        return f"orders up from {before} to {now} {window}"
    if now == 0:
        return "no orders in the last 180 days"
    return f"orders steady at {now} {window}"


def _orders_90d_text(v: Values, _: str) -> str:
    n = _int(v["orders_90d"])
    return f"{_plural(n, 'order')} in the last 90 days" if n else "no orders in the last 90 days"


def _frequency(c: Columns) -> np.ndarray:
    """Orders a month since the first order (at least a month of tenure)."""
    months = np.maximum(np.nan_to_num(c["days_since_first_order"], nan=0.0), 30.0) / 30.0
    return np.log1p(c["orders_count"] / months)


def _frequency_value(v: Values) -> float:
    days = 0.0 if _missing(v["days_since_first_order"]) else v["days_since_first_order"]
    return round(_int(v["orders_count"]) / (max(days, 30.0) / 30.0), 2)


def _frequency_text(v: Values, _: str) -> str:
    n = _int(v["orders_count"])
    if n == 0:
        return "no orders yet"
    rate = _frequency_value(v)
    return f"{_plural(n, 'order')} in total, {rate:.1f} a month"


def _gap_chance(c: Columns) -> np.ndarray:
    """The chance of 90 days without an order at the customer's usual rate (Poisson)."""
    months = np.maximum(np.nan_to_num(c["days_since_first_order"], nan=0.0), 30.0) / 30.0
    return np.exp(-3.0 * c["orders_count"] / months)


def _gap_chance_text(v: Values, _: str) -> str:
    n = _int(v["orders_count"])
    if n == 0:
        return "no orders yet"
    rate = _frequency_value(v)
    percent = 100 * np.exp(-3.0 * rate)
    likely = "under 1%" if percent < 1 else "over 99%" if percent > 99 else f"{round(percent)}%"
    return f"usually {rate:.1f} orders a month: a 90-day gap is {likely} likely"


def _orders_prev_text(v: Values, _: str) -> str:
    n = _int(v["orders_prev_90d"])
    return f"{_plural(n, 'order') if n else 'no orders'} in the 90 days before the last 90"


def _open_rate(c: Columns) -> np.ndarray:
    return _divide(c["email_opens_90d"], c["emails_sent_90d"])


def _open_rate_text(v: Values, _: str) -> str:
    sent = _int(v["emails_sent_90d"])
    if sent == 0:
        return "no emails sent in 90 days"
    return f"opened {_int(v['email_opens_90d'])} of {_plural(sent, 'email')} in 90 days"


def _clicks_text(v: Values, _: str) -> str:
    n = _int(v["email_clicks_90d"])
    return f"clicked {_plural(n, 'email')} in 90 days" if n else "no email clicks in 90 days"


def _engagement_trend_text(v: Values, _: str) -> str:
    trend = 0.0 if _missing(v["engagement_trend"]) else v["engagement_trend"]
    now, before = _int(v["engagement_30d"]), _int(v["engagement_prev_30d"])
    counts = f"({now} visits, opens and clicks in the last 30 days vs {before} before)"
    if trend <= -TREND_WORDS:
        return f"engagement falling {counts}"
    if trend >= TREND_WORDS:
        return f"engagement rising {counts}"
    return f"engagement steady {counts}"


def _engagement_text(v: Values, _: str) -> str:
    n = _int(v["engagement_30d"])
    return f"{_plural(n, 'visit, open or click', 'visits, opens and clicks')} in 30 days"


def _pricing_text(days: int) -> Callable[[Values, str], str]:
    column = f"pricing_views_{days}d"

    def text(v: Values, _: str) -> str:
        n = _int(v[column])
        if not n:
            return f"no pricing-page views in {days} days"
        return f"{_plural(n, 'pricing-page view')} in {days} days"

    return text


def _promo_text(v: Values, _: str) -> str:
    ratio = v["redeemed_ratio"]
    if _missing(ratio):
        return "no orders to use a promotion on"
    return f"{round(100 * ratio)}% of orders used a promotion"


def _avg_order_text(v: Values, currency: str) -> str:
    cents = v["avg_order_cents"]
    if _missing(cents):
        return "no orders yet"
    return f"average order {_money(cents, currency)}"


def _spend_trend(c: Columns) -> np.ndarray:
    recent = _divide(c["spend_90d_cents"], c["orders_90d"])
    return np.log(_divide(recent, c["avg_order_cents"]))


def _spend_trend_value(v: Values) -> float | None:
    n, avg = _int(v["orders_90d"]), v["avg_order_cents"]
    if not n or _missing(avg) or avg <= 0:
        return None
    return round(v["spend_90d_cents"] / n / avg, 2)


def _spend_trend_text(v: Values, currency: str) -> str:
    n = _int(v["orders_90d"])
    if not n or _missing(v["avg_order_cents"]):
        return "no orders in the last 90 days to compare"
    recent = v["spend_90d_cents"] / n
    return (
        f"recent orders average {_money(recent, currency)} vs "
        f"{_money(v['avg_order_cents'], currency)} overall"
    )


def _open_cart_text(v: Values, currency: str) -> str:
    cents = v["open_cart_cents"]
    if _missing(cents) or cents <= 0:
        return "no open cart"
    return f"{_money(cents, currency)} in an open cart"


def _column(name: str) -> Callable[[Values], float | int | None]:
    def value(v: Values) -> float | int | None:
        x = v[name]
        if _missing(x):
            return None
        return round(x, 3) if isinstance(x, float) and not float(x).is_integer() else int(x)

    return value


def _log1p(name: str, divide: float = 1.0) -> Callable[[Columns], np.ndarray]:
    return lambda c: np.log1p(np.maximum(np.nan_to_num(c[name], nan=0.0), 0.0) / divide)


INPUTS: dict[str, Input] = {
    i.code: i
    for i in (
        Input(
            "recency",
            ("days_since_last_order",),
            _recency,
            _recency_text,
            _column("days_since_last_order"),
        ),
        Input(
            "overdue",
            ("orders_count", "days_since_first_order", "days_since_last_order"),
            _overdue,
            _overdue_text,
            _overdue_value,
        ),
        Input(
            "orders_trend",
            ("orders_90d", "orders_prev_90d"),
            _orders_trend,
            _orders_trend_text,
            lambda v: _int(v["orders_90d"]) - _int(v["orders_prev_90d"]),
        ),
        Input(
            "orders_90d",
            ("orders_90d",),
            _log1p("orders_90d"),
            _orders_90d_text,
            _column("orders_90d"),
        ),
        Input(
            "frequency",
            ("orders_count", "days_since_first_order"),
            _frequency,
            _frequency_text,
            _frequency_value,
        ),
        Input(
            "gap_chance",
            ("orders_count", "days_since_first_order"),
            _gap_chance,
            _gap_chance_text,
            _frequency_value,
        ),
        Input(
            "orders_prev_90d",
            ("orders_prev_90d",),
            _log1p("orders_prev_90d"),
            _orders_prev_text,
            _column("orders_prev_90d"),
        ),
        Input(
            "email_open_rate",
            ("email_opens_90d", "emails_sent_90d"),
            _open_rate,
            _open_rate_text,
            lambda v: _int(v["email_opens_90d"]),
        ),
        Input(
            "email_clicks",
            ("email_clicks_90d",),
            _log1p("email_clicks_90d"),
            _clicks_text,
            _column("email_clicks_90d"),
        ),
        Input(
            "engagement_trend",
            ("engagement_trend", "engagement_30d", "engagement_prev_30d"),
            lambda c: np.nan_to_num(c["engagement_trend"], nan=0.0),
            _engagement_trend_text,
            _column("engagement_trend"),
        ),
        Input(
            "engagement",
            ("engagement_30d",),
            _log1p("engagement_30d"),
            _engagement_text,
            _column("engagement_30d"),
        ),
        Input(
            "pricing_views_7d",
            ("pricing_views_7d",),
            _log1p("pricing_views_7d"),
            _pricing_text(7),
            _column("pricing_views_7d"),
        ),
        Input(
            "pricing_views_30d",
            ("pricing_views_30d",),
            _log1p("pricing_views_30d"),
            _pricing_text(30),
            _column("pricing_views_30d"),
        ),
        Input(
            "promo_share",
            ("redeemed_ratio",),
            lambda c: c["redeemed_ratio"],
            _promo_text,
            _column("redeemed_ratio"),
        ),
        Input(
            "avg_order",
            ("avg_order_cents",),
            lambda c: np.log1p(np.maximum(c["avg_order_cents"], 0.0) / 100),
            _avg_order_text,
            _column("avg_order_cents"),
        ),
        Input(
            "spend_trend",
            ("spend_90d_cents", "orders_90d", "avg_order_cents"),
            _spend_trend,
            _spend_trend_text,
            _spend_trend_value,
        ),
        Input(
            "open_cart",
            ("open_cart_cents",),
            _log1p("open_cart_cents", 100.0),
            _open_cart_text,
            _column("open_cart_cents"),
        ),
    )
}

# The candidates per target with the direction each may push the score (+1 up, -1 down,
# 0 either way). Fitting drops an input whose coefficient comes out against its direction,
# so every reason reads the way a marketer expects ("orders down" never lowers churn risk).
CANDIDATES: dict[str, dict[str, int]] = {
    "churn": {
        "recency": 1,
        "overdue": 1,
        "orders_90d": -1,
        "orders_prev_90d": -1,
        "frequency": -1,
        "gap_chance": 1,
        "orders_trend": -1,
        "email_open_rate": -1,
        "engagement_trend": -1,
        "engagement": -1,
        "pricing_views_7d": -1,
        "pricing_views_30d": -1,
        "promo_share": 0,
    },
    "upgrade": {
        "pricing_views_7d": 1,
        "pricing_views_30d": 1,
        "orders_90d": 1,
        "frequency": 1,
        "recency": -1,
        "overdue": -1,
        "spend_trend": 1,
        "avg_order": 0,
        "engagement_trend": 1,
        "email_open_rate": 1,
        "email_clicks": 1,
        "promo_share": 0,
    },
}


def columns_from_rows(rows: Sequence[Sequence[Any]], names: Sequence[str]) -> dict[str, Any]:
    """Rows of numbers (None for missing) as float columns (NaN) keyed by name."""
    matrix = np.array(rows, dtype=float).reshape(len(rows), len(names))
    return {name: matrix[:, i] for i, name in enumerate(names)}


def input_matrix(columns: Columns, codes: Sequence[str]) -> np.ndarray:
    """customers x inputs, NaN where the value is unknown."""
    n = len(next(iter(columns.values()))) if columns else 0
    if not codes:
        return np.zeros((n, 0))
    return np.column_stack([INPUTS[code].transform(columns).astype(float) for code in codes])
