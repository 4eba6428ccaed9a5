"""Load a generated demo data set into a workspace in one transaction (bulk, set-based)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core import workspaces
from core.bulk import bulk_insert, bulk_session, indexes_and_keys_built_after
from core.db import get_engine, session_scope
from core.derived import delete_derived_rows
from core.errors import Conflict, InvalidInput
from core.models import (
    AppliedPromotion,
    Cart,
    CartItem,
    ChannelConsent,
    Customer,
    CustomerIdentity,
    EmailEvent,
    Event,
    Order,
    OrderItem,
    Product,
    Promotion,
)
from core.order_log import note_order_write
from core.settings import Settings
from scoring.demo_data import default_end, generate

# Parents before children, so foreign keys hold at every step.
LOAD_ORDER = (
    Product,
    Promotion,
    Customer,
    CustomerIdentity,
    ChannelConsent,
    Order,
    OrderItem,
    AppliedPromotion,
    Cart,
    CartItem,
    EmailEvent,
    Event,
)
# Indexes whose key order the generated rows come in (`scoring.demo_data`: orders by time,
# items, carts' items and promotions by their order or cart).
IN_KEY_ORDER = (
    "ix_orders_time",
    "ix_order_items_order",
    "ix_cart_items_cart",
    "ix_applied_promotions_order",
)
MAX_CUSTOMERS = 5_000_000
MAX_ORDERS = 50_000_000


@dataclass
class GenerateReport:
    rows: dict[str, int] = field(default_factory=dict)
    generate_seconds: float = 0.0
    load_seconds: float = 0.0


def customer_data_count(session: Session, workspace_id: str) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(Customer).where(Customer.workspace_id == workspace_id)
        )
        or 0
    )


def delete_customer_data(session: Session, workspace_id: str) -> None:
    """Every customer, order, cart, event and product of the workspace (children first), and
    every derived row that scores those customers (snapshots, features, stages, members...).
    Deleted explicitly: the derived tables have no foreign keys, and the bulk session on
    SQLite has foreign keys off, so nothing cascades."""
    delete_derived_rows(session, workspace_id)
    note_order_write(session, workspace_id, None)  # every order goes: no snapshot is a base
    for model in reversed(LOAD_ORDER):
        session.execute(delete(model).where(model.workspace_id == workspace_id))  # type: ignore[attr-defined]


def generate_into(
    settings: Settings,
    workspace_slug: str,
    *,
    customers: int,
    orders: int,
    seed: int,
    end: datetime | None = None,
    replace: bool = False,
    create_workspace: bool = False,
) -> GenerateReport:
    """Generate the demo data set and load it; refuses a workspace that has customer data
    unless `replace` (which deletes that data first, in the same transaction)."""
    if not 1 <= customers <= MAX_CUSTOMERS:
        raise InvalidInput(f"must be between 1 and {MAX_CUSTOMERS:,}", field="--customers")
    if not 0 <= orders <= MAX_ORDERS:
        raise InvalidInput(f"must be between 0 and {MAX_ORDERS:,}", field="--orders")
    report = GenerateReport()
    with session_scope(settings) as session:
        if create_workspace:
            workspace, _ = workspaces.get_or_create(
                session, workspaces.validate_slug(workspace_slug)
            )
        else:
            workspace = workspaces.get_or_raise(session, workspace_slug)
        existing = customer_data_count(session, workspace.id)
    if existing and not replace:
        raise Conflict(
            f"workspace {workspace_slug!r} already has {existing:,} customers",
            field="--workspace",
            fix="pass --replace to delete its customer data first, or use another workspace",
        )
    started = time.perf_counter()
    data = generate(workspace.id, customers, orders, seed, end or default_end())
    report.generate_seconds = time.perf_counter() - started
    started = time.perf_counter()
    # Generated rows point only at rows generated with them or at the workspace: into an
    # empty workspace nothing else can break a key, so the keys need no check over the data.
    engine = get_engine(settings)
    with bulk_session(engine, keys_trusted=not existing) as session:  # replace + load: one commit
        if existing:
            delete_customer_data(session, workspace.id)
        note_order_write(session, workspace.id, None)  # a bulk load: orders of any time
        tables = [model.__table__ for model in LOAD_ORDER]  # type: ignore[attr-defined]
        with indexes_and_keys_built_after(session, tables, in_order=IN_KEY_ORDER):
            for table in tables:
                columns = data.tables.get(table.name, {})
                report.rows[table.name] = bulk_insert(session, table, columns) if columns else 0
    report.load_seconds = time.perf_counter() - started
    return report
