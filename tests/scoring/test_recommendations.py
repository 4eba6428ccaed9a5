"""Recommendations: same category, complementary and best sellers with their reasons; cart and
recent purchases excluded; one cached candidate list per product context and day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from core.db import session_scope
from core.errors import NotFound
from core.models import (
    Cart,
    CartItem,
    Customer,
    Order,
    OrderItem,
    Product,
    RecommendationCacheEntry,
)
from core.settings import Settings
from scoring.recommendations import Catalog, CatalogProduct, candidates, for_customer
from scoring.recommendations_job import recommend
from tests.scoring.feature_rows import workspace_id

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)

CATALOG = Catalog(
    [
        CatalogProduct("P1", "Printer one", "Printers", 50),
        CatalogProduct("P2", "Printer two", "Printers", 40),
        CatalogProduct("P3", "Printer three", "Printers", 5),
        CatalogProduct("S1", "Paper", "Supplies", 90),
        CatalogProduct("S2", "Ink", "Supplies", 70),
        CatalogProduct("A1", "Cable", "Accessories", 30),
        CatalogProduct("B1", "Bundle", "Bundles", 100),
    ],
    {"Printers": [("Supplies", 12), ("Accessories", 4)]},
)


def test_candidates_mix_same_category_complementary_and_best_sellers():
    got = candidates(CATALOG, product_id="P1")
    assert [(r.product_id, r.reason) for r in got] == [
        ("P2", "same_category"),
        ("P3", "same_category"),
        ("S1", "complementary"),
        ("A1", "complementary"),
        ("S2", "complementary"),
        ("B1", "top_seller"),
    ]
    assert got[2].why == "Often bought with Printers: 12 orders together in 90 days"
    assert got[0].why == "Top seller in Printers"
    assert [r.product_id for r in candidates(CATALOG)][:2] == ["B1", "S1"]
    assert [r.product_id for r in for_customer(got, {"P2", "S1"}, k=3)] == ["P3", "A1", "S2"]


def _shop(session) -> str:
    ws = workspace_id(session)
    products = [("P1", "Printers"), ("P2", "Printers"), ("S1", "Supplies"), ("S2", "Supplies")]
    for pid, category in products:
        session.add(Product(workspace_id=ws, id=pid, name=pid, category=category, price_cents=1000))
    for cid in ("ann", "bob"):
        session.add(Customer(id=cid, workspace_id=ws, user_id=cid.upper()))
    session.flush()
    baskets = [  # (order, customer, days ago, products)
        ("o1", "bob", 40, ["P1", "S1"]),
        ("o2", "bob", 30, ["P1", "S1"]),
        ("o3", "bob", 20, ["P2", "S2"]),
        ("o4", "bob", 10, ["S1"]),
        ("o5", "ann", 50, ["P1"]),
        ("o6", "ann", 5, ["S2"]),
    ]
    for order_id, customer, days, items in baskets:
        session.add(
            Order(
                workspace_id=ws,
                id=order_id,
                customer_id=customer,
                ordered_at=NOW - timedelta(days=days),
                status="completed",
                total_cents=1000 * len(items),
                currency="USD",
            )
        )
        session.flush()
        for pid in items:
            session.add(
                OrderItem(
                    workspace_id=ws,
                    order_id=order_id,
                    product_id=pid,
                    quantity=1,
                    unit_price_cents=1000,
                )
            )
    session.add(
        Cart(
            workspace_id=ws,
            id="k1",
            customer_id="ann",
            status="open",
            created_at=NOW,
            updated_at=NOW,
            activity_at=NOW,
            total_cents=1000,
        )
    )
    session.flush()
    session.add(
        CartItem(workspace_id=ws, cart_id="k1", product_id="P2", quantity=1, unit_price_cents=1000)
    )
    session.flush()
    return ws


def check(settings: Settings) -> None:
    with session_scope(settings) as session:
        ws = _shop(session)
    with session_scope(settings) as session:
        # ann bought S2 last (5 days ago): excluded, as is P2 in her cart.
        first = recommend(session, ws, "ann", now=NOW)
        assert first.context == "product:S2" and not first.cached
        assert [r.product_id for r in first.items] == ["S1", "P1"]
        assert first.items[0].why == "Top seller in Supplies"
        assert first.items[1].reason == "complementary"
        again = recommend(session, ws, "ann", now=NOW)
        assert again.cached and again.items == first.items
        with_product = recommend(session, ws, "bob", product_id="P1", now=NOW, exclude_days=15)
        assert [r.product_id for r in with_product.items] == ["P2", "S2"]
        assert (
            with_product.items[1].why == "Often bought with Printers: 3 orders together in 90 days"
        )
        with pytest.raises(NotFound):
            recommend(session, ws, "bob", product_id="nope", now=NOW)
    with session_scope(settings) as session:
        recommend(session, ws, "ann", now=NOW + timedelta(days=1))
        days = session.scalars(select(RecommendationCacheEntry.day).distinct()).all()
        assert days == [(NOW + timedelta(days=1)).date()], "yesterday's cache expired"


def test_recommendations_and_cache_on_sqlite(settings):
    check(settings)


@pytest.mark.postgres
def test_recommendations_and_cache_on_postgres(tmp_path, postgres_url):
    check(Settings(data_dir=tmp_path / "d", database_url=postgres_url))
