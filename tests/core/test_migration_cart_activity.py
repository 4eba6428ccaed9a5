"""Migration 0023 (carts.activity_at): backfilled on upgrade, dropped on downgrade, cart items
kept both ways; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text

from core import workspaces
from core.db import MIGRATIONS_DIR, get_engine, session_scope
from core.models import Cart, CartItem, Customer
from core.models.base import UTCDateTime
from core.settings import Settings

REVISION = "0023"
T = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request, tmp_path) -> Settings:
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        return Settings(data_dir=tmp_path / "data", database_url=url)
    return Settings(data_dir=tmp_path / "data")


def _alembic(engine: sa.Engine, step, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        step(config, revision)


def _before() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    down = ScriptDirectory.from_config(config).get_revision(REVISION).down_revision
    assert isinstance(down, str)
    return down


# The carts table as it was before the migration: no activity_at.
OLD_CARTS = sa.table(
    "carts",
    sa.column("workspace_id"),
    sa.column("id"),
    sa.column("customer_id"),
    sa.column("status"),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
    sa.column("converted_order_id"),
    sa.column("total_cents"),
)


def _cart_columns(engine: sa.Engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("carts")}


def test_upgrade_backfills_and_downgrade_drops_activity(db):
    engine = get_engine(db)  # at head
    with session_scope(db) as session:
        ws = workspaces.create(session, "shop").id
        session.add(Customer(id="cus_1", workspace_id=ws))
    _alembic(engine, command.downgrade, _before())
    assert "activity_at" not in _cart_columns(engine)
    rows = [
        ("open", T, T + 2 * H, None),
        ("cleared", T, T + 3 * H, None),
        ("converted", T, T + 5 * H, "o1"),  # the conversion overwrote updated_at
    ]
    with engine.begin() as connection:
        for n, (status, created, updated, order_id) in enumerate(rows):
            connection.execute(
                OLD_CARTS.insert().values(
                    workspace_id=ws,
                    id=f"k{n}",
                    customer_id="cus_1",
                    status=status,
                    created_at=created,
                    updated_at=updated,
                    converted_order_id=order_id,
                    total_cents=100,
                )
            )
            connection.execute(
                CartItem.__table__.insert().values(
                    workspace_id=ws, cart_id=f"k{n}", product_id="p", quantity=1, unit_price_cents=1
                )
            )

    _alembic(engine, command.upgrade, REVISION)
    with session_scope(db) as session:
        activity = dict(session.execute(select(Cart.id, Cart.activity_at)).all())
        assert session.scalar(select(sa.func.count()).select_from(CartItem)) == 3
    assert activity == {"k0": T + 2 * H, "k1": T + 3 * H, "k2": T}
    column = next(c for c in inspect(engine).get_columns("carts") if c["name"] == "activity_at")
    assert column["nullable"] is False

    _alembic(engine, command.downgrade, _before())
    assert "activity_at" not in _cart_columns(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM carts")).scalar() == 3
        assert connection.execute(text("SELECT count(*) FROM cart_items")).scalar() == 3
        indexes = {i["name"] for i in inspect(connection).get_indexes("carts")}
    assert "ix_carts_customer" in indexes
    _alembic(engine, command.upgrade, "head")
    assert "activity_at" in _cart_columns(engine)
