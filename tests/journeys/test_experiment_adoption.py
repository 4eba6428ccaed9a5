"""Adopting a winner: the next draft version, the winner's path in the experiment's place."""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import InvalidInput
from journeys.experiment_adoption import adopt_winner
from journeys.spec import Experiment, Split, Step, parse_journey


def _step(node_id: str, day: int, next_: str | None = None) -> dict[str, Any]:
    return {
        "id": node_id,
        "day": day,
        "channel": "email",
        "asset": {"title": node_id, "content": {"subject": node_id, "body": "x"}},
        "next": next_,
    }


def body() -> dict[str, Any]:
    """welcome -> subject test (control -> email-a, b -> email-b, c -> end) -> split -> ..."""
    return {
        "id": "JRN-WINBACK-001",
        "version": "2.1",
        "name": "Win-back",
        "status": "active",
        "trigger": {"type": "churn_risk", "days_since_last_order": 45},
        "start": "welcome",
        "nodes": [
            _step("welcome", 0, "subject-test"),
            {
                "kind": "experiment",
                "id": "subject-test",
                "variants": [
                    {"id": "control", "next": "email-a"},
                    {"id": "b", "weight": 2, "next": "email-b"},
                    {"id": "c"},
                ],
            },
            _step("email-a", 1, "a-only"),
            _step("a-only", 2, "followup"),
            _step("email-b", 1, "followup"),
            {
                "kind": "split",
                "id": "followup",
                "day": 5,
                "branches": [
                    {"when": {"engagement.trend": {"gt": 0}}, "next": "offer"},
                    {"next": "subject-test"},
                ],
            },
            _step("offer", 6),
        ],
        "holdout": 0.1,
    }


def test_the_winner_replaces_the_experiment_in_a_new_draft_version() -> None:
    journey = parse_journey(body())
    adopted = adopt_winner(journey, "subject-test", "b")
    assert (adopted.version, adopted.status) == ("2.2", "draft")
    assert [node.id for node in adopted.nodes] == ["welcome", "email-b", "followup", "offer"]
    assert adopted.node("welcome").next == "email-b"  # type: ignore[union-attr]
    followup = adopted.node("followup")
    assert isinstance(followup, Split)
    assert [branch.next for branch in followup.branches] == ["offer", "email-b"]
    assert not any(isinstance(node, Experiment) for node in adopted.nodes)
    assert (adopted.id, adopted.holdout, adopted.trigger) == (
        journey.id,
        journey.holdout,
        journey.trigger,
    )
    # the running version is untouched
    assert journey.version == "2.1" and journey.node("subject-test") is not None


def test_adopting_control_keeps_its_own_path() -> None:
    adopted = adopt_winner(parse_journey(body()), "subject-test", "control")
    assert [node.id for node in adopted.nodes] == [
        "welcome",
        "email-a",
        "a-only",
        "followup",
        "offer",
    ]
    assert adopted.node("welcome").next == "email-a"  # type: ignore[union-attr]


def test_a_winner_that_ends_the_path_ends_it_where_the_test_was() -> None:
    adopted = adopt_winner(parse_journey(body()), "subject-test", "c")
    assert [node.id for node in adopted.nodes] == ["welcome"]
    welcome = adopted.node("welcome")
    assert isinstance(welcome, Step) and welcome.next is None


def test_an_experiment_at_the_start_hands_the_start_to_the_winner() -> None:
    data = body()
    data["start"] = "subject-test"
    data["nodes"] = data["nodes"][1:]
    adopted = adopt_winner(parse_journey(data), "subject-test", "b")
    assert adopted.start == "email-b"
    assert [node.id for node in adopted.nodes] == ["email-b", "followup", "offer"]


def test_nodes_another_path_reaches_stay_and_unrelated_ones_are_not_touched() -> None:
    data = body()
    # `a-only` is also reached from the split's otherwise-branch now
    data["nodes"][5]["branches"][1]["next"] = "a-only"
    adopted = adopt_winner(parse_journey(data), "subject-test", "b")
    assert [node.id for node in adopted.nodes] == [
        "welcome",
        "a-only",
        "email-b",
        "followup",
        "offer",
    ]


@pytest.mark.parametrize(
    ("decision", "variant", "field", "words"),
    [
        ("nope", "b", "decision_id", "no node"),
        ("followup", "b", "decision_id", "a split, not an experiment"),
        ("subject-test", "d", "variant_id", "no variant"),
    ],
)
def test_bad_references_name_the_field(decision: str, variant: str, field: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        adopt_winner(parse_journey(body()), decision, variant)
    assert caught.value.field == field
    assert words in caught.value.message


def test_a_winner_that_would_leave_nothing_is_refused() -> None:
    data = body()
    data["start"] = "subject-test"
    data["nodes"] = data["nodes"][1:]
    with pytest.raises(InvalidInput) as caught:
        adopt_winner(parse_journey(data), "subject-test", "c")
    assert caught.value.field == "variant_id"
