"""Adopt an experiment's winner: a new journey version with the winner's path in the test's place.

Every reference to the experiment node (the journey's start, a step's `next`, a split branch,
another experiment's variant) is pointed at where the winning variant led, the experiment
node goes, and so do the nodes only the other variants reached. Nodes another path still
reaches stay. The result is the next version (2.1 -> 2.2) as a draft: like any new version it
is reviewed and activated before it runs, and the running version is left as it is.
"""

from __future__ import annotations

from typing import Any

from core.errors import InvalidInput
from journeys.spec import Experiment, Journey, next_version


def adopt_winner(journey: Journey, decision_id: str, variant_id: str) -> Journey:
    """The next version of the journey with experiment `decision_id` replaced by `variant_id`."""
    experiment = journey.node(decision_id)
    if not isinstance(experiment, Experiment):
        kind = "no node" if experiment is None else f"a {experiment.kind}, not an experiment"
        raise InvalidInput(
            f"{decision_id!r} is {kind} in journey {journey.id!r}",
            field="decision_id",
            fix="name the experiment node whose winner to adopt",
        )
    winner = next((v for v in experiment.variants if v.id == variant_id), None)
    if winner is None:
        known = ", ".join(v.id for v in experiment.variants)
        raise InvalidInput(
            f"experiment {decision_id!r} has no variant {variant_id!r}",
            field="variant_id",
            fix=f"pick one of {known}",
        )
    if journey.start == decision_id and winner.next is None:
        raise InvalidInput(
            f"variant {variant_id!r} ends the journey at its start: nothing would be left to run",
            field="variant_id",
            fix="adopt a variant that leads on, or retire the journey instead",
        )
    data = journey.model_dump(mode="python")
    before = _reachable(journey.start, data["nodes"])
    nodes = [
        _redirect(node, decision_id, winner.next)
        for node in data["nodes"]
        if node["id"] != decision_id
    ]
    start = winner.next if journey.start == decision_id else journey.start
    after = _reachable(start, nodes)
    dropped = (before - after) | {decision_id}
    data.update(
        version=next_version(journey.version),
        status="draft",
        start=start,
        nodes=[node for node in nodes if node["id"] not in dropped],
    )
    return Journey.model_validate(data)


def _redirect(node: dict[str, Any], old: str, new: str | None) -> dict[str, Any]:
    """The node with every link to `old` pointing at `new` (None: the path ends there)."""
    node = dict(node)
    if node.get("next") == old:
        node["next"] = new
    for key in ("branches", "variants"):
        if key in node:
            node[key] = [
                {**link, "next": new} if link.get("next") == old else link for link in node[key]
            ]
    return node


def _reachable(start: str | None, nodes: list[dict[str, Any]]) -> set[str]:
    by_id = {node["id"]: node for node in nodes}
    seen: set[str] = set()
    todo = [start] if start else []
    while todo:
        node_id = todo.pop()
        if node_id in seen or node_id not in by_id:
            continue
        seen.add(node_id)
        node = by_id[node_id]
        links = [node.get("next")]
        for key in ("branches", "variants"):
            links += [link.get("next") for link in node.get(key, ())]
        todo += [link for link in links if link]
    return seen
