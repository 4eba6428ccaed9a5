"""The order watermark: every order writer notes its write, one number per transaction, taken
in commit order."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from core import workspaces
from core.db import session_factory, session_scope
from core.models import OrderWrite
from core.order_log import current_seq, note_order_write, writes_before
from core.settings import Settings

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "retrieval", "scoring", "guardrails", "journeys", "agents", "api", "evals")
WRITE_CALLS = {"insert", "update", "delete", "bulk_insert", "get", "merge", "add"}


def _writes_orders(tree: ast.AST) -> bool:
    """Whether the module builds, inserts, updates, deletes or loads Order rows: Order(...),
    insert/update/delete(Order), dialect_insert(session)(Order), session.get(Order, ...), or
    Order named in a tuple or list of models (the tables a loop writes)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "Order":
                return True
            first = node.args[0] if node.args else None
            if not (isinstance(first, ast.Name) and first.id == "Order"):
                continue
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name in WRITE_CALLS or isinstance(func, ast.Call):
                return True
        elif isinstance(node, ast.Tuple | ast.List) and any(
            isinstance(e, ast.Name) and e.id == "Order" for e in node.elts
        ):
            return True
    return False


def order_writers() -> dict[str, bool]:
    """Every module that writes orders, and whether it calls note_order_write."""
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            relative = path.relative_to(REPO).as_posix()
            if relative.startswith(("core/models/", "core/migrations/")):
                continue
            source = path.read_text(encoding="utf-8")
            if _writes_orders(ast.parse(source)):
                found[relative] = "note_order_write(" in source
    return found


def test_every_module_that_writes_orders_notes_the_write():
    writers = order_writers()
    # the scan finds the writers known today, so it cannot pass by finding nothing
    assert {
        "scoring/order_import.py",
        "scoring/event_import.py",
        "scoring/identity.py",
        "scoring/demo_loader.py",
    } <= set(writers)
    missing = sorted(module for module, notes in writers.items() if not notes)
    assert not missing, f"these write orders without core.order_log.note_order_write: {missing}"


def test_the_scan_sees_each_kind_of_write():
    for source in (
        "Order(workspace_id='w', id='o')",
        "session.execute(update(Order).values(status='paid'))",
        "session.execute(dialect_insert(session)(Order), rows)",
        "for model in (Event, Order):\n    pass",
        "order = session.get(Order, key)",
    ):
        assert _writes_orders(ast.parse(source)), source
    assert not _writes_orders(ast.parse("select(Order.id).where(Order.status == 'paid')"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request, tmp_path) -> Settings:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    settings = Settings(data_dir=tmp_path / "data", database_url=url)
    with session_scope(settings) as session:
        workspaces.create(session, "shop")
    return settings


def _ws(session) -> str:
    return workspaces.get_or_raise(session, "shop").id


def test_one_number_per_transaction_and_the_earliest_time_kept(db):
    early, late = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)
    with session_scope(db) as session:
        ws = _ws(session)
        assert current_seq(session, ws) == 0
        assert note_order_write(session, ws, late) == 1
        assert note_order_write(session, ws, early) == 1, "the same transaction"
    with session_scope(db) as session:
        assert note_order_write(session, ws, late) == 2
        assert current_seq(session, ws) == 2
        assert note_order_write(session, ws, late) == 3, "a write after a read is numbered anew"
        note_order_write(session, ws, None)
    with session_scope(db) as session:
        logged = session.execute(
            select(OrderWrite.seq, OrderWrite.earliest_ordered_at).order_by(OrderWrite.seq)
        ).all()
        assert logged == [(1, early), (2, late), (3, None)]
        assert writes_before(session, ws, 0, datetime(2026, 3, 1, tzinfo=UTC)) == 2  # 1 and 3
        assert writes_before(session, ws, 1, datetime(2026, 3, 1, tzinfo=UTC)) == 1
        assert writes_before(session, ws, 3, datetime(2027, 1, 1, tzinfo=UTC)) == 0


@pytest.mark.postgres
def test_writers_take_their_numbers_one_after_another(postgres_url, tmp_path):
    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_url)
    with session_scope(settings) as session:
        ws = workspaces.create(session, "shop").id
        note_order_write(session, ws, None)
    first, second = session_factory(settings)(), session_factory(settings)()
    try:
        assert note_order_write(first, ws, None) == 2
        second.execute(text("SET LOCAL lock_timeout = '300ms'"))
        with pytest.raises(OperationalError):  # blocked by the first until it ends
            note_order_write(second, ws, None)
        second.rollback()
        first.commit()
        assert note_order_write(second, ws, None) == 3
        assert current_seq(second, ws) == 3
        second.commit()
    finally:
        first.close()
        second.close()
