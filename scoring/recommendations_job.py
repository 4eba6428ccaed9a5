"""Recommendations from the database: catalog statistics, a daily cache per product context,
and a customer's exclusions (cart, recent purchases)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.errors import NotFound
from core.models import (
    COMPLETED_STATUSES,
    Cart,
    CartItem,
    Order,
    OrderItem,
    Product,
    RecommendationCacheEntry,
)
from core.sql import dialect_insert
from scoring.recommendations import (
    Catalog,
    CatalogProduct,
    Recommendation,
    candidates,
    for_customer,
)
from scoring.rfm import window_bounds

CATALOG_KEY = "catalog"
SALES_WINDOW_DAYS = 90
DEFAULT_EXCLUDE_DAYS = 30


@dataclass(frozen=True, slots=True)
class CustomerRecommendations:
    customer_id: str
    context: str
    items: list[Recommendation]
    cached: bool


def catalog_stats(session: Session, workspace_id: str, day: date) -> Catalog:
    """Units sold per product in the 90 days to the day, and category pairs bought together."""
    start, end = window_bounds(day, SALES_WINDOW_DAYS)
    recent = and_(
        Order.workspace_id == workspace_id,
        Order.status.in_(COMPLETED_STATUSES),
        Order.ordered_at >= start,
        Order.ordered_at < end,
    )
    units = (
        select(OrderItem.product_id, func.sum(OrderItem.quantity).label("units"))
        .join(
            Order,
            and_(Order.workspace_id == OrderItem.workspace_id, Order.id == OrderItem.order_id),
        )
        .where(recent)
        .group_by(OrderItem.product_id)
        .subquery()
    )
    products = [
        CatalogProduct(pid, name, category, int(sold or 0))
        for pid, name, category, sold in session.execute(
            select(Product.id, Product.name, Product.category, units.c.units)
            .outerjoin(units, units.c.product_id == Product.id)
            .where(Product.workspace_id == workspace_id)
        )
    ]
    order_categories = (
        select(OrderItem.order_id, Product.category)
        .join(
            Order,
            and_(Order.workspace_id == OrderItem.workspace_id, Order.id == OrderItem.order_id),
        )
        .join(
            Product,
            and_(
                Product.workspace_id == OrderItem.workspace_id, Product.id == OrderItem.product_id
            ),
        )
        .where(recent)
        .distinct()
        .subquery()
    )
    a, b = order_categories.alias("a"), order_categories.alias("b")
    together: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for first, second, orders in session.execute(
        select(a.c.category, b.c.category, func.count())
        .join(b, and_(a.c.order_id == b.c.order_id, a.c.category != b.c.category))
        .group_by(a.c.category, b.c.category)
        .order_by(a.c.category, func.count().desc(), b.c.category)
    ):
        together[first].append((second, int(orders)))
    return Catalog(products, dict(together))


def cached(
    session: Session, workspace_id: str, key: str, day: date, compute: Callable[[], Any]
) -> tuple[Any, bool]:
    """The day's cached value for the key, or `compute()` stored for the rest of the day.
    Entries of earlier days are dropped when a new one is written."""
    entry = session.get(RecommendationCacheEntry, (workspace_id, key, day))
    if entry is not None:
        entry.hits += 1
        return entry.items, True
    value = compute()
    session.execute(
        delete(RecommendationCacheEntry).where(
            RecommendationCacheEntry.workspace_id == workspace_id,
            RecommendationCacheEntry.day < day,
        )
    )
    session.execute(
        dialect_insert(session)(RecommendationCacheEntry)
        .values(
            workspace_id=workspace_id,
            context_key=key,
            day=day,
            items=value,
            hits=0,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing()
    )
    return value, False


def _exclusions(session: Session, workspace_id: str, customer_id: str, since: datetime) -> set[str]:
    in_cart = (
        select(CartItem.product_id)
        .join(Cart, and_(Cart.workspace_id == CartItem.workspace_id, Cart.id == CartItem.cart_id))
        .where(
            Cart.workspace_id == workspace_id,
            Cart.customer_id == customer_id,
            Cart.status == "open",
        )
    )
    bought = (
        select(OrderItem.product_id)
        .join(
            Order,
            and_(Order.workspace_id == OrderItem.workspace_id, Order.id == OrderItem.order_id),
        )
        .where(
            Order.workspace_id == workspace_id,
            Order.customer_id == customer_id,
            Order.status.in_(COMPLETED_STATUSES),
            Order.ordered_at >= since,
        )
    )
    return set(session.scalars(in_cart.union(bought)))


def _last_product(session: Session, workspace_id: str, customer_id: str) -> str | None:
    return session.scalar(
        select(OrderItem.product_id)
        .join(
            Order,
            and_(Order.workspace_id == OrderItem.workspace_id, Order.id == OrderItem.order_id),
        )
        .where(
            Order.workspace_id == workspace_id,
            Order.customer_id == customer_id,
            Order.status.in_(COMPLETED_STATUSES),
        )
        .order_by(Order.ordered_at.desc(), OrderItem.id)
        .limit(1)
    )


def recommend(
    session: Session,
    workspace_id: str,
    customer_id: str,
    *,
    product_id: str | None = None,
    k: int = 5,
    exclude_days: int = DEFAULT_EXCLUDE_DAYS,
    now: datetime | None = None,
) -> CustomerRecommendations:
    """Up to k products for the customer, for a context product (default: the one they
    bought last), none of them in their cart or bought in the last `exclude_days` days."""
    now = now or utcnow()
    day = now.date()
    if product_id is not None and session.get(Product, (workspace_id, product_id)) is None:
        raise NotFound(f"no product {product_id!r} in this workspace", field="--product")
    context = product_id or _last_product(session, workspace_id, customer_id)
    key = f"product:{context}" if context else "top"
    catalog_json, _ = cached(
        session,
        workspace_id,
        CATALOG_KEY,
        day,
        lambda: catalog_stats(session, workspace_id, day).to_json(),
    )
    catalog = Catalog.from_json(catalog_json)
    items, hit = cached(
        session,
        workspace_id,
        key,
        day,
        lambda: [asdict(r) for r in candidates(catalog, product_id=context)],
    )
    pool = [Recommendation(**item) for item in items]
    excluded = _exclusions(session, workspace_id, customer_id, now - timedelta(days=exclude_days))
    return CustomerRecommendations(customer_id, key, for_customer(pool, excluded, k), hit)
