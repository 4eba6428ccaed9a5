"""The text blueprint holds every element of the journey; the Mermaid chart is well formed."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from journeys.graph import slots
from journeys.render import CHANNEL_NAMES, blueprint, mermaid, mermaid_label
from journeys.spec import Journey, Step, parse_journey
from knowledge import JOURNEYS_DIR

SHIPPED = sorted(JOURNEYS_DIR.glob("*.yaml"))
NODE = re.compile(
    r'^  (n\d+|trigger|done)(\["|\{"|\(\["|\{\{")(?P<label>[^"]*)("\]|"\}|"\]\)|"\}\})$'
)
EXIT = re.compile(r'^    x\d+\[/"(?P<label>[^"]*)"/\]$')
EDGE = re.compile(r'^  (?P<a>\w+) -->(\|"(?P<label>[^"]*)"\|)? (?P<b>\w+)$')


def load(name: str) -> Journey:
    return parse_journey(yaml.safe_load((JOURNEYS_DIR / name).read_text(encoding="utf-8")))


def test_the_blueprint_holds_every_element_of_seed_000() -> None:
    journey = load("activation-retention.yaml")
    text = blueprint(journey)
    assert text.startswith("CUSTOMER JOURNEY BLUEPRINT — Activation → Retention\n=====")
    assert "Journey ID: [JRN-ACT-RET-001] | Version: [2.1] | Status: [Draft]" in text
    for heading in (
        "TARGET SEGMENT:",
        "JOURNEY STRUCTURE:",
        "EXIT CRITERIA:",
        "FREQUENCY CAPS:",
        "PERSONALIZATION:",
    ):
        assert heading in text
    assert "Lifecycle stage: Activation" in text
    assert (
        "Entry criteria: lifecycle.daysInStage ≤ 30 AND traits.registration_completed = true"
        in (text)
    )
    assert 'Exclusion criteria: traits.account_type = "enterprise" OR traits.plan = "trial"' in text
    assert "TRIGGER: User completes core feature activation" in text
    for branch in (
        "BRANCH: Feature adoption score > 70",
        "BRANCH: Feature adoption score ≤ 70",
        "BRANCH: CSAT ≥ 8 (Advocacy path)",
        "BRANCH: CSAT < 7 (Retention intervention path)",
    ):
        assert branch in text
    for step in journey.steps():
        line = f'Day {step.day}: {CHANNEL_NAMES[step.channel]} — "{step.asset.title}"'
        assert text.count(line) == 1, line
    assert "✓ Reached 30 days → transition to JRN-RETENTION-001" in text
    assert "✓ Feature adoption > 80 → transition to JRN-EXPANSION-001" in text
    assert "✗ No activity for 21 days → transition to JRN-AT-RISK-001" in text
    assert "✗ Cancellation" in text
    assert (
        "Email: max 2/week | Push: max 3/week | SMS: max 1/week | In-app: max 5/week | "
        "Total cross-channel: max 8/week"
    ) in text
    assert "{{ industry }} from traits.industry" in text
    assert "Send time optimization: based on historical engagement patterns" in text
    assert "Channel preference: respect stated and inferred preferences" in text


def test_the_boxes_close() -> None:
    text = blueprint(load("activation-retention.yaml"))
    lines = text.splitlines()
    start = lines.index("JOURNEY STRUCTURE:") + 1
    end = lines.index("FREQUENCY CAPS:") - 1
    framed = lines[start:end]
    assert framed[0].lstrip().startswith("┌") and framed[-1].lstrip().startswith("└")
    assert len({len(line) for line in framed}) == 1, "every line of the outer box is as wide"
    assert text.count("┌") == text.count("└") == text.count("┐") == text.count("┘")


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_journey_renders_each_step_once(path) -> None:
    journey = parse_journey(yaml.safe_load(path.read_text(encoding="utf-8")))
    text = blueprint(journey)
    for step in journey.steps():
        assert text.count(f'"{step.asset.title}"') == 1, step.id
    assert "not reached from start" not in text
    check_mermaid(journey, mermaid(journey))


def check_mermaid(journey: Journey, chart: str) -> None:
    lines = chart.splitlines()
    assert lines[0] == "flowchart TD"
    declared: list[str] = []
    edges: list[tuple[str, str, str | None]] = []
    in_exits = False
    for line in lines[1:]:
        if line == '  subgraph exits["EXIT CRITERIA"]':
            in_exits = True
        elif line == "  end":
            in_exits = False
        elif in_exits:
            assert EXIT.match(line), line
        elif node := NODE.match(line):
            declared.append(node.group(1))
        else:
            edge = EDGE.match(line)
            assert edge, f"not a node, an edge or an exit: {line!r}"
            edges.append((edge["a"], edge["b"], edge["label"]))
    assert len(declared) == len(set(declared)) == len(journey.nodes) + 1 + ("done" in declared)
    for a, b, _ in edges:
        assert a in declared and b in declared, (a, b)
    assert len(edges) == len(list(slots(journey))) + 1  # every next slot, and the trigger
    assert sum(1 for line in lines if EXIT.match(line)) == len(journey.exits)


def test_mermaid_labels_are_escaped() -> None:
    data: dict[str, Any] = {
        "id": "JRN-ESC",
        "name": "Escapes",
        "trigger": {"type": "post_purchase", "description": 'Order "paid" <now> | #1'},
        "start": "a",
        "nodes": [
            {
                "kind": "split",
                "id": "a",
                "label": 'Big "spender"?',
                "branches": [
                    {"label": "a | b > c", "when": {"orders.count": {"gt": 1}}, "next": "b"},
                    {"next": "b"},
                ],
            },
            {"id": "b", "day": 1, "channel": "email", "asset": {"title": 'Say "hi" <b>#1</b>'}},
        ],
    }
    journey = parse_journey(data)
    chart = mermaid(journey)
    check_mermaid(journey, chart)
    assert "TRIGGER: Order #quot;paid#quot; #lt;now#gt; #124; #35;1" in chart
    assert '|"a #124; b #gt; c"|' in chart
    assert '|"otherwise"|' in chart
    assert mermaid_label("one\ntwo") == "one<br/>two"


def test_an_experiment_and_a_cycle_render_without_looping() -> None:
    journey = load("churn-winback.yaml")
    text = blueprint(journey)
    assert "A/B TEST Win-back offer: VARIANT: discount (50%)" in text
    assert "VARIANT: free-shipping (50%)" in text
    assert "Holdout: 10% of entrants get no messages" in text
    data = journey.model_dump(mode="json")
    for node in data["nodes"]:
        if node["id"] == "reminder":
            node["next"] = "offer-test"
    looping = Journey.model_validate(data)
    assert "→ back to 'offer-test'" in blueprint(looping)
    assert isinstance(looping.node("reminder"), Step)
    check_mermaid(looping, mermaid(looping))
