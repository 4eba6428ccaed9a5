"""Next best action, the pure decision: constraints block with reasons, ranking follows the
documented score, rationales quote the reason codes, and it is deterministic."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from core.errors import InvalidInput
from scoring.action_inventory import default_inventory, parse_inventory
from scoring.nba import CustomerContext, Eligibility, Touch, decide

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
ALL = {"email": "granted", "sms": "granted", "push": "granted", "in_app": "granted"}


def inventory(**changes):
    body = default_inventory().model_dump(mode="json")
    body.update(changes)
    return parse_inventory(body)


def at_risk(**changes) -> CustomerContext:
    values = {
        "customer_id": "c1",
        "stage": "at_risk",
        "churn_risk": 0.72,
        "upgrade_propensity": 0.05,
        "churn_reasons": ["no order for 52 days", "opened 0 of 3 emails in 90 days"],
        "preferred_channel": "email",
        "consent": ALL,
        "rfm_composite": 20,
    }
    values.update(changes)
    return CustomerContext(**values)


def ids(decision):
    return [a.action_id for a in decision.actions]


def blocked(decision):
    return {b.action_id: b.constraint for b in decision.blocked}


def test_an_at_risk_customer_gets_the_winback_offer_first_with_its_reasons():
    decision = decide(at_risk(), inventory(), NOW)
    first = decision.primary
    assert first.action_id == "email-winback-offer"
    assert first.rationale == (
        "Because no order for 52 days and opened 0 of 3 emails in 90 days (churn risk 72%); "
        "via email, their preferred channel."
    )
    assert first.confidence == pytest.approx(0.72)
    assert len(decision.actions) == 3
    scores = [a.score for a in decision.actions]
    assert scores == sorted(scores, reverse=True)


def test_upgrade_intent_ranks_expansion_actions():
    context = at_risk(
        stage="expansion",
        churn_risk=0.1,
        upgrade_propensity=0.64,
        upgrade_reasons=["3 pricing-page views in 7 days"],
    )
    decision = decide(context, inventory(), NOW)
    assert decision.primary.action_id == "email-advanced-features"
    assert "3 pricing-page views in 7 days (upgrade propensity 64%)" in decision.primary.rationale


def test_consent_suppression_and_eligibility_block_with_reasons():
    context = at_risk(
        consent={"email": "revoked", "sms": "none", "push": "granted", "in_app": "granted"},
        eligibility={"push-reorder-reminder": Eligibility(False, "orders.count: 1 is not >= 2")},
        suppressed={"in_app": "complaint"},
    )
    decision = decide(context, inventory(), NOW)
    why = blocked(decision)
    assert why["email-winback-offer"] == "consent"
    assert why["sms-cart-reminder"] == "consent"
    assert why["push-reorder-reminder"] == "ineligible"
    assert why["inapp-bundle-spotlight"] == "suppressed"
    assert decision.actions == []
    detail = {b.action_id: b.detail for b in decision.blocked}
    assert detail["push-reorder-reminder"] == "orders.count: 1 is not >= 2"
    assert detail["email-winback-offer"] == "no email opt-in (revoked)"


def test_caps_and_cooldowns():
    touches = [
        Touch("email", "email-referral-invite", NOW - timedelta(days=2)),
        Touch("email", "newsletter", NOW - timedelta(days=5)),
    ]
    decision = decide(at_risk(touches=touches), inventory(), NOW)
    assert blocked(decision)["email-winback-offer"] == "cap_week"  # email 2/week reached

    today = [Touch("email", "newsletter", NOW - timedelta(hours=3))]
    assert blocked(decide(at_risk(touches=today), inventory(), NOW))["email-winback-offer"] == (
        "cap_day"
    )

    offer = [Touch("email", "email-vip-early-access", NOW - timedelta(days=9))]
    assert blocked(decide(at_risk(touches=offer), inventory(), NOW))["email-winback-offer"] == (
        "high_value_cooldown"
    )

    again = [Touch("email", "email-winback-offer", NOW - timedelta(days=20))]
    decision = decide(at_risk(touches=again), inventory(), NOW)
    cooldown = next(b for b in decision.blocked if b.action_id == "email-winback-offer")
    assert (cooldown.constraint, cooldown.detail) == (
        "cooldown",
        "sent 20 days ago; cooldown 30 days",
    )

    many = [Touch("in_app", f"x{i}", NOW - timedelta(days=1, hours=i)) for i in range(8)]
    assert blocked(decide(at_risk(touches=many), inventory(), NOW))["email-winback-offer"] == (
        "cap_total"
    )


def test_blackout_and_channel_health():
    body = {
        "blackouts": [{"start": "2026-11-19", "end": "2026-11-21", "channels": ["email"]}],
        "channel_health": {"push": "down", "in_app": "degraded"},
    }
    decision = decide(at_risk(), inventory(**body), NOW)
    why = blocked(decision)
    assert why["email-winback-offer"] == "blackout"
    assert why["push-reorder-reminder"] == "channel_down"
    spotlight = decide(at_risk(stage="retention"), inventory(), NOW, top=20)
    degraded = decide(
        at_risk(stage="retention"), inventory(channel_health={"in_app": "degraded"}), NOW, top=20
    )

    def confidence(decision, action_id):
        return next((a.confidence for a in decision.actions if a.action_id == action_id), None)

    plain = confidence(spotlight, "inapp-cross-sell-accessories")
    lowered = confidence(degraded, "inapp-cross-sell-accessories")
    assert plain is not None and lowered == pytest.approx(plain * 0.7, abs=1e-3)


def test_fatigue_lowers_confidence_and_it_is_deterministic():
    fresh = decide(at_risk(), inventory(), NOW)
    tired = decide(
        at_risk(touches=[Touch("push", "x", NOW - timedelta(days=3))] * 4), inventory(), NOW
    )
    assert tired.primary.confidence < fresh.primary.confidence
    assert decide(at_risk(), inventory(), NOW) == fresh


def test_inventory_validation_names_the_path():
    body = default_inventory().model_dump(mode="json")
    body["actions"][2]["channel"] = "fax"
    with pytest.raises(InvalidInput) as caught:
        parse_inventory(body)
    assert caught.value.field == "inventory.actions[2].channel"
    body = default_inventory().model_dump(mode="json")
    body["actions"].append(dict(body["actions"][0]))
    with pytest.raises(InvalidInput, match="appears twice"):
        parse_inventory(body)
    with pytest.raises(InvalidInput) as caught:
        parse_inventory({**body, "blackouts": [{"start": date(2026, 1, 2), "end": "2026-01-01"}]})
    assert caught.value.field.startswith("inventory.blackouts[0]")
