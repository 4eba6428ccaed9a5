"""The journey validator: each kind of problem from a journey that has it, with its path and fix;
the shipped journeys validate clean."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from core.contact_rules import Caps
from journeys.problems import Problem
from journeys.spec import parse_journey
from journeys.validate import Context, has_errors, validate, validate_data
from knowledge import JOURNEYS_DIR

SHIPPED = sorted(JOURNEYS_DIR.glob("*.yaml"))


def step(node_id: str, day: int, channel: str = "email", nxt: str | None = None, **extra: Any):
    node = {
        "id": node_id,
        "day": day,
        "channel": channel,
        "asset": {"title": f"{node_id} copy", "content": {"subject": "Hi {{ first_name }}"}},
        **extra,
    }
    if nxt is not None:
        node["next"] = nxt
    return node


def body() -> dict[str, Any]:
    """A clean journey: a welcome, a split on engagement, an SMS for opted-in customers."""
    return {
        "id": "JRN-TEST-001",
        "name": "Test",
        "trigger": {"type": "churn_risk"},
        "start": "welcome",
        "nodes": [
            step("welcome", 0, nxt="engaged"),
            {
                "kind": "split",
                "id": "engaged",
                "day": 3,
                "branches": [
                    {"when": {"engagement.trend": {"gt": 0}}, "next": "offer"},
                    {"label": "otherwise", "next": "sms-check"},
                ],
            },
            step("offer", 4),
            {
                "kind": "split",
                "id": "sms-check",
                "branches": [
                    {"when": {"consent.sms": "granted"}, "next": "text"},
                    {"label": "no opt-in"},
                ],
            },
            step("text", 5, "sms"),
        ],
        "exits": [{"id": "ordered", "event": "order.created", "outcome": "converted"}],
        "personalization": {"fields": [{"name": "first_name", "source": "traits.first_name"}]},
    }


def problems_of(change: Callable[[dict[str, Any]], Any], context: Context | None = None):
    data = copy.deepcopy(body())
    change(data)
    journey, problems = validate_data(data, context)
    return journey, problems


def codes(problems: list[Problem]) -> set[tuple[str, str]]:
    return {(p.code, p.path) for p in problems}


def test_the_base_journey_is_clean() -> None:
    journey, problems = validate_data(body())
    assert journey is not None
    assert problems == []


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_the_shipped_journeys_validate_clean(path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    journey, problems = validate_data(data)
    assert journey is not None, [p.line() for p in problems]
    assert problems == [], [p.line() for p in problems]


def test_the_shipped_set_is_the_blueprint_and_the_five_seed_triggers() -> None:
    names = {path.name for path in SHIPPED}
    assert names == {
        "activation-retention.yaml",
        "abandoned-cart.yaml",
        "churn-winback.yaml",
        "vip-milestone.yaml",
        "post-purchase.yaml",
        "segment-entry-onboarding.yaml",
    }
    triggers = {
        parse_journey(yaml.safe_load(p.read_text(encoding="utf-8"))).trigger.type for p in SHIPPED
    }
    assert triggers >= {
        "abandoned_cart",
        "churn_risk",
        "vip_milestone",
        "post_purchase",
        "segment_entry",
        "event",
    }


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        target = data
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return change


def _drop(path: list[Any]) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        target = data
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return change


GRAPH_CASES = [
    ("start_missing", "start", _set(["start"], "welcom"), "did you mean 'welcome'"),
    ("dangling_next", "nodes[0].next", _set(["nodes", 0, "next"], "engagd"), "'engaged'"),
    (
        "dangling_next",
        "nodes[1].branches[0].next",
        _set(["nodes", 1, "branches", 0, "next"], "nowhere"),
        "remove `next`",
    ),
    ("unreachable", "nodes[2]", _drop(["nodes", 1, "branches", 0, "next"]), "point a `next`"),
    (
        "split_no_otherwise",
        "nodes[1].branches",
        _drop(["nodes", 1, "branches", 1]),
        "without `when`",
    ),
    ("day_backwards", "nodes[2].day", _set(["nodes", 2, "day"], 2), "to 3 or later"),
    ("no_exit_criteria", "exits", _set(["exits"], []), "order.created"),
]


@pytest.mark.parametrize(("code", "path", "change", "fix"), GRAPH_CASES)
def test_each_graph_problem_names_its_path_and_fix(code, path, change, fix) -> None:
    _, problems = problems_of(change)
    found = [p for p in problems if p.code == code]
    assert found, [p.line() for p in problems]
    assert found[0].path == path, found[0].line()
    assert fix in found[0].fix, found[0].line()


def test_a_cycle_is_listed_and_no_path_from_it_ends() -> None:
    def change(data: dict[str, Any]) -> None:
        data["nodes"][2]["next"] = "engaged"  # offer -> engaged -> offer
        data["nodes"][1]["branches"][1]["next"] = "offer"  # otherwise -> offer too

    _, problems = problems_of(change)
    cycle = [p for p in problems if p.code == "cycle"]
    assert len(cycle) == 1 and cycle[0].message == "cycle: engaged -> offer -> engaged"
    stuck = {p.path for p in problems if p.code == "no_end"}
    assert stuck == {"nodes[0]", "nodes[1]", "nodes[2]"}
    assert has_errors(problems)


def test_days_going_backwards_through_an_untimed_split() -> None:
    def change(data: dict[str, Any]) -> None:
        data["nodes"][1].pop("day")
        data["nodes"][0]["day"] = 6  # welcome day 6 -> split -> offer day 4

    _, problems = problems_of(change)
    backwards = [p for p in problems if p.code == "day_backwards"]
    assert [(p.path, "'welcome' at day 6" in p.message) for p in backwards] == [
        ("nodes[2].day", True),
        ("nodes[4].day", True),
    ]


def test_a_schedule_that_breaks_the_journey_caps_is_explained() -> None:
    def change(data: dict[str, Any]) -> None:
        data["caps"] = {"email": {"week": 1}}

    _, problems = problems_of(change)
    cap = [p for p in problems if p.code == "cap_exceeded"]
    assert len(cap) == 1, [p.line() for p in problems]
    assert cap[0].path == "nodes[2]"
    assert "2 email touches within 7 days" in cap[0].message
    assert "welcome day 0, offer day 4" in cap[0].message
    assert "the journey's email cap 1/week" in cap[0].message
    assert "caps.email.week" in cap[0].fix


def test_the_workspace_caps_count_backup_channels_and_the_flood_limit() -> None:
    def change(data: dict[str, Any]) -> None:
        data["nodes"][0].update(backup_channel="push", backup_asset={"title": "push copy"})
        data["nodes"][2]["channel"] = "push"  # offer on push, one day after the split

    strict = Context(caps=Caps(per_day={"push": 1}, per_week={"push": 1}), note="test")
    _, problems = problems_of(change, strict)
    cap = [p for p in problems if p.code == "cap_exceeded"]
    assert [p.path for p in cap] == ["nodes[2]"], [p.line() for p in problems]
    assert "welcome day 0 (backup), offer day 4" in cap[0].message
    assert "the workspace's push cap 1/week" in cap[0].message

    def crowded(data: dict[str, Any]) -> None:
        for node in data["nodes"]:
            node.pop("day", None) if node.get("kind") == "split" else node.update(day=0)
        data["nodes"][2].update(channel="in_app", next="sms-check")

    flood = Context(flood_per_day=2, note="test")
    _, problems = problems_of(crowded, flood)
    messages = [p.message for p in problems if p.code == "cap_exceeded"]
    assert any("flood cross-channel cap 2/day" in m for m in messages), messages


def test_sms_without_an_opt_in_path_is_an_error_and_push_a_warning() -> None:
    def sms_for_all(data: dict[str, Any]) -> None:
        data["nodes"][1]["branches"][1]["next"] = "text"  # otherwise -> SMS, no opt-in check

    _, problems = problems_of(sms_for_all)
    consent = [p for p in problems if p.code == "no_consent_path"]
    assert [(p.severity, p.path) for p in consent] == [("error", "nodes[4].channel")]
    assert "SMS needs an opt-in" in consent[0].message

    def entry_requires(data: dict[str, Any]) -> None:
        sms_for_all(data)
        data["target"] = {"exclusion": {"consent.sms": {"ne": "granted"}}}

    _, problems = problems_of(entry_requires)
    assert not [p for p in problems if p.code == "no_consent_path"]

    def push(data: dict[str, Any]) -> None:
        data["nodes"][2]["channel"] = "push"

    _, problems = problems_of(push)
    consent = [p for p in problems if p.code == "no_consent_path"]
    assert [(p.severity, p.path) for p in consent] == [("warning", "nodes[2].channel")]
    assert not has_errors(problems)


def test_a_branch_after_one_that_excludes_consent_implies_it() -> None:
    def change(data: dict[str, Any]) -> None:
        data["nodes"][3]["branches"] = [
            {"when": {"consent.sms": {"in": ["revoked", "none"]}}},
            {"label": "the rest", "next": "text"},
        ]

    _, problems = problems_of(change)
    assert not [p for p in problems if p.code == "no_consent_path"], [p.line() for p in problems]


def test_unknown_template_variables_and_broken_templates() -> None:
    def change(data: dict[str, Any]) -> None:
        data["nodes"][0]["asset"]["content"] = {
            "subject": "Hi {{ frist_name }} at {{ email }}",
            "body": "{% if x %}unclosed",
        }

    _, problems = problems_of(change)
    variable = [p for p in problems if p.code == "unknown_variable"]
    assert len(variable) == 1 and variable[0].path == "nodes[0].asset.content.subject"
    assert "'frist_name'" in variable[0].message and "did you mean 'first_name'" in variable[0].fix
    syntax = [p for p in problems if p.code == "template_syntax"]
    assert [p.path for p in syntax] == ["nodes[0].asset.content.body"]


def test_exits_to_unknown_journeys_only_with_a_context() -> None:
    def change(data: dict[str, Any]) -> None:
        data["exits"].append(
            {"id": "later", "after_days": 30, "outcome": "transition", "transition_to": "JRN-RET"}
        )

    _, problems = problems_of(change)
    assert not [p for p in problems if p.code == "unknown_transition"]
    context = Context(journeys=frozenset({"JRN-RETENTION"}))
    _, problems = problems_of(change, context)
    found = [p for p in problems if p.code == "unknown_transition"]
    assert [p.path for p in found] == ["exits[1].transition_to"]
    assert "did you mean 'JRN-RETENTION'" in found[0].fix
    _, problems = problems_of(change, Context(journeys=frozenset({"JRN-RET"})))
    assert not [p for p in problems if p.code == "unknown_transition"]


def test_unknown_segments_only_with_a_context() -> None:
    def change(data: dict[str, Any]) -> None:
        data["trigger"] = {"type": "segment_entry", "segment": "New Customer"}

    context = Context(segments=frozenset({"New Customers", "VIP"}))
    _, problems = problems_of(change, context)
    found = [p for p in problems if p.code == "unknown_segment"]
    assert [p.path for p in found] == ["trigger.segment"]
    assert "'New Customers'" in found[0].fix


def test_steps_after_an_after_days_exit_never_run() -> None:
    _, problems = problems_of(lambda d: d["exits"].append({"id": "soon", "after_days": 4}))
    found = [p for p in problems if p.code == "steps_after_exit"]
    assert [p.path for p in found] == ["nodes[4].day"]


def test_experiment_variants_that_lead_nowhere_and_holdout_without_goal() -> None:
    def change(data: dict[str, Any]) -> None:
        data["start"] = "test"
        data["nodes"].append(
            {
                "kind": "experiment",
                "id": "test",
                "variants": [{"id": "a", "next": "welcome"}, {"id": "b"}],
            }
        )

    _, problems = problems_of(change)
    assert ("variant_leads_nowhere", "nodes[5].variants[1].next") in codes(problems)
    assert ("holdout_no_goal", "goal") in codes(problems)
    assert not has_errors(problems)

    def same(data: dict[str, Any]) -> None:
        change(data)
        data["nodes"][5]["variants"][1]["next"] = "welcome"
        data["goal"] = {"kind": "order", "within_days": 14}

    _, problems = problems_of(same)
    assert codes(problems) == {("variants_identical", "nodes[5].variants")}

    _, problems = problems_of(_set(["holdout"], 0.1))
    assert codes(problems) == {("holdout_no_goal", "goal")}


def test_an_active_journey_needs_approved_items() -> None:
    def change(data: dict[str, Any]) -> None:
        data["status"] = "active"
        for node in data["nodes"]:
            if "asset" in node:
                node["asset"]["ref"] = "apv_1"
        data["nodes"][2]["asset"].pop("ref")

    _, problems = problems_of(change)
    assert codes(problems) == {("asset_without_ref", "nodes[2].asset.ref")}


def test_two_high_value_offers_within_the_cooldown() -> None:
    def change(data: dict[str, Any]) -> None:
        data["nodes"][0]["high_value"] = True
        data["nodes"][2]["high_value"] = True

    _, problems = problems_of(change)
    assert codes(problems) == {("high_value_cooldown", "nodes[2]")}


def test_every_shape_error_comes_back_with_did_you_mean() -> None:
    def change(data: dict[str, Any]) -> None:
        data["nodes"][0]["chanel"] = "email"
        data["nodes"][2]["day"] = -1
        data["nodes"][1]["branches"][0]["when"] = {"engagement.trnd": {"gt": 0}}
        data["trigger"] = {"type": "churn-risk"}
        data["target"] = {"entry": {"churn.risk": {"gte": 0.5}}, "exlusion": {}}
        data["nodes"][3]["kind"] = "splitt"
        del data["name"]
        data["holdout"] = 0.7

    journey, problems = problems_of(change)
    assert journey is None
    found = {(p.code, p.path): p for p in problems}
    assert set(found) == {
        ("unknown_field", "nodes[0].chanel"),
        ("bad_value", "nodes[2].day"),
        ("bad_criteria", "nodes[1].branches[0].when.engagement.trnd"),
        ("unknown_kind", "trigger.type"),
        ("unknown_field", "target.exlusion"),
        ("unknown_kind", "nodes[3].kind"),
        ("missing_field", "name"),
        ("bad_value", "holdout"),
    }, [p.line() for p in problems]
    assert "did you mean 'channel'" in found["unknown_field", "nodes[0].chanel"].fix
    assert "did you mean 'exclusion'" in found["unknown_field", "target.exlusion"].fix
    assert (
        "engagement.trend" in found["bad_criteria", "nodes[1].branches[0].when.engagement.trnd"].fix
    )
    assert "'churn_risk'" in found["unknown_kind", "trigger.type"].fix
    assert "'split'" in found["unknown_kind", "nodes[3].kind"].fix
    assert all(p.is_error for p in problems)


def test_not_a_mapping() -> None:
    journey, problems = validate_data(["a", "list"])
    assert journey is None and [p.code for p in problems] == ["not_a_mapping"]


def test_problems_are_plain_data_with_one_line_each() -> None:
    _, problems = problems_of(_set(["start"], "nope"))
    line = problems[0].line()
    assert "\n" not in line and line.startswith("error start: ")
    assert problems[0].as_dict()["code"] == "start_missing"
    assert validate(parse_journey(body())) == []
