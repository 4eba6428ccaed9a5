"""Bulk loading: every value comes back as written, and keys and indexes are whole afterwards."""

from __future__ import annotations

from datetime import UTC

import numpy as np
import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError

from core import workspaces
from core.bulk import bulk_insert, bulk_session, indexes_and_keys_built_after
from core.db import get_engine, session_scope
from core.models import Customer, Event, Order, OrderItem, Promotion
from core.settings import Settings

ROWS = 1234  # not a multiple of the rows per SQLite statement, so the last one is shorter


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request, tmp_path) -> Settings:
    if request.param == "sqlite":
        return Settings(data_dir=tmp_path / "data")
    return Settings(
        data_dir=tmp_path / "data", database_url=request.getfixturevalue("postgres_url")
    )


def customer(settings: Settings) -> tuple[str, str]:
    with session_scope(settings) as session:
        workspace = workspaces.create(session, "acme")
        session.add(Customer(id="cus_1", workspace_id=workspace.id, user_id="u1"))
        return workspace.id, "cus_1"


def test_every_value_comes_back_as_written(backend):
    workspace_id, customer_id = customer(backend)
    names = ["tab\there", "new\nline", "back\\slash", "cr\rx", "it's", "ünï", None]
    at = np.datetime64("2026-01-02T03:04:05.123456") + np.arange(ROWS) * np.timedelta64(61, "s")
    columns = {
        "workspace_id": [workspace_id] * ROWS,
        "message_id": [f"m{i}" for i in range(ROWS)],
        "type": ["track"] * ROWS,
        "name": [names[i % len(names)] for i in range(ROWS)],
        "customer_id": [customer_id] * ROWS,
        "user_id": [None if i % 3 else f"u{i}" for i in range(ROWS)],
        "anonymous_id": np.array([f"a\t{i}" for i in range(ROWS)]),
        "properties": [{"i": i, "text": "x\ny"} for i in range(ROWS)],
        "timestamp": at,
        "received_at": at,
    }
    with bulk_session(get_engine(backend)) as session:
        assert bulk_insert(session, Event.__table__, columns) == ROWS
    with session_scope(backend) as session:
        events = session.scalars(select(Event).order_by(Event.timestamp)).all()
    assert [e.message_id for e in events] == columns["message_id"]
    assert [e.name for e in events] == columns["name"]
    assert [e.user_id for e in events] == columns["user_id"]
    assert [e.anonymous_id for e in events] == columns["anonymous_id"].tolist()
    assert [e.properties for e in events] == columns["properties"]
    expected = [t.item().replace(tzinfo=UTC) for t in at.astype("datetime64[us]")]
    assert [e.timestamp for e in events] == expected == [e.received_at for e in events]
    assert {(e.workspace_id, e.type, e.customer_id) for e in events} == {
        (workspace_id, "track", customer_id)
    }


def test_a_single_row_of_the_same_text_everywhere_loads(backend):
    workspace_id, _ = customer(backend)
    with bulk_session(get_engine(backend)) as session:
        columns = {"workspace_id": [workspace_id], "code": ["X"], "kind": ["percent"]}
        bulk_insert(session, Promotion.__table__, columns | {"value": [5], "category": [None]})
    with session_scope(backend) as session:
        assert session.scalars(select(Promotion.code)).all() == ["X"]


def schema_of(settings: Settings) -> dict[str, object]:
    inspector = inspect(get_engine(settings))
    return {
        table: (
            inspector.get_pk_constraint(table)["name"],
            sorted(key["name"] for key in inspector.get_foreign_keys(table)),
            sorted(index["name"] for index in inspector.get_indexes(table)),
        )
        for table in ("customers", "orders", "order_items", "rfm_snapshots")
    }


