"""The demo data set: deterministic, consistent, loaded whole, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import func, select, text

from core.db import session_scope
from core.errors import Conflict, InvalidInput
from core.models import ChannelConsent, Customer, CustomerIdentity, EmailEvent, Order, OrderItem
from core.settings import Settings
from scoring.demo_data import ARCHETYPES, generate
from scoring.demo_loader import generate_into
from scoring.phone_numbers import E164

END = datetime(2026, 11, 1, tzinfo=UTC)


def test_same_seed_same_data_and_requested_sizes():
    a = generate("ws_0123456789abcdef", 400, 5000, seed=3, end=END)
    b = generate("ws_0123456789abcdef", 400, 5000, seed=3, end=END)
    c = generate("ws_0123456789abcdef", 400, 5000, seed=4, end=END)
    assert a.rows("customers") == 400 and a.rows("orders") == 5000
    assert np.array_equal(a.tables["orders"]["total_cents"], b.tables["orders"]["total_cents"])
    assert not np.array_equal(a.tables["orders"]["total_cents"], c.tables["orders"]["total_cents"])


def test_orders_are_consistent_with_items_and_promotions():
    data = generate("ws_0123456789abcdef", 300, 4000, seed=1, end=END)
    orders, items = data.tables["orders"], data.tables["order_items"]
    promos = data.tables["applied_promotions"]
    subtotal: dict[str, int] = {}
    for order_id, qty, price in zip(
        items["order_id"], items["quantity"], items["unit_price_cents"], strict=True
    ):
        subtotal[order_id] = subtotal.get(order_id, 0) + int(qty) * int(price)
    discount = dict(zip(promos["order_id"], promos["discount_cents"], strict=True))
    for order_id, total in zip(orders["id"], orders["total_cents"], strict=True):
        assert total == subtotal[order_id] - discount.get(order_id, 0)
    end = np.datetime64(END.date())
    assert (orders["ordered_at"] < end).all()
    assert (np.diff(orders["ordered_at"].astype("datetime64[s]").astype(np.int64)) >= 0).all()


def test_churners_stop_ordering_and_the_seasons_show():
    data = generate("ws_0123456789abcdef", 3000, 60000, seed=5, end=END)
    orders = data.tables["orders"]
    months = orders["ordered_at"].astype("datetime64[M]").astype(int) % 12
    per_month = np.bincount(months, minlength=12)
    assert per_month[10:12].mean() > per_month[0:3].mean() * 1.3, "Nov-Dec are busiest"
    last_90 = orders["ordered_at"] >= np.datetime64(END.date()) - np.timedelta64(90, "D")
    assert last_90.any() and (~last_90).any()
    assert set(ARCHETYPES) >= {"churned", "loyal", "new", "prospect"}


def test_a_share_of_customers_get_a_phone_and_a_device_token():
    data = generate("ws_0123456789abcdef", 2000, 10000, seed=3, end=END)
    again = generate("ws_0123456789abcdef", 2000, 10000, seed=3, end=END)
    ids = data.tables["customer_identities"]
    assert np.array_equal(ids["value"], again.tables["customer_identities"]["value"])
    kind = np.array(ids["kind"])
    value = np.asarray(ids["value"])
    owner = np.asarray(ids["customer_id"])
    customers = data.tables["customers"]
    # the keys stay as they were: every customer's userId, then their email
    assert kind[:4000].tolist() == ["user_id"] * 2000 + ["email"] * 2000
    assert value[:2000].tolist() == list(customers["user_id"])
    assert np.isnat(ids["recorded_at"][:4000]).all()
    phones, devices = value[kind == "phone"], value[kind == "device_token"]
    assert 0.4 < len(phones) / 2000 < 0.8 and 0.3 < len(devices) / 2000 < 0.7
    assert all(E164.fullmatch(p) and p.startswith("+1555") for p in phones)
    assert len(set(phones)) == len(phones) and len(set(devices)) == len(devices)
    assert set(owner[kind == "phone"]) <= set(customers["id"])
    contact = kind[4000:]
    assert (
        len(contact) == len(ids["recorded_at"][4000:])
        and not np.isnat(ids["recorded_at"][4000:]).any()
    )
    consents = data.tables["channel_consents"]
    opted_in = {
        channel: set(
            np.asarray(consents["customer_id"])[np.asarray(consents["channel"]) == channel]
        )
        for channel in ("sms", "push")
    }
    assert opted_in["sms"] <= set(owner[kind == "phone"])  # every SMS opt-in can be texted
    assert opted_in["push"] <= set(owner[kind == "device_token"])


def count(settings, model):
    with session_scope(settings) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_generate_loads_every_table_and_refuses_to_mix(settings):
    report = generate_into(
        settings, "demo", customers=200, orders=1500, seed=2, end=END, create_workspace=True
    )
    assert report.rows["customers"] == 200 and report.rows["orders"] == 1500
    assert count(settings, OrderItem) == report.rows["order_items"] > 1500
    assert count(settings, EmailEvent) == report.rows["email_events"] > 0
    assert count(settings, ChannelConsent) == report.rows["channel_consents"] > 0
    assert count(settings, CustomerIdentity) == report.rows["customer_identities"] > 400
    with session_scope(settings) as session:
        orphan_items = session.execute(
            text(
                "SELECT count(*) FROM order_items i LEFT JOIN orders o ON o.workspace_id = "
                "i.workspace_id AND o.id = i.order_id WHERE o.id IS NULL"
            )
        ).scalar()
        assert orphan_items == 0
        index_names = {row[1] for row in session.execute(text("PRAGMA index_list('orders')"))}
        assert {"ix_orders_customer_time", "ix_orders_time"} <= index_names
    with session_scope(settings) as session:
        first = session.scalars(select(Order.ordered_at).order_by(Order.ordered_at)).first()
    generated = generate("ws_x", 200, 1500, seed=2, end=END).tables["orders"]["ordered_at"].min()
    assert first == generated.astype("datetime64[us]").item().replace(tzinfo=UTC)
    with pytest.raises(Conflict, match="already has 200 customers"):
        generate_into(settings, "demo", customers=10, orders=10, seed=2, end=END)
    generate_into(settings, "demo", customers=10, orders=20, seed=2, end=END, replace=True)
    assert count(settings, Customer) == 10 and count(settings, Order) == 20


@pytest.mark.parametrize(
    ("customers", "orders", "field"), [(0, 1, "--customers"), (1, -1, "--orders")]
)
def test_sizes_are_validated(settings, customers, orders, field):
    with pytest.raises(InvalidInput) as caught:
        generate_into(
            settings, "demo", customers=customers, orders=orders, seed=1, create_workspace=True
        )
    assert caught.value.field == field


@pytest.mark.postgres
def test_generate_on_postgres(tmp_path, postgres_url):
    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_url)
    report = generate_into(
        settings, "demo", customers=200, orders=1500, seed=2, end=END, create_workspace=True
    )
    assert count(settings, Order) == 1500
    assert count(settings, OrderItem) == report.rows["order_items"]
    assert count(settings, CustomerIdentity) == report.rows["customer_identities"] > 400
    with session_scope(settings) as session:
        first = session.scalars(select(Order.ordered_at).order_by(Order.ordered_at)).first()
        dated = dict(
            session.execute(
                select(CustomerIdentity.kind, func.count(CustomerIdentity.recorded_at)).group_by(
                    CustomerIdentity.kind
                )
            ).all()
        )
    assert first is not None and first.tzinfo is not None and first < END
    assert dated["user_id"] == dated["email"] == 0 and dated["phone"] > 0 < dated["device_token"]


def test_bulk_session_checks_foreign_keys_before_commit(settings):
    """SQLite skips row-by-row checks in a bulk session, so the final check must catch
    a row that points nowhere, and nothing may be written."""
    from sqlalchemy.exc import IntegrityError

    from core.bulk import bulk_insert, bulk_session
    from core.db import get_engine

    generate_into(settings, "demo", customers=5, orders=5, seed=1, end=END, create_workspace=True)
    with (
        pytest.raises(IntegrityError, match="point at missing"),
        bulk_session(get_engine(settings)) as session,
    ):
        bulk_insert(
            session,
            Order.__table__,
            {
                "workspace_id": ["ws_missing"],
                "id": ["o-x"],
                "customer_id": ["cus_missing"],
                "ordered_at": np.array(["2026-01-01T00:00:00"], dtype="datetime64[s]"),
                "status": ["completed"],
                "total_cents": [1],
                "currency": ["USD"],
            },
        )
    assert count(settings, Order) == 5
    with session_scope(settings) as session:
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_replace_after_an_rfm_snapshot_drops_the_snapshot_too(request, tmp_path, backend):
    from core.models import RfmSnapshot
    from scoring.rfm_job import snapshot_rfm

    url = request.getfixturevalue("postgres_url") if backend == "postgresql" else None
    settings = Settings(data_dir=tmp_path / "data", database_url=url)
    generate_into(
        settings, "demo", customers=50, orders=300, seed=2, end=END, create_workspace=True
    )
    snapshot_rfm(settings, "demo", END.date())
    generate_into(settings, "demo", customers=20, orders=100, seed=3, end=END, replace=True)
    assert count(settings, Customer) == 20 and count(settings, RfmSnapshot) == 0


def _unchecked_keys(session) -> list[tuple[str, str]]:
    """PostgreSQL: the foreign keys in place but not validated over the rows there."""
    return session.execute(
        text(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE contype = 'f' "
            "AND NOT convalidated AND connamespace = current_schema()::regnamespace"
        )
    ).all()


def _orphan_order(workspace_id: str) -> Order:
    return Order(
        workspace_id=workspace_id,
        id="o-orphan",
        customer_id="cus_missing",
        ordered_at=END,
        status="completed",
        total_cents=1,
        currency="USD",
    )


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_a_fresh_load_skips_the_key_check_and_its_rows_pass_it(request, tmp_path, backend):
    """Into an empty workspace the load trusts the generated rows' keys (no check over the
    data); every key must hold all the same, and stay enforced for later writes."""
    from sqlalchemy.exc import IntegrityError

    from core import workspaces

    url = request.getfixturevalue("postgres_url") if backend == "postgresql" else None
    settings = Settings(data_dir=tmp_path / "data", database_url=url)
    generate_into(
        settings, "demo", customers=300, orders=4000, seed=6, end=END, create_workspace=True
    )
    with session_scope(settings) as session:
        workspace_id = workspaces.get_or_raise(session, "demo").id
        if backend == "sqlite":
            assert session.execute(text("PRAGMA foreign_key_check")).all() == []
        else:
            unchecked = _unchecked_keys(session)
            assert ("orders", "fk_orders_customer_id_customers") in unchecked
            for table, name in unchecked:  # raises if any row breaks the key
                session.execute(text(f'ALTER TABLE "{table}" VALIDATE CONSTRAINT "{name}"'))
            assert _unchecked_keys(session) == []
    with pytest.raises(IntegrityError), session_scope(settings) as session:
        session.add(_orphan_order(workspace_id))
        session.flush()
    # A replace deletes rows others may point at: its load validates every key again.
    generate_into(settings, "demo", customers=30, orders=100, seed=6, end=END, replace=True)
    if backend == "postgresql":
        with session_scope(settings) as session:
            assert _unchecked_keys(session) == []


def test_rows_come_in_the_key_order_of_the_indexes_kept_during_a_load(settings):
    """SQLite keeps these indexes while loading, which is only cheaper if the rows arrive in
    their key order (the workspace is one value, so the rest of the key decides)."""
    from core.models import AppliedPromotion, CartItem
    from scoring.demo_loader import IN_KEY_ORDER

    data = generate("ws_0123456789abcdef", 300, 4000, seed=8, end=END)
    models = {
        index.name: model
        for model in (Order, OrderItem, CartItem, AppliedPromotion)
        for index in model.__table__.indexes
    }
    for name in IN_KEY_ORDER:
        index = next(i for i in models[name].__table__.indexes if i.name == name)
        columns = [c.name for c in index.columns if c.name != "workspace_id"]
        table = data.tables[models[name].__tablename__]
        keys = list(zip(*(np.asarray(table[c]).tolist() for c in columns), strict=True))
        assert len(keys) > 1 and keys == sorted(keys), name
    generate_into(
        settings, "demo", customers=30, orders=200, seed=8, end=END, create_workspace=True
    )
    with session_scope(settings) as session:
        names = {row[0] for row in session.execute(text("SELECT name FROM sqlite_master"))}
    assert set(IN_KEY_ORDER) <= names


def test_carts_activity_tells_quick_checkouts_from_recovered_carts():
    """Every cart: created, then last changed by the shopper, then last written. A converted
    cart was either checked out within the hour of its last change or left well over an hour
    before its order (recovered); some quick checkouts were created over an hour before."""
    carts = generate("ws_0123456789abcdef", 400, 6000, seed=3, end=END).tables["carts"]
    created, activity, updated = (
        carts[c].astype("datetime64[s]") for c in ("created_at", "activity_at", "updated_at")
    )
    assert (created <= activity).all() and (activity <= updated).all()
    converted = np.array([s == "converted" for s in carts["status"]])
    idle = (updated - activity)[converted].astype(np.int64)
    quick, recovered = idle < 3000, idle >= 2 * 3600
    assert (quick | recovered).all() and quick.any() and recovered.any()
    opened = (updated - created)[converted].astype(np.int64)
    assert (quick & (opened > 3600)).any()
    assert (updated == activity)[~converted].all()
