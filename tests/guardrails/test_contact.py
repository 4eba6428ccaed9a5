"""The contact decision, pure: each rule blocks with its reason, in order, at its exact
boundary, and retry_at is the first moment every rule passes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from core.contact_rules import Caps, Touch
from core.errors import InvalidInput
from guardrails.contact import (
    ConsentRecord,
    ContactAction,
    CustomerState,
    SuppressionEntry,
    contact_decision,
)
from guardrails.contact_policy import ContactPolicy, ContactRules, QuietHours

NOW = datetime(2026, 11, 20, 15, tzinfo=UTC)  # 15:00 UTC: daytime in Paris and UTC
H = timedelta(hours=1)
D = timedelta(days=1)
GRANTED = {
    ch: ConsentRecord("granted", "signup form", NOW - 100 * D)
    for ch in ("email", "sms", "push", "in_app")
}
POLICY = ContactPolicy()
OFFER = ContactAction("winback-15", high_value=True)
PLAIN = ContactAction("newsletter")


def state(**changes) -> CustomerState:
    values = {"customer_id": "c1", "timezone": "Europe/Paris", "consent": GRANTED}
    values.update(changes)
    return CustomerState(**values)


def decide(s: CustomerState, channel="email", trigger=None, action=PLAIN, policy=POLICY, now=NOW):
    return contact_decision(s, channel, trigger, action, policy, now)


def test_a_consented_customer_with_no_history_may_be_contacted():
    decision = decide(state())
    assert decision.allowed and decision.rule == "allowed" and decision.retry_at is None


def test_no_opt_in_on_record_blocks_for_good():
    decision = decide(state(consent={}), channel="sms")
    assert (decision.allowed, decision.rule, decision.retry_at) == (False, "consent", None)
    assert decision.detail == "no sms opt-in on record"


def test_a_revoked_consent_names_its_provenance():
    revoked = {**GRANTED, "email": ConsentRecord("revoked", "unsubscribe:c-9", NOW - 2 * D)}
    decision = decide(state(consent=revoked))
    assert decision.rule == "consent"
    assert decision.detail == "email consent revoked by unsubscribe:c-9 on 2026-11-18"
    assert decide(state(consent=revoked), channel="sms").allowed


def test_a_channel_suppression_blocks_that_channel_only():
    bounced = state(suppressions=[SuppressionEntry("email", "bounce", "email_event:7", NOW - D)])
    decision = decide(bounced)
    assert decision.rule == "suppressed" and decision.retry_at is None
    assert decision.detail == "email suppressed: bounce (email_event:7, 2026-11-19)"
    assert decide(bounced, channel="push").allowed


def test_an_all_channel_suppression_blocks_every_channel():
    out = state(suppressions=[SuppressionEntry("all", "unsubscribe", "opt-out link", NOW - H)])
    for channel in ("email", "sms", "push", "in_app"):
        decision = decide(out, channel=channel)
        assert decision.rule == "suppressed" and "every channel" in decision.detail


def test_consent_is_checked_before_suppression():
    both = state(consent={}, suppressions=[SuppressionEntry("all", "manual", "ops", NOW)])
    assert decide(both).rule == "consent"


def test_the_same_trigger_reaches_a_customer_once_per_24_hours_to_the_second():
    sent = NOW - 23 * H
    s = state(touches=[Touch("push", "cart-push", sent, trigger_id="cart:42")])
    decision = decide(s, channel="sms", trigger="cart:42")
    assert decision.rule == "trigger_once" and decision.retry_at == sent + D
    assert decide(s, channel="sms", trigger="cart:43").allowed
    assert decide(s, channel="sms").allowed  # no trigger: the rule does not apply
    just_before = sent + D - timedelta(seconds=1)
    assert not decide(s, channel="sms", trigger="cart:42", now=just_before).allowed
    assert decide(s, channel="sms", trigger="cart:42", now=sent + D).allowed


def test_the_high_value_cooldown_is_14_days_and_applies_to_high_value_offers_only():
    sent = NOW - 13 * D
    s = state(touches=[Touch("email", "vip-20", sent, high_value=True)])
    decision = decide(s, channel="sms", action=OFFER)
    assert decision.rule == "high_value_cooldown"
    assert decision.retry_at == sent + 14 * D
    assert decide(s, channel="sms", action=PLAIN).allowed
    assert decide(s, channel="sms", action=OFFER, now=sent + 14 * D).allowed


def test_caps_block_at_the_limit_with_the_moment_they_lift():
    s = state(touches=[Touch("sms", None, NOW - 3 * D)])
    decision = decide(s, channel="sms")
    assert decision.rule == "cap_week" and decision.detail == "sms cap 1/week reached"
    assert decision.retry_at == NOW + 4 * D


def test_the_flood_limit_counts_every_channel_in_24_hours():
    rules = ContactRules(flood_per_day=3, quiet_hours=None)
    policy = ContactPolicy(rules=rules, caps=Caps(per_day={}, per_week={}, total_per_week=50))
    touches = [Touch(ch, None, NOW - h * H) for ch, h in (("email", 1), ("push", 5), ("sms", 9))]
    decision = decide(state(touches=touches[:2]), channel="in_app", policy=policy)
    assert decision.allowed
    decision = decide(state(touches=touches), channel="in_app", policy=policy)
    assert decision.rule == "flood"
    assert decision.detail == "flood limit 3 messages/24 h reached (all channels)"
    assert decision.retry_at == NOW - 9 * H + D


def test_quiet_hours_in_the_customers_zone_give_the_next_allowed_time():
    night = datetime(2026, 11, 20, 22, tzinfo=UTC)  # 23:00 in Paris (CET)
    decision = decide(state(), channel="sms", now=night)
    assert decision.rule == "quiet_hours"
    assert decision.detail == "23:00 in Europe/Paris is inside quiet hours 21:00-08:00"
    assert decision.retry_at == datetime(2026, 11, 21, 7, tzinfo=UTC)  # 08:00 CET
    assert decide(state(), channel="in_app", now=night).allowed  # not a quiet channel
    assert decide(state(timezone="America/New_York"), channel="sms", now=night).allowed  # 17:00


def test_an_unknown_or_missing_zone_falls_back_to_the_workspace_default():
    night = datetime(2026, 11, 20, 22, tzinfo=UTC)
    decision = decide(state(timezone="Mars/Olympus"), channel="sms", now=night)
    assert decision.rule == "quiet_hours"
    assert "unknown time zone 'Mars/Olympus', so UTC" in decision.detail
    assert decision.retry_at == datetime(2026, 11, 21, 8, tzinfo=UTC)
    tokyo = ContactPolicy(rules=ContactRules(default_timezone="Asia/Tokyo"))
    decision = decide(state(timezone=None), channel="sms", now=night, policy=tokyo)
    assert decision.detail.startswith("07:00 in Asia/Tokyo")
    assert decision.detail.endswith("no time zone, so Asia/Tokyo")
    assert decision.retry_at == datetime(2026, 11, 20, 23, tzinfo=UTC)  # 08:00 in Tokyo


def test_retry_at_is_when_every_rule_passes_not_just_the_first():
    # The day cap lifts at 23:00 Paris time, inside quiet hours: the send waits for 08:00.
    sent = datetime(2026, 11, 19, 22, tzinfo=UTC)  # 23:00 CET yesterday
    s = state(touches=[Touch("push", None, sent)])
    decision = decide(s, channel="push", now=datetime(2026, 11, 20, 12, tzinfo=UTC))
    assert decision.rule == "cap_day"
    assert decision.retry_at == datetime(2026, 11, 21, 7, tzinfo=UTC)


def test_a_zero_cap_cannot_be_waited_out():
    policy = ContactPolicy(caps=Caps(per_day={"sms": 0}))
    decision = decide(state(), channel="sms", policy=policy)
    assert decision.rule == "cap_day" and decision.retry_at is None


def test_bad_inputs_name_the_field():
    with pytest.raises(InvalidInput) as caught:
        decide(state(), channel="fax")
    assert caught.value.field == "channel"
    with pytest.raises(InvalidInput) as caught:
        decide(state(), now=datetime(2026, 11, 20, 12))
    assert caught.value.field == "now"


def test_quiet_hours_can_cover_every_channel_or_none():
    night = datetime(2026, 11, 20, 22, tzinfo=UTC)
    everywhere = ContactPolicy(
        rules=ContactRules(
            quiet_hours=QuietHours(
                start=time(22), end=time(7), channels=("email", "sms", "push", "in_app")
            )
        )
    )
    assert decide(state(), channel="in_app", now=night, policy=everywhere).rule == "quiet_hours"
    off = ContactPolicy(rules=ContactRules(quiet_hours=None))
    assert decide(state(), channel="sms", now=night, policy=off).allowed
