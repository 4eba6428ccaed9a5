"""Personal data is found and redacted; prices, dates, percentages and order numbers are not."""

from __future__ import annotations

import pytest

from guardrails.pii import find_pii, luhn_valid, redact, redact_text


@pytest.mark.parametrize(
    ("text", "kind", "found"),
    [
        ("Write to jane.doe+vip@example.co.uk today", "email", "jane.doe+vip@example.co.uk"),
        ("Call +44 20 7946 0958 now", "phone", "+44 20 7946 0958"),
        ("Call (555) 123-4567.", "phone", "(555) 123-4567"),
        ("Call 555-123-4567", "phone", "555-123-4567"),
        ("Card 4111 1111 1111 1111 on file", "card_number", "4111 1111 1111 1111"),
        ("Card 4111-1111-1111-1111", "card_number", "4111-1111-1111-1111"),
        ("IBAN GB82 WEST 1234 5698 7654 32 please", "iban", "GB82 WEST 1234 5698 7654 32"),
        ("SSN 078-05-1120", "us_ssn", "078-05-1120"),
    ],
)
def test_finds_personal_data(text: str, kind: str, found: str) -> None:
    matches = find_pii(text)
    assert [(m.kind, m.text) for m in matches] == [(kind, found)]
    assert text[matches[0].start : matches[0].end] == found


@pytest.mark.parametrize(
    "text",
    [
        "Save 15% on orders over $100.00 until 2026-12-31.",
        "Plans from €1,299.00 a year; 30-day returns.",
        "Order 4111111111111112 shipped",  # 16 digits, fails Luhn: not a card
        "Version 2.13.0 released on 12/05/2026",
        "Reply STOP to 12345 to opt out",
        "Over 10,000 customers and 250 stores",
    ],
)
def test_leaves_prices_dates_and_numbers_alone(text: str) -> None:
    assert find_pii(text) == []


def test_luhn() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")


def test_redact_text_replaces_each_match_by_its_kind() -> None:
    text = "Mail a@b.io or call +1 415 555 2671; card 5500 0000 0000 0004."
    assert redact_text(text) == "Mail [email] or call [phone]; card [card_number]."


def test_redact_drops_secrets_masks_personal_keys_and_scans_strings() -> None:
    value = {
        "api_key": "sk-123",
        "smtp_password": "hunter2",
        "email": "x@y.com",
        "note": ["ring 020 7946 0958", 3, None],
        "nested": {"Authorization": "Bearer abc", "total": 12.5},
    }
    assert redact(value) == {
        "api_key": "[secret]",
        "smtp_password": "[secret]",
        "email": "[email]",
        "note": ["ring [phone]", 3, None],
        "nested": {"Authorization": "[secret]", "total": 12.5},
    }
    assert value["email"] == "x@y.com"  # the caller's dict is untouched


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("key sk-proj-abcdefghijklmnop1234 here", "key [secret] here"),
        ("Authorization: Bearer abcdefghijklmnopqrstu", "Authorization: [secret]"),
        ("login password=hunter22 ok", "login password=[secret] ok"),
        ("aws AKIAABCDEFGHIJKLMNOP", "aws [secret]"),
        ("token: xyz123; done", "token: [secret]; done"),
        ("the secret sauce, no tokens here", "the secret sauce, no tokens here"),
    ],
)
def test_redact_masks_credentials_inside_text(text: str, expected: str) -> None:
    assert redact(text) == expected
