"""Content checks on copy: each kind of rule finds what it should and leaves clean copy alone."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from guardrails.copy_asset import CopyAsset
from guardrails.copy_checks import check_copy
from guardrails.findings import passes
from guardrails.policy import BrandPolicy, load_policy_file, parse_policy
from guardrails.sms import sms_size
from knowledge import DEMO_POLICY_FILE

POLICY = load_policy_file(DEMO_POLICY_FILE)
FOOTER = (
    "\n\nUnsubscribe: https://brightloop.com/unsubscribe\n"
    "Brightloop, Inc., 2150 Harbor Point Drive, Suite 400, Portland, OR 97209, USA"
)


def email(body: str, **kwargs) -> CopyAsset:
    kwargs.setdefault("subject", "Your products are still saved in Brightloop")
    kwargs.setdefault(
        "preheader", "Pick up where you left off; your reports are kept for 12 months."
    )
    return CopyAsset(channel="email", body=body + FOOTER, **kwargs)


def ids(findings) -> list[str]:
    return [f.rule_id for f in findings]


@pytest.mark.parametrize(
    "text", ["Try it risk-free", "Try it Risk free", "try it RISK‑FREE", "totally riskfree"]
)
def test_banned_claims_are_found_in_every_spelling(text):
    found = check_copy(POLICY, email(text))
    assert "claim.risk-free" in ids(found)
    hit = next(f for f in found if f.rule_id == "claim.risk-free")
    assert hit.severity == "block" and hit.fix and "#chk_" in hit.source
    assert text[hit.start : hit.end].lower().replace("‑", "-").startswith("risk")


@pytest.mark.parametrize("word", ["guarantee", "guaranteed", "guarantees", "Guaranteeing"])
def test_inflections_are_found_and_negations_are_not(word):
    assert "claim.guarantee" in ids(check_copy(POLICY, email(f"We {word} a busy season.")))
    for negated in (
        "Individual results vary and are not guaranteed.",
        "We can't guarantee a busy season.",
        "We cannot guarantee a busy season.",
        "Results aren’t guaranteed.",
    ):
        assert "claim.guarantee" not in ids(check_copy(POLICY, email(negated))), negated


def test_a_required_text_matches_with_a_hyphen_or_a_space():
    for body in (
        "Brightloop: Your report is ready. Reply STOP to opt-out",
        "Brightloop: Your report is ready. Reply STOP to opt out",
    ):
        assert "sms.stop_text" not in ids(check_copy(POLICY, CopyAsset(channel="sms", body=body)))
    missing = CopyAsset(channel="sms", body="Brightloop: Your report is ready.")
    assert "sms.stop_text" in ids(check_copy(POLICY, missing))


def test_an_avoided_word_carries_its_replacement_and_span():
    asset = email("Cheap plans for every shop.")
    finding = next(f for f in check_copy(POLICY, asset) if f.rule_id.startswith("avoid."))
    assert finding.severity == "warn"
    assert asset.body[finding.start : finding.end] == "Cheap plans"
    assert "affordable" in finding.fix


def test_words_inside_a_required_disclaimer_are_not_findings():
    body = (
        "Ember and Oak grew revenue, as our case study shows. Results reported by Ember and Oak "
        "for 2025. Individual results vary and are not guaranteed."
    )
    assert check_copy(POLICY, email(body)) == []


def test_sms_segments_follow_gsm7_and_ucs2():
    assert sms_size("a" * 160).segments == 1 and sms_size("a" * 161).segments == 2
    assert sms_size("a" * 306).segments == 2 and sms_size("a" * 307).segments == 3
    assert sms_size("€" * 80).units == 160  # the extension table takes two septets
    assert sms_size("’" + "a" * 69).segments == 1 and sms_size("’" + "a" * 70).segments == 2
    assert sms_size("’" + "a" * 133).segments == 2 and sms_size("’" + "a" * 134).segments == 3
    ucs2 = sms_size("Hi 🎉")  # an emoji is two UTF-16 units
    assert (ucs2.encoding, ucs2.units, ucs2.first_non_gsm) == ("UCS-2", 5, 3)


def test_sms_rules_stop_text_prefix_and_length():
    body = "Brightloop: " + "x" * 300 + " Reply STOP to opt out"
    assert ids(check_copy(POLICY, CopyAsset(channel="sms", body=body))) == ["sms.segments"]
    found = ids(check_copy(POLICY, CopyAsset(channel="sms", body="Your report is ready.")))
    assert {"sms.stop_text", "sms.sender_prefix"} <= set(found)


def test_email_needs_unsubscribe_link_postal_address_and_a_short_subject():
    asset = CopyAsset(channel="email", subject="S" * 61, preheader="p" * 50, body="Hello.")
    found = check_copy(POLICY, asset)
    assert {"email.unsubscribe", "email.postal_address", "email.subject_length"} <= set(ids(found))
    assert passes([]) and not passes(found)


def test_built_in_channel_rules_apply_without_a_policy():
    found = ids(check_copy(BrandPolicy(), CopyAsset(channel="sms", body="Sale today")))
    assert found == ["sms.stop_text"]


def test_discounts_above_the_cap_that_applies():
    over = CopyAsset(
        channel="sms",
        body="Brightloop: 40% off your Growth plan. Terms: blp.link/terms Reply STOP to opt out",
    )
    finding = next(f for f in check_copy(POLICY, over) if f.rule_id.startswith("discount."))
    assert finding.rule_id == "discount.saas-plan-fees-monthly-billing"
    assert over.body[finding.start : finding.end] == "40% off"
    bundle = (
        "Brightloop: 30% off the Pop-Up Kit bundle. Terms: blp.link/terms Reply STOP to opt out"
    )
    assert check_copy(POLICY, CopyAsset(channel="sms", body=bundle)) == []
    amount = "Brightloop: $100 off Reader Pro hardware. Terms: blp.link/terms Reply STOP to opt out"
    assert "discount.individual-hardware-items" in ids(
        check_copy(POLICY, CopyAsset(channel="sms", body=amount, price=299))
    )
    assert check_copy(POLICY, CopyAsset(channel="sms", body=amount, price=1000)) == []


def test_required_disclaimers_follow_offer_type_and_triggers():
    found = check_copy(POLICY, email("Here is 20% off your Growth plan."))
    assert ids(found) == ["disclaimer.saas-plan-discount"]
    assert found[0].fix.startswith("add word for word: Offer valid for new subscriptions")
    typed = email("A spring offer just for you.", offer_type="hardware_discount")
    assert "disclaimer.hardware-discount" in ids(check_copy(POLICY, typed))


def test_template_variables_and_leftover_merge_tags():
    asset = email(
        "Hi {{ first_name }}, {{ plan }} is saved. %%X%% [date]",
        variables=frozenset({"first_name"}),
    )
    found = [f for f in check_copy(POLICY, asset) if f.rule_id.startswith("template.")]
    assert [(f.rule_id, f.text) for f in found] == [
        ("template.missing_variable", "{{ plan }}"),
        ("template.unresolved", "%%X%%"),
        ("template.unresolved", "[date]"),
    ]


def test_personal_data_blocks_but_the_brands_own_contacts_do_not():
    found = check_copy(POLICY, email("Write to jane@example.org or call (415) 555-0199."))
    assert ids(found) == ["pii.email", "pii.phone"]
    ok = "Brightloop: Help at brightloop.com/help or 1-800-555-0148. Reply STOP to opt out"
    assert check_copy(POLICY, CopyAsset(channel="sms", body=ok)) == []


def test_tone_and_regional_rules():
    found = ids(check_copy(POLICY, email("Spring pricing ends TODAY! Really!")))
    assert {"tone.all_caps", "tone.exclamation_marks"} <= set(found)
    priced = email("Plans from $29/month on Starter. Transaction fees apply.", region="EU")
    assert ids(check_copy(POLICY, priced)) == ["regional.excl-vat"]
    uk_sms = CopyAsset(channel="sms", body="Brightloop: hi. Reply STOP to opt out", region="UK")
    assert ids(check_copy(POLICY, uk_sms)) == ["regional.no-sms.eu-uk"]


def test_findings_come_blocks_first_then_by_field_and_position():
    found = check_copy(POLICY, email("Cheap and seamless. Guaranteed results."))
    severities = [f.severity for f in found]
    assert severities == sorted(severities, key=["block", "warn"].index)


def test_bad_assets_name_the_field():
    with pytest.raises(InvalidInput) as caught:
        CopyAsset(channel="fax", body="x")
    assert caught.value.field == "channel"
    with pytest.raises(InvalidInput) as caught:
        CopyAsset(channel="sms", body="x", subject="s")
    assert caught.value.field == "subject"
    with pytest.raises(InvalidInput) as caught:
        CopyAsset(channel="sms", body="x", region="FR")
    assert caught.value.field == "region"


def test_a_policy_written_by_hand_is_checked_the_same_way():
    policy = parse_policy(
        {
            "banned_claims": [
                {
                    "id": "claim.cure",
                    "phrase": "cures",
                    "category": "health",
                    "source": "manual: legal",
                }
            ]
        }
    )
    found = check_copy(
        policy, CopyAsset(channel="push", title="Tea", body="This tea cured my cold")
    )
    assert [(f.rule_id, f.text, f.source) for f in found] == [
        ("claim.cure", "cured", "manual: legal")
    ]
