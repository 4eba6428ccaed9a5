"""The brand policy document: validation names the field, the version is the content hash."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from guardrails.policy import dump_policy_yaml, load_policy_file, parse_policy
from knowledge import DEMO_POLICY_FILE

RULE = {"id": "avoid.cheap", "phrase": "cheap", "replacement": "affordable", "source": "manual"}


def test_version_is_the_hash_of_the_content_and_survives_a_yaml_round_trip(tmp_path):
    policy = parse_policy({"avoid": [RULE]})
    same = parse_policy({"avoid": [dict(RULE)], "brand": ""})
    changed = parse_policy({"avoid": [{**RULE, "replacement": "low-cost"}]})
    assert policy.version == same.version != changed.version
    path = tmp_path / "policy.yaml"
    path.write_text(dump_policy_yaml(policy), encoding="utf-8")
    assert load_policy_file(path).version == policy.version


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"avoid": [{**RULE, "phrase": ""}]}, "policy.avoid[0].phrase"),
        ({"avoid": [{k: v for k, v in RULE.items() if k != "source"}]}, "policy.avoid[0].source"),
        (
            {"max_discount": [{"id": "d.x", "applies_to": "x", "max_percent": 120, "source": "m"}]},
            "policy.max_discount[0].max_percent",
        ),
        (
            {
                "channel_rules": [
                    {
                        "id": "sms.x",
                        "channel": "fax",
                        "kind": "max_chars",
                        "limit": 1,
                        "source": "m",
                    }
                ]
            },
            "policy.channel_rules[0].channel",
        ),
        (
            {
                "channel_rules": [
                    {"id": "sms.x", "channel": "sms", "kind": "max_chars", "source": "m"}
                ]
            },
            "policy.channel_rules[0]",
        ),
        ({"avoid": [RULE, {**RULE, "id": "avoid.two"}]}, "policy.avoid"),
        ({"tone": []}, "policy.tone"),
    ],
)
def test_a_bad_field_is_named_by_its_path(body, field):
    with pytest.raises(InvalidInput) as caught:
        parse_policy(body)
    assert caught.value.field == field


def test_duplicate_rule_ids_across_lists_are_refused():
    claim = {"id": "avoid.cheap", "phrase": "risk-free", "source": "manual"}
    with pytest.raises(InvalidInput, match="appears twice"):
        parse_policy({"avoid": [RULE], "banned_claims": [claim]})


def test_unreadable_and_invalid_yaml_files_name_the_file(tmp_path):
    with pytest.raises(InvalidInput) as caught:
        load_policy_file(tmp_path / "missing.yaml")
    assert caught.value.field == "FILE"
    bad = tmp_path / "bad.yaml"
    bad.write_text("avoid: [\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="not valid YAML"):
        load_policy_file(bad)
    bad.write_text("- just a list\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="mapping"):
        load_policy_file(bad)


def test_the_shipped_demo_policy_is_valid_and_every_extracted_rule_cites_a_chunk():
    policy = load_policy_file(DEMO_POLICY_FILE)
    assert policy.brand == "Brightloop"
    assert policy.rule_count() >= 100
    assert all("#chk_" in rule.source and rule.quote for _, rule in policy.rules())
