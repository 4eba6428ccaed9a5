"""Importing Segment events: profiles merged, consent kept, commerce loaded, idempotent."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from core import workspaces
from core.db import session_scope
from core.errors import InvalidInput, NotFound
from core.models import (
    AppliedPromotion,
    Cart,
    ChannelConsent,
    Customer,
    CustomerIdentity,
    EmailEvent,
    Event,
    Order,
    OrderItem,
)
from scoring.event_import import import_events
from tests.scoring.segment_fixtures import db_settings

__all__ = ["db_settings"]


def write(path, messages):
    path.write_text("\n".join(m if isinstance(m, str) else json.dumps(m) for m in messages) + "\n")
    return path


@pytest.fixture
def ws(settings):
    with session_scope(settings) as session:
        workspaces.create(session, "shop")
    return "shop"


def count(settings, model, *where):
    with session_scope(settings) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_anonymous_activity_merges_into_the_identified_profile(tmp_path, settings, ws):
    events = write(
        tmp_path / "e.jsonl",
        [
            {
                "type": "page",
                "messageId": "1",
                "anonymousId": "anon-1",
                "name": "Pricing",
                "timestamp": "2026-03-01T09:00:00Z",
            },
            {
                "type": "track",
                "messageId": "2",
                "userId": "u-7",
                "event": "Signed Up",
                "timestamp": "2026-03-01T09:05:00Z",
            },
            {
                "type": "identify",
                "messageId": "3",
                "userId": "u-7",
                "anonymousId": "anon-1",
                "traits": {"email": "ann@example.com", "plan": "growth"},
                "context": {
                    "timezone": "Europe/Berlin",
                    "consent": {"categoryPreferences": {"email": True, "sms": False}},
                },
                "timestamp": "2026-03-01T09:06:00Z",
            },
        ],
    )
    report = import_events(settings, ws, events)
    assert (report.loaded, report.customers_created, report.customers_merged) == (3, 2, 1)
    with session_scope(settings) as session:
        live = session.scalars(select(Customer).where(Customer.merged_into.is_(None))).all()
        assert len(live) == 1
        (ann,) = live
        assert (ann.user_id, ann.email, ann.timezone) == ("u-7", "ann@example.com", "Europe/Berlin")
        assert ann.traits["plan"] == "growth"
        assert {e.customer_id for e in session.scalars(select(Event))} == {ann.id}
        identities = set(
            session.execute(
                select(CustomerIdentity.kind, CustomerIdentity.value, CustomerIdentity.customer_id)
            ).all()
        )
        assert identities == {
            ("user_id", "u-7", ann.id),
            ("anonymous_id", "anon-1", ann.id),
            ("email", "ann@example.com", ann.id),
        }
        consents = {
            c.channel: (c.status, c.source) for c in session.scalars(select(ChannelConsent))
        }
        assert consents == {
            "email": ("granted", "segment:identify"),
            "sms": ("revoked", "segment:identify"),
        }


def test_reimport_is_idempotent_by_message_id(tmp_path, settings, ws):
    events = write(
        tmp_path / "e.jsonl",
        [
            {
                "type": "track",
                "messageId": "1",
                "userId": "u",
                "event": "Order Completed",
                "properties": {
                    "order_id": "o1",
                    "total": 20,
                    "products": [{"sku": "a", "price": 20}],
                },
            },
            {
                "type": "track",
                "messageId": "1",
                "userId": "u",
                "event": "Order Completed",
                "properties": {"order_id": "o1", "total": 20},
            },
        ],
    )
    first = import_events(settings, ws, events)
    second = import_events(settings, ws, events)
    assert (first.loaded, first.duplicates) == (1, 1)
    assert (second.loaded, second.duplicates) == (0, 2)
    assert count(settings, Event) == 1 and count(settings, OrderItem) == 1


def test_bad_rows_are_reported_and_the_rest_loads(tmp_path, settings, ws):
    events = write(
        tmp_path / "e.jsonl",
        [
            {"type": "track", "messageId": "1", "userId": "u", "event": "Viewed"},
            "{broken",
            {
                "type": "track",
                "messageId": "2",
                "userId": "u",
                "event": "Order Completed",
                "properties": {"order_id": "o", "total": "abc"},
            },
            "",
            {"type": "track", "messageId": "3", "userId": "u", "event": "Viewed"},
        ],
    )
    report = import_events(settings, ws, events)
    assert report.loaded == 2
    assert [str(e) for e in report.errors] == [
        "line 2: message: not valid JSON (Expecting property name enclosed in double quotes "
        "at column 2)",
        "line 3: properties.total: must be a number, got 'abc'",
    ]
    assert count(settings, Order) == 0


def test_commerce_and_email_events_fill_their_tables(tmp_path, settings, ws):
    events = write(
        tmp_path / "e.jsonl",
        [
            {
                "type": "track",
                "messageId": "1",
                "userId": "u",
                "event": "Product Added",
                "properties": {
                    "cart_id": "c1",
                    "product_id": "reader",
                    "price": 59,
                    "category": "Readers",
                },
                "timestamp": "2026-03-01T10:00:00Z",
            },
            {
                "type": "track",
                "messageId": "2",
                "userId": "u",
                "event": "Order Completed",
                "properties": {
                    "order_id": "o1",
                    "total": 50.15,
                    "cart_id": "c1",
                    "coupon": "SPRING15",
                    "discount": 8.85,
                    "products": [{"product_id": "reader", "price": 59}],
                },
                "timestamp": "2026-03-01T11:00:00Z",
            },
            {
                "type": "track",
                "messageId": "3",
                "userId": "u",
                "event": "Order Refunded",
                "properties": {"order_id": "o1"},
                "timestamp": "2026-03-02T11:00:00Z",
            },
            {
                "type": "track",
                "messageId": "4",
                "userId": "u",
                "event": "Email Opened",
                "properties": {"campaign_id": "spring"},
            },
            {
                "type": "track",
                "messageId": "5",
                "userId": "u",
                "event": "Unsubscribed",
                "properties": {"campaign_id": "spring"},
            },
        ],
    )
    assert import_events(settings, ws, events).loaded == 5
    with session_scope(settings) as session:
        order = session.scalars(select(Order)).one()
        assert (order.total_cents, order.status) == (5015, "refunded")
        cart = session.scalars(select(Cart)).one()
        assert (cart.status, cart.converted_order_id, cart.total_cents) == ("converted", "o1", 5900)
        assert session.scalars(select(AppliedPromotion.discount_cents)).one() == 885
        assert sorted(session.scalars(select(EmailEvent.type))) == ["open", "unsubscribe"]
        consent = session.scalars(select(ChannelConsent)).one()
        assert (consent.channel, consent.status) == ("email", "revoked")


def test_an_older_consent_never_overrides_a_newer_one(tmp_path, settings, ws):
    def identify(message_id, when, granted):
        return {
            "type": "identify",
            "messageId": message_id,
            "userId": "u",
            "timestamp": when,
            "context": {"consent": {"categoryPreferences": {"sms": granted}}},
        }

    import_events(
        settings, ws, write(tmp_path / "a.jsonl", [identify("1", "2026-03-05T00:00:00Z", False)])
    )
    import_events(
        settings, ws, write(tmp_path / "b.jsonl", [identify("2", "2026-03-01T00:00:00Z", True)])
    )
    with session_scope(settings) as session:
        assert session.scalars(select(ChannelConsent.status)).one() == "revoked"


def test_files_and_workspaces_that_are_not_there(tmp_path, settings, ws):
    with pytest.raises(InvalidInput, match="no such file") as caught:
        import_events(settings, ws, tmp_path / "missing.jsonl")
    assert caught.value.field == "FILE"
    (tmp_path / "latin.jsonl").write_bytes(b'{"a": "caf\xe9"}\n')
    with pytest.raises(InvalidInput, match="not UTF-8"):
        import_events(settings, ws, tmp_path / "latin.jsonl")
    with pytest.raises(NotFound):
        import_events(settings, "ghost", write(tmp_path / "e.jsonl", []))


def test_workspaces_do_not_share_customers(tmp_path, settings, ws):
    with session_scope(settings) as session:
        workspaces.create(session, "other")
    events = write(
        tmp_path / "e.jsonl",
        [{"type": "identify", "messageId": "1", "userId": "u-1", "traits": {"email": "a@b.co"}}],
    )
    import_events(settings, ws, events)
    import_events(settings, "other", events)
    with session_scope(settings) as session:
        owners = session.execute(select(Customer.workspace_id, Customer.user_id)).all()
    assert len(owners) == 2 and len({w for w, _ in owners}) == 2


@pytest.mark.postgres
def test_merge_and_commerce_on_postgres(tmp_path, postgres_url):
    from core.settings import Settings

    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_url)
    with session_scope(settings) as session:
        workspaces.create(session, "shop")
    events = write(
        tmp_path / "e.jsonl",
        [
            {"type": "page", "messageId": "1", "anonymousId": "anon-1", "name": "Pricing"},
            {
                "type": "identify",
                "messageId": "2",
                "userId": "u-7",
                "anonymousId": "anon-1",
                "traits": {"email": "ann@example.com"},
            },
            {
                "type": "track",
                "messageId": "3",
                "userId": "u-7",
                "event": "Order Completed",
                "properties": {
                    "order_id": "o1",
                    "total": 12.5,
                    "products": [{"sku": "a", "price": 12.5}],
                },
            },
        ],
    )
    report = import_events(settings, "shop", events)
    assert (report.loaded, report.customers_created, report.customers_merged) == (3, 1, 0)
    assert import_events(settings, "shop", events).duplicates == 3
    with session_scope(settings) as session:
        live = session.scalars(select(Customer).where(Customer.merged_into.is_(None))).one()
        assert session.scalars(select(Order.customer_id)).one() == live.id


def _cart_event(message_id: str, event: str, cart_id: str, when: str) -> dict:
    return {
        "type": "track",
        "messageId": message_id,
        "userId": "u",
        "event": event,
        "properties": {"cart_id": cart_id, "product_id": "reader", "price": 59},
        "timestamp": when,
    }


def test_cart_events_set_the_carts_activity_and_an_order_leaves_it(tmp_path, db_settings):
    """activity_at: the shopper's last change to the cart (added, removed, cleared); the order
    that converts the cart moves updated_at only. On SQLite and PostgreSQL."""
    with session_scope(db_settings) as session:
        workspaces.create(session, "shop")
    first = [
        _cart_event("1", "Product Added", "c1", "2026-03-01T10:00:00Z"),
        _cart_event("2", "Product Added", "c1", "2026-03-01T10:20:00Z"),
        {
            "type": "track",
            "messageId": "3",
            "userId": "u",
            "event": "Order Completed",
            "properties": {"order_id": "o1", "total": 118, "cart_id": "c1"},
            "timestamp": "2026-03-01T12:00:00Z",
        },
        _cart_event("4", "Product Added", "c2", "2026-03-02T09:00:00Z"),
        _cart_event("5", "Product Removed", "c2", "2026-03-02T09:05:00Z"),  # emptied
    ]
    assert import_events(db_settings, "shop", write(tmp_path / "a.jsonl", first)).loaded == 5

    def carts() -> dict[str, tuple]:
        with session_scope(db_settings) as session:
            rows = session.scalars(select(Cart).order_by(Cart.id)).all()
            return {
                c.id: (c.status, c.updated_at.isoformat(), c.activity_at.isoformat()) for c in rows
            }

    assert carts() == {
        "c1": ("converted", "2026-03-01T12:00:00+00:00", "2026-03-01T10:20:00+00:00"),
        "c2": ("cleared", "2026-03-02T09:05:00+00:00", "2026-03-02T09:05:00+00:00"),
    }
    # A removal sent late, stamped before the order: the shopper's, so it counts as activity.
    late = [_cart_event("6", "Product Removed", "c1", "2026-03-01T10:40:00Z")]
    assert import_events(db_settings, "shop", write(tmp_path / "b.jsonl", late)).loaded == 1
    assert carts()["c1"] == (
        "converted",
        "2026-03-01T12:00:00+00:00",
        "2026-03-01T10:40:00+00:00",
    )
