"""Provider feedback, decided: parsing with field names, and what each event type does."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from journeys.feedback import Effect, effect_of, parse_events

EVENT = {
    "id": "evt_1",
    "type": "open",
    "provider_message_id": "<m1@example.com>",
    "occurred_at": "2026-11-20T11:00:00Z",
    "channel": "email",
}


def one(**overrides):
    return parse_events({**EVENT, **overrides})[0]


def test_one_event_or_a_list_and_unknown_fields_are_ignored():
    assert [e.id for e in parse_events(EVENT)] == ["evt_1"]
    many = parse_events([EVENT, {**EVENT, "id": "evt_2", "extra": {"ua": "x"}}])
    assert [e.id for e in many] == ["evt_1", "evt_2"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({**EVENT, "type": "opened"}, "type"),
        ({k: v for k, v in EVENT.items() if k != "provider_message_id"}, "provider_message_id"),
        ({**EVENT, "channel": "fax"}, "channel"),
        ({**EVENT, "occurred_at": "2026-11-20T11:00:00"}, "occurred_at"),
        ({**EVENT, "bounce_type": "medium"}, "bounce_type"),
        ([EVENT, {**EVENT, "id": ""}], "[1].id"),
        ([EVENT, "evt"], "[1]"),
        ([], "body"),
        ("evt", "body"),
    ],
)
def test_bad_events_are_refused_naming_the_field(payload, field):
    with pytest.raises(InvalidInput) as caught:
        parse_events(payload)
    assert caught.value.field == field


def test_what_each_event_does():
    assert effect_of(one(type="delivered")) == Effect(email_event="delivered")
    assert effect_of(one(type="click", channel="sms")) == Effect()
    assert effect_of(one(type="bounce", bounce_type="hard")) == Effect("bounce", suppress="bounce")
    assert effect_of(one(type="bounce")) == Effect("bounce", suppress="bounce")  # unknown: hard
    assert effect_of(one(type="bounce", bounce_type="soft")) == Effect()  # recorded only
    assert effect_of(one(type="complaint")) == Effect("complaint", suppress="complaint")
    assert effect_of(one(type="unsubscribe")) == Effect("unsubscribe", opt_out="email")
    assert effect_of(one(type="unsubscribe", channel="sms", scope="all")) == Effect(opt_out="all")
