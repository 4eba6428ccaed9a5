"""Incremental RFM: day after day, with new, late, changed, refunded and moved orders, the
snapshot started from the day before equals the one from all orders and the plain-Python
reference, and it is started from the day before exactly when that is safe."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from core import workspaces
from core.db import session_scope
from core.models import Customer, Order, RfmRun, RfmSnapshot
from core.settings import Settings
from scoring.demo_loader import generate_into
from scoring.event_import import import_events
from scoring.order_import import import_orders
from scoring.rfm import RfmConfig, compute_rfm, rfm_select
from scoring.rfm_job import write_snapshot
from scoring.rfm_plan import BaseRun, full_reason

CONFIG = RfmConfig(window_days=30)  # short, so orders leave the window every day
END = datetime(2026, 10, 2, tzinfo=UTC)
DAY0 = date(2026, 10, 1)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shop(request, tmp_path) -> Settings:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    settings = Settings(data_dir=tmp_path / "data", database_url=url)
    generate_into(
        settings, "shop", customers=150, orders=2500, seed=5, end=END, create_workspace=True
    )
    return settings


def at(day: date, hour: int = 12) -> str:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC).isoformat()


def user_ids(settings: Settings) -> list[str]:
    with session_scope(settings) as session:
        return list(
            session.scalars(
                select(Customer.user_id).where(Customer.user_id.is_not(None)).order_by(Customer.id)
            )
        )


def load_orders(settings: Settings, path: Path, rows: list[tuple[str, str, str, str, str]]):
    lines = ["order_id,customer_id,ordered_at,total,status"] + [",".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    report = import_orders(settings, "shop", path)
    assert not report.errors


def load_events(settings: Settings, path: Path, messages: list[dict]) -> None:
    path.write_text("\n".join(json.dumps(m) for m in messages) + "\n")
    report = import_events(settings, "shop", path)
    assert not report.errors


def track(message_id: str, event: str, when: str, properties: dict, **who: str) -> dict:
    return {
        "type": "track",
        "messageId": message_id,
        "event": event,
        "timestamp": when,
        "properties": properties,
        **who,
    }


def snapshot_and_check(settings: Settings, day: date) -> bool:
    """Store the day's snapshot as the job does; check it against the full compute and the
    reference; whether it was started from the day before."""
    with session_scope(settings) as session:
        workspace_id = workspaces.get_or_raise(session, "shop").id
        write_snapshot(session, workspace_id, day, CONFIG)
    with session_scope(settings) as session:
        stored = {
            s.customer_id: (s.recency_days, s.frequency, s.monetary_cents, s.r, s.f, s.m)
            for s in session.scalars(
                select(RfmSnapshot).where(
                    RfmSnapshot.workspace_id == workspace_id, RfmSnapshot.as_of == day
                )
            )
        }
        full = {
            row.customer_id: (
                row.recency_days,
                row.frequency,
                row.monetary_cents,
                row.r,
                row.f,
                row.m,
            )
            for row in session.execute(rfm_select(workspace_id, day, CONFIG))
        }
        active = list(
            session.scalars(
                select(Customer.id).where(
                    Customer.workspace_id == workspace_id, Customer.merged_into.is_(None)
                )
            )
        )
        orders = session.execute(
            select(Order.customer_id, Order.ordered_at, Order.status, Order.total_cents).where(
                Order.workspace_id == workspace_id
            )
        ).all()
        run = session.get(RfmRun, (workspace_id, day))
    reference = {
        r.customer_id: (r.recency_days, r.frequency, r.monetary_cents, r.r, r.f, r.m)
        for r in compute_rfm(active, orders, day, CONFIG)
    }
    assert stored == full == reference, f"{day}: the stored snapshot differs"
    assert run is not None
    return run.incremental


def test_incremental_snapshots_equal_the_full_compute_day_after_day(shop, tmp_path):
    users = user_ids(shop)
    days = [DAY0 + timedelta(days=i) for i in range(10)]
    assert snapshot_and_check(shop, days[0]) is False, "no earlier snapshot"

    # day 1: new orders of known customers and of a customer the import creates
    load_orders(
        shop,
        tmp_path / "d1.csv",
        [
            ("n1", users[0], at(days[1]), "40.00", "completed"),
            ("n2", users[1], at(days[1], 9), "15.50", "paid"),
            ("n3", "brand-new", at(days[1]), "99.00", "completed"),
            ("n4", users[2], at(days[1]), "70.00", "pending"),
        ],
    )
    assert snapshot_and_check(shop, days[1]) is True

    # day 2: an order by event, a profile with no order, the pending order completes today
    load_events(
        shop,
        tmp_path / "d2.jsonl",
        [
            track(
                "e1",
                "Order Completed",
                at(days[2]),
                {"order_id": "n5", "total": 12},
                userId=users[3],
            ),
            {
                "type": "identify",
                "messageId": "e2",
                "userId": "nobody-yet",
                "timestamp": at(days[2]),
            },
        ],
    )
    load_orders(shop, tmp_path / "d2.csv", [("n4", users[2], at(days[2]), "70.00", "completed")])
    assert snapshot_and_check(shop, days[2]) is False, "n4 moved from day 1, before the base's end"

    # day 3: nothing new: the window only slides
    assert snapshot_and_check(shop, days[3]) is True

    # day 4: a late order, dated inside the day-3 window
    load_orders(shop, tmp_path / "d4.csv", [("late", users[4], at(days[1]), "25.00", "completed")])
    assert snapshot_and_check(shop, days[4]) is False

    # day 5: an order placed and refunded the same day, another one kept
    load_events(
        shop,
        tmp_path / "d5.jsonl",
        [
            track(
                "e3",
                "Order Completed",
                at(days[5], 8),
                {"order_id": "r1", "total": 300},
                userId=users[5],
            ),
            track("e4", "Order Refunded", at(days[5], 10), {"order_id": "r1"}, userId=users[5]),
            track(
                "e5",
                "Order Completed",
                at(days[5], 11),
                {"order_id": "k1", "total": 8},
                userId=users[6],
            ),
        ],
    )
    assert snapshot_and_check(shop, days[5]) is True

    # day 6: an order of day 1 is refunded
    load_events(
        shop,
        tmp_path / "d6.jsonl",
        [track("e6", "Order Refunded", at(days[6]), {"order_id": "n1"}, userId=users[0])],
    )
    assert snapshot_and_check(shop, days[6]) is False

    # day 7: an anonymous buyer today, identified as a known customer today: orders move
    load_events(
        shop,
        tmp_path / "d7.jsonl",
        [
            track(
                "e7",
                "Order Completed",
                at(days[7], 9),
                {"order_id": "a1", "total": 45},
                anonymousId="anon-7",
            ),
            {
                "type": "identify",
                "messageId": "e8",
                "userId": users[7],
                "anonymousId": "anon-7",
                "timestamp": at(days[7], 10),
            },
        ],
    )
    assert snapshot_and_check(shop, days[7]) is True, "the moved orders are all from today"

    # day 8: an anonymous profile with day-7 orders merges into a known one
    load_events(
        shop,
        tmp_path / "d8.jsonl",
        [
            track(
                "e9",
                "Order Completed",
                at(days[7], 20),
                {"order_id": "a2", "total": 5},
                anonymousId="anon-8",
            ),
        ],
    )
    assert snapshot_and_check(shop, days[8]) is False, "a day-7 order arrived on day 8"
    load_events(
        shop,
        tmp_path / "d9.jsonl",
        [
            {
                "type": "identify",
                "messageId": "e10",
                "userId": users[8],
                "anonymousId": "anon-8",
                "timestamp": at(days[9]),
            }
        ],
    )
    assert snapshot_and_check(shop, days[9]) is False, "the merge moved a day-7 order"


def test_replacing_a_day_or_skipping_one_stays_exact(shop, tmp_path):
    users = user_ids(shop)
    snapshot_and_check(shop, DAY0)
    snapshot_and_check(shop, DAY0)  # replacing the day: from all orders again
    load_orders(
        shop,
        tmp_path / "a.csv",
        [("s1", users[0], at(DAY0 + timedelta(days=2)), "9.99", "completed")],
    )
    assert snapshot_and_check(shop, DAY0 + timedelta(days=3)) is True, "two days later"
    with session_scope(shop) as session:  # another window has no base
        workspace_id = workspaces.get_or_raise(session, "shop").id
        write_snapshot(session, workspace_id, DAY0 + timedelta(days=4), RfmConfig(window_days=31))
        assert session.get(RfmRun, (workspace_id, DAY0 + timedelta(days=4))).incremental is False


def test_the_plan_names_why_it_starts_from_all_orders():
    day = date(2026, 10, 10)
    base = BaseRun(date(2026, 10, 9), 30, "4,3,3", 7)
    assert full_reason(day, CONFIG, base, 0) is None
    assert full_reason(day, CONFIG, None, 0) == "no earlier snapshot"
    assert "window or weights" in (full_reason(day, RfmConfig(), base, 0) or "")
    assert "window or weights" in (full_reason(day, RfmConfig(30, (1, 1, 1)), base, 0) or "")
    assert "within 31 days" in (full_reason(date(2026, 11, 10), CONFIG, base, 0) or "")
    assert "2 order writes" in (full_reason(day, CONFIG, base, 2) or "")
