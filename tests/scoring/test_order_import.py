"""Importing orders from CSV: validated rows, customers created, upserts, one transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core import workspaces
from core.db import session_scope
from core.errors import InvalidInput
from core.models import Customer, CustomerIdentity, Order
from core.settings import Settings
from scoring.order_import import import_orders


@pytest.fixture
def ws(settings):
    with session_scope(settings) as session:
        workspaces.create(session, "shop")
    return "shop"


def orders(settings):
    with session_scope(settings) as session:
        return {o.id: o for o in session.scalars(select(Order))}


def test_valid_rows_load_bad_rows_are_reported(tmp_path, settings, ws):
    csv_file = tmp_path / "orders.csv"
    csv_file.write_text(
        "order_id,customer_id,ordered_at,total,status,currency,channel\n"
        "o1,c-1,2026-03-01,19.99,,,web\n"
        "o2,c-1,2026-03-05T10:30:00+02:00,5,refunded,eur,web\n"
        "o3,c-2,yesterday,5,,,web\n"
        "o4,,2026-03-01,5,,,web\n"
        "o5,c-3,2026-03-01,-2,,,web\n"
        "o6,c-3,2026-03-01,2,shipped,,web\n"
        "o1,c-9,2026-03-01,1,,,web\n"
        "o7,c-3,2026-03-02,10.5,paid,USD,web\n"
    )
    report = import_orders(settings, ws, csv_file)
    assert (report.loaded, report.customers_created) == (3, 2)
    assert report.ignored_columns == ["channel"]
    assert [str(e) for e in report.errors] == [
        "line 4: ordered_at: must be an ISO date or date-time, got 'yesterday'",
        "line 5: customer_id: is required",
        "line 6: total: must be zero or more, got '-2'",
        "line 7: status: must be one of pending, paid, completed, cancelled, refunded, "
        "got 'shipped'",
        "line 8: order_id: duplicates line 2",
    ]
    loaded = orders(settings)
    assert (loaded["o1"].total_cents, loaded["o1"].status, loaded["o1"].currency) == (
        1999,
        "completed",
        "USD",
    )
    assert (loaded["o2"].status, loaded["o2"].currency) == ("refunded", "EUR")
    assert loaded["o2"].ordered_at.isoformat() == "2026-03-05T08:30:00+00:00"
    with session_scope(settings) as session:
        assert sorted(session.scalars(select(Customer.user_id))) == ["c-1", "c-3"]
        assert session.scalar(select(func.count()).select_from(CustomerIdentity)) == 2


def test_reimport_updates_in_place_and_reuses_customers(tmp_path, settings, ws):
    csv_file = tmp_path / "orders.csv"
    csv_file.write_text("order_id,customer_id,ordered_at,total\no1,c-1,2026-03-01,10\n")
    import_orders(settings, ws, csv_file)
    csv_file.write_text(
        "order_id,customer_id,ordered_at,total,status\no1,c-1,2026-03-01,10,refunded\n"
    )
    report = import_orders(settings, ws, csv_file)
    assert report.customers_created == 0
    assert orders(settings)["o1"].status == "refunded" and len(orders(settings)) == 1


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("id,customer,when\n1,2,3\n", "the header lacks order_id, customer_id, ordered_at, total"),
        (None, "no such file"),
    ],
)
def test_unusable_files_are_refused(tmp_path, settings, ws, content, words):
    path = tmp_path / "orders.csv"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InvalidInput, match=words) as caught:
        import_orders(settings, ws, path)
    assert caught.value.field == "FILE"


@pytest.mark.postgres
def test_orders_upsert_on_postgres(tmp_path, postgres_url):
    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_url)
    with session_scope(settings) as session:
        workspaces.create(session, "shop")
    csv_file = tmp_path / "orders.csv"
    csv_file.write_text(
        "order_id,customer_id,ordered_at,total\no1,c-1,2026-03-01,10\no2,c-1,2026-03-02,12.50\n"
    )
    assert import_orders(settings, "shop", csv_file).loaded == 2
    assert import_orders(settings, "shop", csv_file).customers_created == 0
    assert sorted(o.total_cents for o in orders(settings).values()) == [1000, 1250]
