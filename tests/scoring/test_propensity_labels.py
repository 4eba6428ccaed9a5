"""Labels with a time split, on SQLite and PostgreSQL: labels only from after the cutoff,
within the horizon; features only from before it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update

from core import workspaces
from core.db import session_scope
from core.models import (
    Cart,
    CartItem,
    Customer,
    EmailEvent,
    Event,
    Order,
)
from core.settings import Settings
from scoring.propensity_labels import training_select
from tests.scoring.propensity_helpers import demo

CUTOFF = date(2026, 6, 30)
SPLIT = datetime(2026, 7, 1, tzinfo=UTC)  # the midnight after the cutoff
SECOND = timedelta(seconds=1)


def build(settings: Settings) -> str:
    """Customers at the edges of the split; orders are (at, status, cents)."""
    orders = {
        "stays": [(SPLIT - SECOND, "completed", 1000), (SPLIT, "completed", 1000)],
        "leaves": [
            (datetime(2026, 1, 10, tzinfo=UTC), "paid", 1000),
            (SPLIT + timedelta(days=90), "completed", 1000),  # the first instant outside
        ],
        "late": [(SPLIT + timedelta(days=1), "completed", 1000)],
        "cancelled": [(SPLIT - timedelta(days=3), "cancelled", 1000)],
        "cancelled_after": [
            (SPLIT - timedelta(days=3), "completed", 1000),
            (SPLIT + timedelta(days=3), "cancelled", 9000),
        ],
        "up_no": [
            (SPLIT - timedelta(days=40), "completed", 1000),
            (SPLIT - timedelta(days=20), "completed", 3000),
            (SPLIT + timedelta(days=10), "completed", 2999),
        ],
        "up_yes": [
            (SPLIT - timedelta(days=40), "completed", 1000),
            (SPLIT - timedelta(days=20), "completed", 3000),
            (SPLIT + timedelta(days=10), "completed", 2999),
            (SPLIT + timedelta(days=60) - SECOND, "completed", 3000),  # 1.5x, the last instant
        ],
        "up_late": [
            (SPLIT - timedelta(days=40), "completed", 2000),
            (SPLIT + timedelta(days=60), "completed", 9000),
        ],
        "merged": [(SPLIT - timedelta(days=3), "completed", 1000)],
    }
    with session_scope(settings) as session:
        workspace, _ = workspaces.get_or_create(session, "labels")
        for name, placed in orders.items():
            session.add(
                Customer(
                    id=f"cus_{name}",
                    workspace_id=workspace.id,
                    merged_into="cus_stays" if name == "merged" else None,
                )
            )
            session.flush()
            for i, (at, status, cents) in enumerate(placed):
                session.add(
                    Order(
                        workspace_id=workspace.id,
                        id=f"o-{name}-{i}",
                        customer_id=f"cus_{name}",
                        ordered_at=at,
                        status=status,
                        total_cents=cents,
                        currency="USD",
                    )
                )
        return workspace.id


def labelled(settings: Settings, workspace_id: str, target: str, horizon: int) -> dict:
    with session_scope(settings) as session:
        statement = training_select(workspace_id, CUTOFF, target, horizon)
        return {row.customer_id: row for row in session.execute(statement)}


def check_edges(settings: Settings) -> None:
    workspace_id = build(settings)
    churn = labelled(settings, workspace_id, "churn", 90)
    upgrade = labelled(settings, workspace_id, "upgrade", 60)
    population = {"cus_stays", "cus_leaves", "cus_cancelled_after", "cus_up_no", "cus_up_yes"}
    population |= {"cus_up_late"}
    assert set(churn) == set(upgrade) == population
    assert {c: r.label for c, r in churn.items()} == {
        "cus_stays": 0,
        "cus_leaves": 1,
        "cus_cancelled_after": 1,
        "cus_up_no": 0,
        "cus_up_yes": 0,
        "cus_up_late": 0,
    }
    assert {c for c, r in upgrade.items() if r.label} == {"cus_up_yes"}
    # features count only what happened by the end of the cutoff day
    stays = churn["cus_stays"]
    assert stays.orders_count == 1 and stays.days_since_last_order == 0
    assert churn["cus_up_yes"].avg_order_cents == 2000
    assert churn["cus_cancelled_after"].orders_count == 1


def test_labels_at_the_edges_on_sqlite(settings):
    check_edges(settings)


@pytest.mark.postgres
def test_labels_at_the_edges_on_postgres(tmp_path, postgres_url):
    check_edges(Settings(data_dir=tmp_path / "d", database_url=postgres_url))


def _matrix(settings: Settings, workspace_id: str, cutoff: date, target: str) -> dict:
    with session_scope(settings) as session:
        rows = session.execute(training_select(workspace_id, cutoff, target, 60)).all()
    return {row.customer_id: tuple(row) for row in rows}


def _without_data_from(settings: Settings, workspace_id: str, since: datetime) -> None:
    """Everything from `since` on disappears: orders cancelled, events, emails, carts gone."""
    with session_scope(settings) as session:
        session.execute(
            update(Order)
            .where(Order.workspace_id == workspace_id, Order.ordered_at >= since)
            .values(status="cancelled")
        )
        session.execute(delete(Event).where(Event.timestamp >= since))
        session.execute(delete(EmailEvent).where(EmailEvent.occurred_at >= since))
        late = select(Cart.id).where(Cart.updated_at >= since).scalar_subquery()
        session.execute(delete(CartItem).where(CartItem.cart_id.in_(late)))
        session.execute(delete(Cart).where(Cart.updated_at >= since))


def check_no_leak(settings: Settings) -> None:
    workspace_id = demo(settings, "leak", customers=300, orders=5000, seed=3)
    cutoff = date(2026, 7, 31)
    split = datetime(2026, 8, 1, tzinfo=UTC)
    for target in ("churn", "upgrade"):
        before = _matrix(settings, workspace_id, cutoff, target)
        assert len(before) > 150 and 0 < sum(r[-1] for r in before.values()) < len(before)
    churn, upgrade = (_matrix(settings, workspace_id, cutoff, t) for t in ("churn", "upgrade"))
    # after the label window: nothing changes
    _without_data_from(settings, workspace_id, split + timedelta(days=60))
    assert _matrix(settings, workspace_id, cutoff, "churn") == churn
    assert _matrix(settings, workspace_id, cutoff, "upgrade") == upgrade
    # after the cutoff: the labels change, the features do not
    _without_data_from(settings, workspace_id, split)
    after = _matrix(settings, workspace_id, cutoff, "churn")
    assert {c: r[:-1] for c, r in after.items()} == {c: r[:-1] for c, r in churn.items()}
    assert all(r[-1] == 1 for r in after.values())  # nobody orders after the cutoff now


def test_the_time_split_never_leaks_on_sqlite(settings):
    check_no_leak(settings)


@pytest.mark.postgres
def test_the_time_split_never_leaks_on_postgres(tmp_path, postgres_url):
    check_no_leak(Settings(data_dir=tmp_path / "d", database_url=postgres_url))