@pytest.mark.postgres
def test_postgres_keys_and_indexes_are_back_after_a_load_and_after_a_failure(
    tmp_path, postgres_url
):
    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_url)
    workspace_id, customer_id = customer(settings)
    before = schema_of(settings)
    tables = [Customer.__table__, Order.__table__, OrderItem.__table__]
    order = {
        "workspace_id": [workspace_id],
        "customer_id": [customer_id],
        "ordered_at": np.array(["2026-01-01"], dtype="datetime64[s]"),
        "status": ["paid"],
        "total_cents": [100],
        "currency": ["USD"],
    }
    item = {
        "workspace_id": [workspace_id],
        "product_id": ["p"],
        "quantity": [1],
        "unit_price_cents": [5],
    }
    with (
        bulk_session(get_engine(settings)) as session,
        indexes_and_keys_built_after(session, tables),
    ):
        bulk_insert(session, Order.__table__, {"id": ["o1"], **order})
        bulk_insert(session, OrderItem.__table__, {"order_id": ["o1"], **item})
    assert schema_of(settings) == before

    with (
        pytest.raises(IntegrityError, match="fk_order_items_workspace_id_orders"),
        bulk_session(get_engine(settings)) as session,
        indexes_and_keys_built_after(session, tables),
    ):
        bulk_insert(session, Order.__table__, {"id": ["o2"], **order})
        bulk_insert(session, OrderItem.__table__, {"order_id": ["o-missing"], **item})
    assert schema_of(settings) == before
    with session_scope(settings) as session:
        assert session.scalars(select(Order.id)).all() == ["o1"]
        # The load drew its ids from the sequence, so an ordinary insert gets a fresh one.
        session.add(
            OrderItem(
                workspace_id=workspace_id,
                order_id="o1",
                product_id="q",
                quantity=1,
                unit_price_cents=1,
            )
        )
        session.flush()
        assert session.scalar(select(func.count()).select_from(OrderItem)) == 2


def _journal_mode(session) -> str:
    return str(session.connection().exec_driver_sql("PRAGMA journal_mode").scalar()).lower()


def _load_one_customer(settings: Settings, workspace_id: str, customer_id: str) -> str:
    """A bulk load of one customer; the journal mode it ran in."""
    with bulk_session(get_engine(settings)) as session:
        mode = _journal_mode(session)
        columns = {"id": [customer_id], "workspace_id": [workspace_id], "user_id": [None]}
        now = np.array(["2026-01-01T00:00:00"], dtype="datetime64[s]")
        timestamps = {"first_seen_at": now, "last_seen_at": now, "created_at": now}
        extra = {"traits": [{}], "preferred_channels": [[]], "updated_at": now}
        bulk_insert(session, Customer.__table__, columns | timestamps | extra)
    return mode


def test_sqlite_loads_alone_with_a_rollback_journal_and_goes_back_to_wal(settings):
    workspace_id, _ = customer(settings)
    assert _load_one_customer(settings, workspace_id, "cus_2") == "delete"
    with session_scope(settings) as session:
        assert _journal_mode(session) == "wal"
        assert session.scalar(select(func.count()).select_from(Customer)) == 2


def test_sqlite_load_beside_an_open_connection_stays_in_wal_without_waiting(settings):
    import sqlite3

    workspace_id, _ = customer(settings)
    reader = sqlite3.connect(settings.data_dir / "mcopilot.db")
    try:
        reader.execute("SELECT count(*) FROM customers").fetchall()
        assert _load_one_customer(settings, workspace_id, "cus_2") == "wal"
        assert reader.execute("SELECT count(*) FROM customers").fetchone() == (2,)
    finally:
        reader.close()


def test_sqlite_failed_load_with_a_rollback_journal_leaves_nothing(settings):
    workspace_id, _ = customer(settings)
    with pytest.raises(IntegrityError), bulk_session(get_engine(settings)) as session:
        assert _journal_mode(session) == "delete"
        bulk_insert(session, Event.__table__, _events(workspace_id, "cus_missing"))
    with session_scope(settings) as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 0
        assert _journal_mode(session) == "wal"


def _events(workspace_id: str, customer_id: str) -> dict[str, object]:
    at = np.datetime64("2026-01-02T03:04:05") + np.arange(ROWS) * np.timedelta64(1, "s")
    return {
        "workspace_id": [workspace_id] * ROWS,
        "message_id": [f"m{i}" for i in range(ROWS)],
        "type": ["track"] * ROWS,
        "name": ["x"] * ROWS,
        "customer_id": [customer_id] * ROWS,
        "user_id": [None] * ROWS,
        "anonymous_id": [None] * ROWS,
        "properties": [{}] * ROWS,
        "timestamp": at,
        "received_at": at,
    }
