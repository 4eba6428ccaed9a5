"""The demo data's pricing-page views come before upgrade purchases throughout its history,
so an upgrade model has something to learn, and stay few."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from scoring.demo_data import generate

END = datetime(2026, 11, 1, tzinfo=UTC)


def test_pricing_views_precede_larger_orders_all_through_history():
    data = generate("ws_0123456789abcdef", 1000, 20000, seed=7, end=END)
    events, orders = data.tables["events"], data.tables["orders"]
    assert set(events["name"]) == {"Pricing"} and set(events["type"]) == {"page"}
    assert len(events["name"]) <= 3 * 1000, "about 3 views per customer at most"
    # orders worth 1.5x the customer's mean order, per customer, by day
    ids, customer = np.unique(orders["customer_id"], return_inverse=True)
    total = orders["total_cents"].astype(float)
    mean = np.bincount(customer, weights=total) / np.bincount(customer)
    larger = total >= 1.5 * mean[customer]
    larger_days: dict[str, set[int]] = {}
    order_day = orders["ordered_at"].astype("datetime64[D]").astype(np.int64)
    for c, day in zip(ids[customer[larger]], order_day[larger], strict=True):
        larger_days.setdefault(str(c), set()).add(int(day))
    view_day = events["timestamp"].astype("datetime64[D]").astype(np.int64)
    end_day = np.datetime64(END.date(), "D").astype(np.int64)
    history = view_day < end_day - 30
    assert history.mean() > 0.5, "most views are history, not only the last weeks"
    before = [
        any(day + k in larger_days.get(str(c), ()) for k in range(1, 15))
        for c, day in zip(events["customer_id"][history], view_day[history], strict=True)
    ]
    assert np.mean(before) > 0.7, "a view in history mostly leads a larger order by 1-14 days"
    assert np.array_equal(
        events["timestamp"],
        generate("ws_0123456789abcdef", 1000, 20000, 7, END).tables["events"]["timestamp"],
    )
