"""Segment speed at the seed's scale: compute, refresh and preview the five example segments
over 100,000 customers (the seed's target: batch evaluation under 10 minutes).

    python benchmarks/segment_speed.py [--customers 100000] [--database-url URL] [--data-dir DIR]

Features, categories, stages, scores, RFM and consent are synthetic, written in bulk; the
timings are of mcopilot's set-based SQL only. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import update

# The repository first: run as a file, this folder would come first and benchmarks/scoring.py
# would hide the scoring package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import workspaces
from core.bulk import bulk_insert, bulk_session
from core.db import get_engine, session_scope
from core.models import (
    ChannelConsent,
    Customer,
    CustomerCategory,
    CustomerFeatures,
    LifecycleStage,
    PropensityScore,
    RfmSnapshot,
)
from core.settings import Settings
from scoring import segments
from scoring.segment_fields import LIFECYCLE_STAGES
from scoring.segment_refresh import refresh_segments

AS_OF = date(2026, 10, 31)
CATEGORIES = np.array(["Accessories", "Hardware", "Software", "Services", "Bundles"])


def load(settings: Settings, customers: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    with session_scope(settings) as session:
        workspace_id = workspaces.create(session, "bench").id
    n = customers
    ids = [f"cus_b{i:08d}" for i in range(n)]
    ws = [workspace_id] * n
    now = np.full(n, np.datetime64("2026-11-01T06:00:00"))
    as_of = [AS_OF.isoformat()] * n
    ordered = rng.random(n) > 0.2
    last = np.where(ordered, rng.integers(0, 400, n), -1)
    first = last + rng.integers(0, 600, n)
    orders = np.where(ordered, rng.integers(1, 20, n), 0)
    day = np.datetime64(AS_OF.isoformat()) + np.timedelta64(12, "h")

    def days_ago(values: np.ndarray) -> np.ndarray:
        return day - values.astype("timedelta64[D]")

    def nullable(values: np.ndarray, mask: np.ndarray) -> list:
        return [v if keep else None for v, keep in zip(values.tolist(), mask.tolist(), strict=True)]

    with bulk_session(get_engine(settings)) as session:
        bulk_insert(
            session,
            Customer.__table__,
            {
                "id": ids,
                "workspace_id": ws,
                "user_id": [f"U{i}" for i in range(n)],
                "email": [f"u{i}@example.com" for i in range(n)],
                "traits": [{}] * n,
                "preferred_channels": [[]] * n,
                "first_seen_at": now,
                "last_seen_at": now,
                "created_at": now,
                "updated_at": now,
            },
        )
        spend = rng.integers(500, 50_000, n) * orders
        bulk_insert(
            session,
            CustomerFeatures.__table__,
            {
                "workspace_id": ws,
                "customer_id": ids,
                "as_of": as_of,
                "orders_count": orders,
                "first_order_at": nullable(days_ago(first), ordered),
                "last_order_at": nullable(days_ago(last), ordered),
                "days_since_first_order": nullable(first, ordered),
                "days_since_last_order": nullable(last, ordered),
                "orders_30d": rng.integers(0, 3, n),
                "orders_90d": rng.integers(0, 5, n),
                "orders_prev_90d": rng.integers(0, 5, n),
                "spend_90d_cents": rng.integers(0, 30_000, n),
                "lifetime_spend_cents": spend,
                "avg_order_cents": nullable(spend // np.maximum(orders, 1), ordered),
                "promo_orders": rng.integers(0, 3, n),
                "redeemed_ratio": nullable(rng.random(n).round(2), ordered),
                "pricing_views_7d": rng.integers(0, 4, n),
                "pricing_views_30d": rng.integers(0, 10, n),
                "events_30d": rng.integers(0, 30, n),
                "emails_sent_90d": rng.integers(0, 12, n),
                "email_opens_90d": rng.integers(0, 8, n),
                "email_clicks_90d": rng.integers(0, 3, n),
                "engagement_30d": rng.integers(0, 40, n),
                "engagement_prev_30d": rng.integers(0, 40, n),
                "engagement_trend": (rng.random(n) * 2 - 1).round(2),
                "open_cart_cents": [None] * n,
                "open_cart_updated_at": [None] * n,
                "top_category": rng.choice(CATEGORIES, n).tolist(),
                "top_category_share": rng.random(n).round(2),
                "preferred_channel": rng.choice(["email", "sms", "push"], n).tolist(),
                "computed_at": now,
            },
        )
        per = np.where(ordered, rng.integers(1, 4, n), 0)
        rows = [(i, c) for i in range(n) for c in rng.choice(5, per[i], replace=False)]
        bulk_insert(
            session,
            CustomerCategory.__table__,
            {
                "workspace_id": [workspace_id] * len(rows),
                "customer_id": [ids[i] for i, _ in rows],
                "category": [str(CATEGORIES[c]) for _, c in rows],
                "orders": [1] * len(rows),
                "spend_cents": [1000] * len(rows),
                "in_last_order": (rng.random(len(rows)) < 0.5).tolist(),
                "last_bought_at": np.full(len(rows), np.datetime64("2026-10-01T00:00:00")),
            },
        )
        since = [(AS_OF - timedelta(days=int(d))).isoformat() for d in rng.integers(0, 90, n)]
        bulk_insert(
            session,
            LifecycleStage.__table__,
            {
                "workspace_id": ws,
                "customer_id": ids,
                "stage": rng.choice(LIFECYCLE_STAGES, n).tolist(),
                "since": since,
                "previous_stage": [None] * n,
                "rule": ["bench"] * n,
            },
        )
        bulk_insert(
            session,
            PropensityScore.__table__,
            {
                "workspace_id": ws,
                "customer_id": ids,
                "as_of": as_of,
                "churn_risk": rng.random(n).round(3),
                "upgrade_propensity": rng.random(n).round(3),
                "churn_reasons": [[]] * n,
                "upgrade_reasons": [[]] * n,
                "churn_source": ["rules"] * n,
                "upgrade_source": ["rules"] * n,
            },
        )
        r, f, m = (rng.integers(1, 6, n) for _ in range(3))
        bulk_insert(
            session,
            RfmSnapshot.__table__,
            {
                "workspace_id": ws,
                "as_of": as_of,
                "customer_id": ids,
                "recency_days": nullable(last, ordered),
                "frequency": orders,
                "monetary_cents": spend,
                "r": r,
                "f": f,
                "m": m,
                "composite": 4 * r + 3 * f + 3 * m,
                "window_days": [180] * n,
                "weights": ["4,3,3"] * n,
                "computed_at": now,
            },
        )
        consent_rows = [(i, ch) for i in range(n) for ch in ("email", "sms") if rng.random() < 0.7]
        bulk_insert(
            session,
            ChannelConsent.__table__,
            {
                "workspace_id": [workspace_id] * len(consent_rows),
                "customer_id": [ids[i] for i, _ in consent_rows],
                "channel": [ch for _, ch in consent_rows],
                "status": np.where(
                    rng.random(len(consent_rows)) < 0.15, "revoked", "granted"
                ).tolist(),
                "source": ["bench"] * len(consent_rows),
                "recorded_at": np.full(len(consent_rows), np.datetime64("2026-09-01T00:00:00")),
            },
        )
    return workspace_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="mcopilot-seg-"))
    settings = Settings(data_dir=data_dir, database_url=args.database_url)
    started = time.perf_counter()
    workspace_id = load(settings, args.customers, seed=1)
    print(f"loaded {args.customers:,} customers in {time.perf_counter() - started:.1f}s")
    with session_scope(settings) as session:
        segments.ensure_seed_segments(session, workspace_id)

    started = time.perf_counter()
    first = refresh_segments(settings, "bench")
    total = time.perf_counter() - started
    for s in first:
        print(f"  {s.segment}: {s.population:,}")
    print(f"first compute of 5 segments: {total:.2f}s")

    with session_scope(settings) as session:  # a day passes: everyone's last order is older
        session.execute(
            update(CustomerFeatures)
            .where(CustomerFeatures.days_since_last_order.is_not(None))
            .values(days_since_last_order=CustomerFeatures.days_since_last_order + 7)
        )
    started = time.perf_counter()
    second = refresh_segments(settings, "bench")
    total = time.perf_counter() - started
    changed = sum(s.entered + s.exited for s in second)
    print(f"refresh of 5 segments after a change ({changed:,} entered or exited): {total:.2f}s")

    with session_scope(settings) as session:
        started = time.perf_counter()
        result = segments.preview(
            session,
            workspace_id=workspace_id,
            criteria={
                "any": [{"rfm.composite": {"gte": 38}}, {"churn.risk": {"gte": 0.8}}],
                "categories.purchased": ["Accessories", "Bundles"],
                "consent.email": "granted",
            },
            channel="email",
        )
        print(f"preview ({result.population:,} match): {time.perf_counter() - started:.2f}s")
        vip = segments.get_or_raise(session, workspace_id, "VIP")
        started = time.perf_counter()
        for i in range(100):
            segments.explain(session, vip, f"U{i * 997 % args.customers}")
        print(f"explain: {(time.perf_counter() - started) * 10:.1f} ms per customer")


if __name__ == "__main__":
    main()
