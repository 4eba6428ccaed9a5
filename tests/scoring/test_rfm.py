"""RFM: the SQL snapshot equals the plain-Python reference, buckets and ties as documented."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from core.db import session_scope
from core.errors import InvalidInput
from core.models import Customer, Order, RfmSnapshot
from core.settings import Settings
from scoring.demo_loader import generate_into
from scoring.rfm import RfmConfig, bucket, compute_rfm
from scoring.rfm_job import snapshot_rfm, snapshot_rows

END = datetime(2026, 11, 1, tzinfo=UTC)
AS_OF = date(2026, 10, 31)


def test_buckets_and_ties():
    assert [bucket(rank, 10) for rank in range(1, 11)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    t = datetime(2026, 10, 30, 12, tzinfo=UTC)
    rows = compute_rfm(
        ["a", "b", "c", "d", "e"],
        [
            ("a", t, "completed", 100),
            ("b", t, "completed", 100),
            ("c", t, "refunded", 900),
            ("d", datetime(2026, 11, 2, tzinfo=UTC), "completed", 50),
        ],
        AS_OF,
        RfmConfig(),
    )
    by = {r.customer_id: r for r in rows}
    assert by["a"].recency_days == 1 and by["c"].recency_days is None
    assert by["d"].frequency == 0, "orders after the as-of day do not count"
    assert by["a"].m == by["b"].m, "equal values share a bucket"
    assert by["c"].r == by["d"].r == by["e"].r == 1, "no completed order: worst recency"
    assert by["a"].composite == 4 * by["a"].r + 3 * by["a"].f + 3 * by["a"].m


def reference(settings, workspace_id, config):
    with session_scope(settings) as session:
        customers = list(
            session.scalars(
                select(Customer.id).where(
                    Customer.workspace_id == workspace_id, Customer.merged_into.is_(None)
                )
            )
        )
        orders = session.execute(
            select(Order.customer_id, Order.ordered_at, Order.status, Order.total_cents)
        ).all()
    return {r.customer_id: r for r in compute_rfm(customers, orders, AS_OF, config)}


def stored(settings):
    with session_scope(settings) as session:
        return {
            s.customer_id: (
                s.recency_days,
                s.frequency,
                s.monetary_cents,
                s.r,
                s.f,
                s.m,
                s.composite,
            )
            for s in session.scalars(select(RfmSnapshot).where(RfmSnapshot.as_of == AS_OF))
        }


def check_against_reference(settings, config):
    generate_into(
        settings, "shop", customers=600, orders=9000, seed=11, end=END, create_workspace=True
    )
    summary = snapshot_rfm(settings, "shop", AS_OF, config)
    with session_scope(settings) as session:
        workspace_id = session.scalars(select(Customer.workspace_id)).first()
    expected = reference(settings, workspace_id, config)
    got = stored(settings)
    assert summary.customers == len(expected) == len(got) == 600
    for customer_id, row in expected.items():
        assert got[customer_id] == (
            row.recency_days,
            row.frequency,
            row.monetary_cents,
            row.r,
            row.f,
            row.m,
            row.composite,
        ), customer_id
    assert summary.vip == sum(1 for r in expected.values() if r.composite >= 38)
    assert sum(summary.buckets["r"]) == 600
    return summary


@pytest.mark.parametrize("config", [RfmConfig(), RfmConfig(window_days=30, weights=(1, 2, 3))])
def test_sql_snapshot_equals_the_reference_on_sqlite(settings, config):
    check_against_reference(settings, config)


@pytest.mark.postgres
def test_sql_snapshot_equals_the_reference_on_postgres(tmp_path, postgres_url):
    check_against_reference(
        Settings(data_dir=tmp_path / "d", database_url=postgres_url), RfmConfig()
    )


def test_rerun_replaces_the_day_and_rows_name_customers(settings):
    generate_into(
        settings, "shop", customers=50, orders=400, seed=2, end=END, create_workspace=True
    )
    snapshot_rfm(settings, "shop", AS_OF)
    snapshot_rfm(settings, "shop", AS_OF)
    rows = snapshot_rows(settings, "shop", AS_OF)
    assert len(rows) == 50 and rows[0].customer_id.startswith("C")
    composites = [r.composite for r in rows]
    assert composites == sorted(composites, reverse=True)


@pytest.mark.parametrize(
    ("window", "weights", "field"),
    [(0, (4, 3, 3), "--window-days"), (30, (0, 0, 0), "--weights"), (30, (1, -1, 1), "--weights")],
)
def test_config_is_validated(window, weights, field):
    with pytest.raises(InvalidInput) as caught:
        RfmConfig(window_days=window, weights=weights)
    assert caught.value.field == field
