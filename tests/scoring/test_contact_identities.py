"""Phones and push tokens from Segment messages: normalised, reported when bad, handed to the
latest claimer, never a reason to merge, and kept one of each when profiles merge; on SQLite
and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from core import workspaces
from core.db import session_scope
from core.models import Customer, CustomerIdentity, Event
from core.settings import Settings
from scoring.commerce_events import ContactFact, facts_of
from scoring.contact_identities import Held, addresses_to_drop, claim_applies
from scoring.event_import import import_events
from scoring.phone_numbers import PHONE_FIX, PhoneError, normalise_phone
from scoring.segment_messages import RowError, parse_line
from tests.scoring.segment_fixtures import db_settings  # noqa: F401 - fixture

T1 = datetime(2026, 3, 1, 9, tzinfo=UTC)
T2 = datetime(2026, 3, 2, 9, tzinfo=UTC)
T3 = datetime(2026, 3, 3, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "e164"),
    [
        ("+1 (415) 555-0123", "+14155550123"),
        ("+44 20 7946.0958", "+442079460958"),
        ("0049 151-2345 6789", "+4915123456789"),
        ("+33612345678", "+33612345678"),
        ("\t+1 415 555 0123 ", "+14155550123"),
    ],
)
def test_phones_are_normalised_to_e164(text, e164):
    assert normalise_phone(text) == e164


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("(415) 555-0123", "has no country code"),
        ("07700 900123", "has no country code"),
        ("+0 415 555 0123", "is not a phone number"),
        ("+1 555", "is not a phone number"),
        ("+1-800-FLOWERS", "is not a phone number"),
        ("+1234567890123456", "is not a phone number"),
    ],
)
def test_numbers_that_cannot_be_e164_say_how_to_give_them(text, message):
    with pytest.raises(PhoneError, match=message) as caught:
        normalise_phone(text)
    assert caught.value.fix == PHONE_FIX
    assert text.strip() not in str(caught.value)  # personal data is not echoed


def facts(payload, line=1):
    (parsed,) = parse_line(json.dumps(payload), line)
    return facts_of(parsed.message, parsed.line, parsed.prefix)


def test_identify_phone_and_any_messages_device_token_become_contact_facts():
    identify = {
        "type": "identify",
        "messageId": "1",
        "userId": "u",
        "traits": {"phone": "+1 415 555 0123"},
        "context": {"device": {"token": " tok-1 ", "type": "ios"}},
    }
    found = facts(identify)
    assert ContactFact("phone", "+14155550123") in found
    assert ContactFact("device_token", "tok-1") in found
    track = {"type": "track", "messageId": "2", "userId": "u", "event": "Opened App"}
    assert facts({**track, "context": {"device": {"token": "tok-2", "type": "android"}}}) == [
        ContactFact("device_token", "tok-2")
    ]
    assert facts({**track, "context": {"device": {"type": "ios"}}}) == []  # no token: nothing
    assert facts({**track, "context": {"traits": {"phone": "+14155550123"}}}) == []  # identify
    blank = {**identify, "traits": {"phone": " "}, "context": {}}
    assert not [f for f in facts(blank) if isinstance(f, ContactFact)]


def test_bad_phones_and_tokens_are_row_errors_naming_the_field_and_the_fix():
    identify = {"type": "identify", "messageId": "1", "userId": "u"}
    error = facts({**identify, "traits": {"phone": "(415) 555-0123"}}, line=7)
    assert error == RowError(7, "traits.phone", "has no country code", PHONE_FIX)
    assert str(error) == (
        "line 7: traits.phone: has no country code; "
        "give the number in international form, e.g. +14155550123"
    )
    assert facts({**identify, "traits": {"phone": 4155550123}}).field == "traits.phone"
    batch = {"type": "batch", "batch": [{**identify, "traits": {"phone": "555"}}]}
    (parsed,) = parse_line(json.dumps(batch), 3)
    assert facts_of(parsed.message, 3, parsed.prefix).field == "batch[0].traits.phone"
    token = facts({**identify, "context": {"device": {"token": 42}}})
    assert (token.field, token.message) == ("context.device.token", "must be text")


def held(value, customer, at, kind="phone"):
    return Held(kind, value, customer, at)


def test_a_claim_applies_unless_a_newer_one_stands():
    assert claim_applies(T2, None, [])
    assert claim_applies(T2, held("+1", "a", T1), [held("+2", "b", T1)])
    assert claim_applies(T2, held("+1", "a", None), [])  # undated: oldest
    assert claim_applies(T2, held("+1", "a", T2), [])  # the same moment: the later line wins
    assert not claim_applies(T1, held("+1", "a", T2), [])  # the value was claimed later
    assert not claim_applies(T1, None, [held("+2", "b", T2)])  # the customer changed since


def test_a_merge_keeps_the_latest_address_of_each_kind():
    rows = [
        held("+1", "winner", T1),
        held("+2", "loser", T2),
        held("tok-w", "winner", T3, "device_token"),
        held("tok-l", "loser", None, "device_token"),
    ]
    assert addresses_to_drop(rows, "winner") == [("device_token", "tok-l"), ("phone", "+1")]
    tie = [held("+2", "loser", T1), held("+1", "winner", T1), held("+3", "winner", T1)]
    assert addresses_to_drop(tie, "winner") == [("phone", "+2"), ("phone", "+3")]
    assert addresses_to_drop([held("+1", "winner", T1)], "winner") == []


# --- importing, on SQLite and PostgreSQL --------------------------------------------------


def write(path, messages):
    path.write_text("\n".join(m if isinstance(m, str) else json.dumps(m) for m in messages) + "\n")
    return path


def identify(message_id, user_id=None, at=T1, phone=None, anonymous_id=None, **more):
    message = {"type": "identify", "messageId": message_id, "timestamp": at.isoformat()}
    if user_id:
        message["userId"] = user_id
    if anonymous_id:
        message["anonymousId"] = anonymous_id
    message["traits"] = {"phone": phone} if phone else {}
    return message | more


def page(message_id, anonymous_id=None, user_id=None, at=T1, token="tok-1"):
    message = {
        "type": "page",
        "messageId": message_id,
        "name": "Home",
        "timestamp": at.isoformat(),
        "context": {"device": {"token": token, "type": "ios"}},
    }
    if anonymous_id:
        message["anonymousId"] = anonymous_id
    if user_id:
        message["userId"] = user_id
    return message


@pytest.fixture
def shop(db_settings: Settings) -> Settings:  # noqa: F811
    with session_scope(db_settings) as session:
        workspaces.create(session, "shop")
        workspaces.create(session, "other")
    return db_settings


def load(settings, tmp_path, messages, name="e.jsonl", slug="shop"):
    return import_events(settings, slug, write(tmp_path / name, messages))


def addresses(settings, slug="shop") -> set[tuple[str, str, str | None]]:
    """(kind, value, the holder's userId or anonymous id's customer) for phones and tokens."""
    with session_scope(settings) as session:
        workspace_id = workspaces.get_or_raise(session, slug).id
        rows = session.execute(
            select(CustomerIdentity.kind, CustomerIdentity.value, Customer.user_id)
            .join(Customer, Customer.id == CustomerIdentity.customer_id)
            .where(
                CustomerIdentity.workspace_id == workspace_id,
                CustomerIdentity.kind.in_(("phone", "device_token")),
            )
        )
        return set(rows.all())


def live_customers(settings) -> int:
    with session_scope(settings) as session:
        return len(session.scalars(select(Customer).where(Customer.merged_into.is_(None))).all())


def test_identify_records_the_phone_in_e164_and_messages_their_device_token(shop, tmp_path):
    report = load(
        shop,
        tmp_path,
        [
            identify("1", "u-1", phone="+1 (415) 555-0123", context={"timezone": "Europe/Paris"}),
            identify("2", "u-2", phone="0044 20 7946 0958"),
            {
                "type": "track",
                "messageId": "3",
                "userId": "u-1",
                "event": "App Opened",
                "context": {"device": {"token": "apns-abc", "type": "ios"}},
            },
        ],
    )
    assert (report.loaded, report.errors) == (3, [])
    assert addresses(shop) == {
        ("phone", "+14155550123", "u-1"),
        ("phone", "+442079460958", "u-2"),
        ("device_token", "apns-abc", "u-1"),
    }
    with session_scope(shop) as session:
        recorded = session.scalars(
            select(CustomerIdentity.recorded_at).where(CustomerIdentity.kind == "phone")
        ).all()
    assert set(recorded) == {T1}
    assert addresses(shop, "other") == set()  # the workspace's own


def test_a_bad_phone_row_is_reported_with_its_line_and_the_rest_loads(shop, tmp_path):
    report = load(
        shop,
        tmp_path,
        [
            identify("1", "u-1", phone="+14155550123"),
            identify("2", "u-2", phone="(415) 555-0199"),
            identify("3", "u-3", phone="+33 6 12 34 56 78"),
        ],
    )
    assert report.loaded == 2
    assert [str(e) for e in report.errors] == [
        "line 2: traits.phone: has no country code; "
        "give the number in international form, e.g. +14155550123"
    ]
    assert {user for _, _, user in addresses(shop)} == {"u-1", "u-3"}
    with session_scope(shop) as session:
        assert session.scalars(select(Customer).where(Customer.user_id == "u-2")).first() is None
        assert len(session.scalars(select(Event)).all()) == 2


def test_the_latest_claim_takes_a_phone_or_token_from_another_customer(shop, tmp_path):
    load(
        shop,
        tmp_path,
        [
            identify("1", "u-1", at=T1, phone="+14155550123"),
            page("2", user_id="u-1", at=T1, token="tok-shared"),
            identify("3", "u-2", at=T2, phone="+1 415 555 0123"),
            page("4", user_id="u-2", at=T2, token="tok-shared"),
        ],
    )
    assert addresses(shop) == {
        ("phone", "+14155550123", "u-2"),
        ("device_token", "tok-shared", "u-2"),
    }
    # an older message (imported later) does not take them back
    load(
        shop,
        tmp_path,
        [identify("5", "u-1", at=T1, phone="+14155550123"), page("6", user_id="u-1", at=T1)],
        name="late.jsonl",
    )
    assert ("phone", "+14155550123", "u-2") in addresses(shop)
    assert ("device_token", "tok-shared", "u-2") in addresses(shop)


def test_a_new_phone_replaces_the_old_one_and_an_older_one_does_not(shop, tmp_path):
    load(
        shop,
        tmp_path,
        [
            identify("1", "u-1", at=T1, phone="+14155550101"),
            page("2", user_id="u-1", at=T1, token="tok-old"),
            identify("3", "u-1", at=T3, phone="+14155550103"),
            page("4", user_id="u-1", at=T3, token="tok-new"),
            identify("5", "u-1", at=T2, phone="+14155550102"),  # out of order: older
        ],
    )
    assert addresses(shop) == {
        ("phone", "+14155550103", "u-1"),
        ("device_token", "tok-new", "u-1"),
    }


def test_a_shared_phone_or_token_never_merges_profiles(shop, tmp_path):
    report = load(
        shop,
        tmp_path,
        [
            identify("1", anonymous_id="anon-1", phone="+14155550123"),
            page("2", anonymous_id="anon-1", token="tok-1"),
            identify("3", anonymous_id="anon-2", at=T2, phone="+14155550123"),
            page("4", anonymous_id="anon-2", at=T2, token="tok-1"),
        ],
    )
    assert (report.customers_created, report.customers_merged) == (2, 0)
    assert live_customers(shop) == 2
    with session_scope(shop) as session:
        owner = session.scalars(
            select(CustomerIdentity.customer_id).where(CustomerIdentity.value == "anon-2")
        ).one()
        holders = set(
            session.scalars(
                select(CustomerIdentity.customer_id).where(
                    CustomerIdentity.kind.in_(("phone", "device_token"))
                )
            )
        )
    assert holders == {owner}  # moved to the latest claimer, not merged with it


def test_a_merge_moves_phones_and_tokens_to_the_winner_keeping_the_latest(shop, tmp_path):
    report = load(
        shop,
        tmp_path,
        [
            identify("1", "u-7", at=T1, phone="+14155550101"),  # the winner's, older
            page("2", user_id="u-7", at=T2, token="tok-winner"),  # the winner's, newer
            identify("3", anonymous_id="anon-1", at=T2, phone="+14155550102"),
            page("4", anonymous_id="anon-1", at=T1, token="tok-anon"),
            identify("5", "u-7", anonymous_id="anon-1", at=T3),  # one person: merge
        ],
    )
    assert (report.loaded, report.customers_merged, report.errors) == (5, 1, [])
    assert live_customers(shop) == 1
    assert addresses(shop) == {
        ("phone", "+14155550102", "u-7"),  # the anonymous profile's phone was claimed later
        ("device_token", "tok-winner", "u-7"),
    }
