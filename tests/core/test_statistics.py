"""Planner statistics: stale tables are analyzed on PostgreSQL, each table once per
transaction on SQLite."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import insert, text

from core import workspaces
from core.db import session_scope
from core.models import Customer
from core.settings import Settings
from core.statistics import analyze_stale, is_stale


@pytest.mark.parametrize(
    ("state", "stale"),
    [
        ((-1, 0, 0, 0, 0), False),  # never analyzed but empty
        ((-1, 0, 3, 100, 100), True),  # never analyzed, has rows
        ((0, 0, 200, 0, 20_000), True),  # analyzed while empty (mid-load), grew since
        ((20_000, 200, 240, 0, 20_000), False),  # grew by a fifth exactly (+8 pages slack)
        ((20_000, 200, 249, 0, 20_000), True),
        ((20_000, 200, 200, 4_000, 20_000), False),
        ((20_000, 200, 200, 4_501, 20_000), True),  # a fifth of the rows changed in place
    ],
)
def test_is_stale(state, stale):
    assert is_stale(*state) is stale


def _load_customers(settings: Settings, count: int) -> None:
    with session_scope(settings) as session:
        workspace = workspaces.create(session, "stats")
        session.execute(
            insert(Customer),
            [
                {
                    "id": f"c{i}",
                    "workspace_id": workspace.id,
                    "traits": {},
                    "preferred_channels": [],
                }
                for i in range(count)
            ],
        )


@pytest.mark.postgres
def _await_counted_inserts(settings: Settings, table: str, rows: int) -> None:
    """Wait until the activity counters hold the load's inserts: a backend reports them up to
    a second after its transaction ends, and a report landing after our ANALYZE would make
    the table look modified again."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with session_scope(settings) as session:
            counted = session.scalar(
                text(
                    "SELECT n_mod_since_analyze FROM pg_stat_user_tables "
                    "WHERE relid = CAST(:t AS regclass)"
                ),
                {"t": table},
            )
        if (counted or 0) >= rows:
            return
        time.sleep(0.2)
    raise AssertionError(f"the inserts into {table} were not counted within 10 s")


def test_stale_tables_are_analyzed_once_on_postgres(tmp_path, postgres_url):
    settings = Settings(data_dir=tmp_path, database_url=postgres_url)
    with session_scope(settings) as session:  # autovacuum must not analyze it first
        session.execute(text("ALTER TABLE customers SET (autovacuum_enabled = false)"))
    _load_customers(settings, 3000)
    _await_counted_inserts(settings, "customers", 3000)
    with session_scope(settings) as session:
        assert (
            session.scalar(text("SELECT reltuples FROM pg_class WHERE oid = 'customers'::regclass"))
            < 0
        )
        assert analyze_stale(session, ["customers", "orders", "no_such_table"]) == ["customers"]
        assert session.scalar(
            text("SELECT reltuples FROM pg_class WHERE oid = 'customers'::regclass")
        ) == pytest.approx(3000, rel=0.05)
    with session_scope(settings) as session:
        assert analyze_stale(session, ["customers"]) == []


def test_sqlite_analyzes_each_table_once_per_transaction(settings):
    _load_customers(settings, 10)
    with session_scope(settings) as session:
        assert analyze_stale(session, ["customers"]) == ["customers"]
        assert analyze_stale(session, ["customers", "orders"]) == ["orders"]
        rows = session.execute(text("SELECT tbl, stat FROM sqlite_stat1")).all()
        assert any(table == "customers" and stat.startswith("10") for table, stat in rows)
    with session_scope(settings) as session:
        assert analyze_stale(session, ["customers"]) == ["customers"]
