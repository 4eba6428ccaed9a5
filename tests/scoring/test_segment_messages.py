"""Segment messages validated into typed data; errors name the line and the field."""

from __future__ import annotations

import json

import pytest

from scoring.commerce_events import (
    CartFact,
    ConsentFact,
    EmailFact,
    OrderFact,
    ProfileFact,
    cents,
    facts_of,
)
from scoring.identity import Candidate, plan_merge
from scoring.segment_messages import Parsed, RowError, parse_line


def one(payload, line=1):
    (result,) = parse_line(json.dumps(payload), line)
    return result


def test_track_identify_page_and_batch_parse():
    track = one(
        {
            "type": "track",
            "messageId": "m1",
            "userId": 42,
            "event": "Signed Up",
            "timestamp": "2026-03-01T10:00:00",
        }
    )
    assert isinstance(track, Parsed) and track.message.user_id == "42"
    assert track.message.timestamp.tzinfo is not None
    batch = parse_line(
        json.dumps(
            {
                "type": "batch",
                "batch": [
                    {
                        "type": "identify",
                        "messageId": "a",
                        "anonymousId": "anon-1",
                        "traits": {"email": " Ann@Example.COM "},
                    },
                    {"type": "page", "messageId": "b", "anonymousId": "anon-1", "name": "Pricing"},
                    {"type": "track", "messageId": "c", "anonymousId": "anon-1"},
                ],
            }
        ),
        7,
    )
    assert [type(b).__name__ for b in batch] == ["Parsed", "Parsed", "RowError"]
    assert batch[0].message.email == "ann@example.com"
    assert batch[2] == RowError(7, "batch[2].event", "Field required")


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("{not json", "message", "not valid JSON"),
        ('"a string"', "message", "must be a JSON object"),
        ('{"type": "alias", "messageId": "m"}', "type", "must be one of identify, track"),
        ('{"type": "track", "event": "X", "userId": "u"}', "messageId", "Field required"),
        (
            '{"type": "track", "messageId": "m", "event": "X"}',
            "message",
            "userId or anonymousId is required",
        ),
        (
            '{"type": "track", "messageId": "m", "event": "X", "userId": "u", "timestamp": "soon"}',
            "timestamp",
            "valid datetime",
        ),
        ('{"type": "batch", "batch": []}', "batch", "non-empty list"),
    ],
)
def test_bad_lines_name_the_field(text, field, words):
    (error,) = parse_line(text, 3)
    assert isinstance(error, RowError) and error.line == 3 and error.field == field
    assert words in error.message


def test_order_completed_becomes_an_order_fact():
    parsed = one(
        {
            "type": "track",
            "messageId": "m",
            "userId": "u",
            "event": "Order Completed",
            "properties": {
                "order_id": "o-1",
                "total": "59.90",
                "currency": "eur",
                "coupon": "SPRING15",
                "discount": 9,
                "cart_id": "c-1",
                "products": [{"sku": "LR-1", "price": 59.9, "quantity": 1, "category": "Readers"}],
            },
        }
    )
    (fact,) = facts_of(parsed.message, 1)
    assert isinstance(fact, OrderFact)
    assert (fact.order_id, fact.total_cents, fact.currency, fact.discount_cents) == (
        "o-1",
        5990,
        "EUR",
        900,
    )
    assert fact.items[0].product_id == "LR-1" and fact.items[0].category == "Readers"


@pytest.mark.parametrize(
    ("properties", "field"),
    [
        ({"total": 10}, "properties.order_id"),
        ({"order_id": "o"}, "properties.total"),
        ({"order_id": "o", "total": -1}, "properties.total"),
        ({"order_id": "o", "total": "1.005"}, "properties.total"),
        ({"order_id": "o", "total": 1, "currency": "euro"}, "properties.currency"),
        (
            {"order_id": "o", "total": 1, "products": [{"sku": "a", "quantity": 0}]},
            "properties.products[0].quantity",
        ),
        ({"order_id": "o", "total": 1, "products": [{"price": 1}]}, "properties.products[0].sku"),
    ],
)
def test_bad_order_properties_name_the_property(properties, field):
    parsed = one(
        {
            "type": "track",
            "messageId": "m",
            "userId": "u",
            "event": "Order Completed",
            "properties": properties,
        },
        line=9,
    )
    error = facts_of(parsed.message, 9)
    assert isinstance(error, RowError) and (error.line, error.field) == (9, field)


def test_email_cart_consent_and_profile_facts():
    unsubscribed = one(
        {
            "type": "track",
            "messageId": "m",
            "userId": "u",
            "event": "Unsubscribed",
            "properties": {"campaign_id": "spring"},
        }
    )
    assert facts_of(unsubscribed.message, 1) == [
        EmailFact("unsubscribe", "spring"),
        ConsentFact("email", False, "unsubscribe:spring"),
    ]
    added = one(
        {
            "type": "track",
            "messageId": "m",
            "userId": "u",
            "event": "Product Added",
            "properties": {"cart_id": "c", "product_id": "p", "price": 5, "quantity": 2},
        }
    )
    (cart,) = facts_of(added.message, 1)
    assert isinstance(cart, CartFact) and cart.item.quantity == 2 and not cart.removed
    identify = one(
        {
            "type": "identify",
            "messageId": "m",
            "userId": "u",
            "traits": {"plan": "growth", "preferred_channels": ["email", "push"]},
            "context": {
                "timezone": "Europe/Berlin",
                "locale": "de-DE",
                "consent": {"categoryPreferences": {"sms": True, "ads": False}},
            },
        }
    )
    profile, consent = facts_of(identify.message, 1)
    assert isinstance(profile, ProfileFact) and profile.timezone == "Europe/Berlin"
    assert profile.preferred_channels == ("email", "push")
    assert consent == ConsentFact("sms", True, "segment:identify")


def test_cents_are_exact():
    assert cents("19.99", "x") == 1999 and cents(0.1, "x") == 10 and cents(3, "x") == 300


def at(day: int):
    from datetime import UTC, datetime

    return datetime(2026, 1, day, tzinfo=UTC)


def test_merge_plan_never_merges_two_user_ids():
    a, b = Candidate("a", "user-1", at(1)), Candidate("b", "user-2", at(2))
    anon = Candidate("n", None, at(3))
    assert plan_merge([a, anon], "user-1").losers == ("n",)
    plan = plan_merge([a, b, anon], "user-2")
    assert plan.winner == "b" and plan.losers == ("n",)
    assert plan_merge([anon], "user-9") == plan_merge([anon], "user-9")
    assert plan_merge([anon], "user-9").set_user_id == "user-9"
    assert plan_merge([], "user-9").winner is None
    assert plan_merge([a, anon], None).winner == "a"
