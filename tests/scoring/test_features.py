"""Customer features: the SQL equals a plain-Python reference computed from the raw rows, on
SQLite and PostgreSQL, and only what happened by the as-of day counts."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from core.db import session_scope
from core.models import (
    COMPLETED_STATUSES,
    AppliedPromotion,
    Cart,
    ChannelConsent,
    Customer,
    CustomerCategory,
    CustomerFeatures,
    EmailEvent,
    Event,
    Order,
    OrderItem,
    Product,
)
from core.settings import Settings
from scoring.demo_loader import generate_into
from scoring.features_job import write_features

END = datetime(2026, 11, 1, tzinfo=UTC)
AS_OF = date(2026, 10, 20)  # before the data's end, so later rows must be ignored


def _reference(session, workspace_id: str, as_of: date) -> tuple[dict, dict]:
    end = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC) + timedelta(days=1)
    customers = session.scalars(
        select(Customer).where(
            Customer.workspace_id == workspace_id, Customer.merged_into.is_(None)
        )
    ).all()
    orders = [
        o
        for o in session.scalars(select(Order).where(Order.workspace_id == workspace_id))
        if o.status in COMPLETED_STATUSES and o.ordered_at < end
    ]
    promoted = set(session.scalars(select(AppliedPromotion.order_id)))
    category_of = dict(session.execute(select(Product.id, Product.category)).all())
    items = defaultdict(list)
    for item in session.scalars(select(OrderItem)):
        items[item.order_id].append(item)
    by_customer = defaultdict(list)
    for o in orders:
        by_customer[o.customer_id].append(o)
    events = defaultdict(list)
    for e in session.scalars(select(Event)):
        if e.timestamp < end:
            events[e.customer_id].append(e)
    emails = defaultdict(list)
    for e in session.scalars(select(EmailEvent)):
        if e.occurred_at < end:
            emails[e.customer_id].append(e)
    carts = defaultdict(list)
    for c in session.scalars(select(Cart)):
        if c.status == "open" and end - timedelta(days=30) <= c.updated_at < end:
            carts[c.customer_id].append(c)
    granted = defaultdict(set)
    for consent in session.scalars(select(ChannelConsent)):
        if consent.status == "granted" and consent.recorded_at < end:
            granted[consent.customer_id].add(consent.channel)

    def within(at: datetime, days: int, until: int = 0) -> bool:
        return end - timedelta(days=days) <= at < end - timedelta(days=until)

    features, categories = {}, {}
    for customer in customers:
        mine = by_customer[customer.id]
        times = [o.ordered_at for o in mine]
        spend = defaultdict(int)
        counts = defaultdict(set)
        last_bought = {}
        for o in mine:
            for item in items[o.id]:
                category = category_of[item.product_id]
                spend[category] += item.quantity * item.unit_price_cents
                counts[category].add(o.id)
                last_bought[category] = max(last_bought.get(category, o.ordered_at), o.ordered_at)
        for category in spend:
            categories[(customer.id, category)] = (
                len(counts[category]),
                spend[category],
                last_bought[category] == max(times),
            )
        top = min(spend, key=lambda c: (-spend[c], c)) if spend else None
        web = [e for e in events[customer.id] if e.type in ("page", "track")]
        pricing = [e for e in web if "pricing" in (e.name or "").lower()]
        mail = emails[customer.id]
        engaged = [e for e in mail if e.type in ("open", "click")]
        recent = sum(within(e.timestamp, 30) for e in web) + sum(
            within(e.occurred_at, 30) for e in engaged
        )
        before = sum(within(e.timestamp, 60, 30) for e in web) + sum(
            within(e.occurred_at, 60, 30) for e in engaged
        )
        opens = sum(e.type == "open" and within(e.occurred_at, 90) for e in mail)
        stated = customer.preferred_channels[0] if customer.preferred_channels else None
        channels = granted[customer.id]
        if stated in channels:
            preferred = stated
        elif "email" in channels and opens:
            preferred = "email"
        else:
            preferred = next((c for c in ("in_app", "push", "email", "sms") if c in channels), None)
        promo = sum(o.id in promoted for o in mine)
        features[customer.id] = {
            "orders_count": len(mine),
            "days_since_first_order": (as_of - min(times).date()).days if times else None,
            "days_since_last_order": (as_of - max(times).date()).days if times else None,
            "orders_30d": sum(within(t, 30) for t in times),
            "orders_90d": sum(within(t, 90) for t in times),
            "orders_prev_90d": sum(within(t, 180, 90) for t in times),
            "spend_90d_cents": sum(o.total_cents for o in mine if within(o.ordered_at, 90)),
            "lifetime_spend_cents": sum(o.total_cents for o in mine),
            "avg_order_cents": sum(o.total_cents for o in mine) // len(mine) if mine else None,
            "promo_orders": promo,
            "redeemed_ratio": promo / len(mine) if mine else None,
            "pricing_views_7d": sum(within(e.timestamp, 7) for e in pricing),
            "pricing_views_30d": sum(within(e.timestamp, 30) for e in pricing),
            "events_30d": sum(within(e.timestamp, 30) for e in web),
            "emails_sent_90d": sum(e.type == "sent" and within(e.occurred_at, 90) for e in mail),
            "email_opens_90d": opens,
            "engagement_30d": recent,
            "engagement_prev_30d": before,
            "engagement_trend": (recent - before) / (recent + before) if recent + before else 0.0,
            "open_cart_cents": sum(c.total_cents for c in carts[customer.id]) or None,
            "top_category": top,
            "top_category_share": spend[top] / sum(spend.values()) if top else None,
            "preferred_channel": preferred,
        }
    return features, categories


def check(settings: Settings) -> None:
    generate_into(
        settings, "shop", customers=400, orders=6000, seed=5, end=END, create_workspace=True
    )
    with session_scope(settings) as session:
        workspace_id = session.scalars(select(Customer.workspace_id)).first()
        # A stated preference, honoured only while the customer consents to the channel.
        first, second = session.scalars(select(Customer.id).order_by(Customer.id).limit(2)).all()
        session.execute(
            update(Customer)
            .where(Customer.id.in_([first, second]))
            .values(preferred_channels=["sms"])
        )
        session.merge(
            ChannelConsent(
                workspace_id=workspace_id,
                customer_id=first,
                channel="sms",
                status="granted",
                source="test",
                recorded_at=END - timedelta(days=300),
            )
        )
        session.merge(
            ChannelConsent(
                workspace_id=workspace_id,
                customer_id=second,
                channel="sms",
                status="revoked",
                source="test",
                recorded_at=END - timedelta(days=300),
            )
        )
    with session_scope(settings) as session:
        assert write_features(session, workspace_id, AS_OF) == 400
    with session_scope(settings) as session:
        expected, expected_categories = _reference(session, workspace_id, AS_OF)
        rows = {r.customer_id: r for r in session.scalars(select(CustomerFeatures))}
        stored_categories = {
            (c.customer_id, c.category): (c.orders, c.spend_cents, bool(c.in_last_order))
            for c in session.scalars(select(CustomerCategory))
        }
    assert rows[first].preferred_channel == "sms" and rows[second].preferred_channel != "sms"
    assert stored_categories == expected_categories
    assert set(rows) == set(expected)
    for customer_id, want in expected.items():
        row = rows[customer_id]
        assert row.as_of == AS_OF
        for name, value in want.items():
            got = getattr(row, name)
            if isinstance(value, float):
                assert got == pytest.approx(value), (customer_id, name)
            else:
                assert got == value, (customer_id, name)
    trends = {round(f["engagement_trend"], 2) for f in expected.values()}
    assert len(trends) > 3, "the data set exercises the engagement trend"
    assert any(f["pricing_views_7d"] for f in expected.values())


def test_features_equal_the_reference_on_sqlite(settings):
    check(settings)


@pytest.mark.postgres
def test_features_equal_the_reference_on_postgres(tmp_path, postgres_url):
    check(Settings(data_dir=tmp_path / "d", database_url=postgres_url))
