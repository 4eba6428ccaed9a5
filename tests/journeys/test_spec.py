"""The journey spec: shapes, references and the paths its errors name."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from core.errors import InvalidInput
from journeys.spec import Journey, Split, Step, next_version, parse_journey


def body() -> dict[str, Any]:
    return {
        "id": "JRN-WINBACK-001",
        "version": "2.1",
        "name": "Win-back",
        "status": "draft",
        "priority": 40,
        "target": {
            "lifecycle_stages": ["at-risk", "Retention"],
            "entry": {"churn.risk": {"gte": 0.5}},
            "exclusion": {"rfm.composite": {"gte": 38}},
        },
        "trigger": {"type": "churn_risk", "days_since_last_order": 45},
        "start": "first",
        "nodes": [
            {
                "id": "first",
                "day": 0,
                "channel": "email",
                "asset": {"title": "We miss you", "content": {"subject": "Hi", "body": "x"}},
                "backup_channel": "push",
                "backup_asset": {"title": "We miss you (push)"},
                "next": "split",
            },
            {
                "kind": "split",
                "id": "split",
                "day": 3,
                "branches": [
                    {"label": "engaged", "when": {"engagement.trend": {"gt": 0}}, "next": "offer"},
                    {"label": "otherwise"},
                ],
            },
            {
                "id": "offer",
                "day": 4,
                "channel": "sms",
                "asset": {"title": "15% off", "ref": "apv_1"},
                "high_value": True,
            },
        ],
        "exits": [
            {"id": "ordered", "event": "order.created", "outcome": "converted"},
            {"id": "month", "after_days": 30, "outcome": "transition", "transition_to": "JRN-RET"},
        ],
        "caps": {"email": {"week": 2}, "total": {"week": 8}},
        "holdout": 0.1,
    }


def test_a_journey_parses_with_canonical_stages_and_its_graph() -> None:
    journey = parse_journey(body())
    assert journey.target.lifecycle_stages == ("at_risk", "retention")
    assert isinstance(journey.node("first"), Step)
    assert isinstance(journey.node("split"), Split)
    assert list(journey.edges()) == [("first", "split"), ("split", "offer")]
    assert journey.channels() == {"email", "push", "sms"}
    assert journey.trigger.type == "churn_risk"
    assert journey == Journey.model_validate(journey.model_dump(mode="json"))


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda b: b["nodes"][0].update(day=-1), "journey.nodes[0].day", "greater than"),
        (lambda b: b["nodes"][0].update(colour="red"), "journey.nodes[0].colour", "Extra"),
        (lambda b: b["nodes"][1].update(kind="loop"), "journey.nodes[1]", "tag"),
        (lambda b: b["trigger"].update(type="event"), "journey.trigger.event", "Field required"),
        (lambda b: b["trigger"].update(days_since_last_order=0), "journey.trigger", "greater"),
        (lambda b: b["target"].update(lifecycle_stages=["loyal"]), "journey.target", "loyal"),
        (lambda b: b["target"].update(entry={"churn.rsk": 1}), "journey.target.entry", "churn.rsk"),
        (lambda b: b["nodes"][2].update(id="first"), "journey", "used twice"),
        (lambda b: b["nodes"][0].pop("backup_asset"), "journey.nodes[0]", "together"),
        (lambda b: b["nodes"][1]["branches"].reverse(), "journey.nodes[1]", "must come last"),
        (lambda b: b["exits"][1].pop("transition_to"), "journey.exits[1]", "transition_to"),
        (lambda b: b["exits"][0].update(after_days=3), "journey.exits[0]", "exactly one"),
        (lambda b: b["caps"].update(fax={"week": 1}), "journey.caps", "fax"),
        (lambda b: b.update(holdout=0.7), "journey.holdout", "less than"),
        (lambda b: b.update(version="v2"), "journey.version", "pattern"),
    ],
)
def test_a_bad_field_is_named_with_its_path(change: Any, field: str, words: str) -> None:
    data = copy.deepcopy(body())
    change(data)
    with pytest.raises(InvalidInput) as caught:
        parse_journey(data)
    assert caught.value.field is not None
    assert caught.value.field.startswith(field), caught.value.field
    assert words in str(caught.value), str(caught.value)


def test_a_journey_is_a_mapping() -> None:
    with pytest.raises(InvalidInput, match="mapping"):
        parse_journey(["not", "a", "journey"])


def test_next_version() -> None:
    assert next_version("2.1") == "2.2"
    assert next_version("3") == "3.1"
    assert next_version("1.9") == "1.10"
