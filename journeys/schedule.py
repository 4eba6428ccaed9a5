"""When a journey node is due, its per-step key, and the holdout/experiment assignments (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from journeys.assignment import HOLDOUT, assign
from journeys.spec import Experiment, Journey, Split, Step

HOLDOUT_KEY = "holdout"


def due_at(
    node: Step | Split | Experiment, *, entered_at: datetime, reached_at: datetime
) -> datetime:
    """A step is due `day` days and `hours` hours after entry; a split with a `day` then too;
    any other node as soon as the customer reaches it. Never before the customer reaches it."""
    if isinstance(node, Step):
        due = entered_at + timedelta(hours=node.offset_hours)
    elif isinstance(node, Split) and node.day is not None:
        due = entered_at + timedelta(days=node.day)
    else:
        due = reached_at
    return max(due, reached_at)


def step_key(workspace_id: str, journey_id: str, enrolment_id: str, node_id: str) -> str:
    """The idempotency key of one node for one enrolment: the task's and the gate's."""
    return f"{workspace_id}/{journey_id}/{enrolment_id}/{node_id}"


def backup_key(key: str) -> str:
    """The key of the send on the step's backup channel (a different action from the first)."""
    return f"{key}/backup"


def holdout_experiment(journey_id: str) -> str:
    """The assignment experiment id of a journey's holdout (`journeys.assignment`)."""
    return journey_id


def node_experiment(journey_id: str, node_id: str) -> str:
    """The assignment experiment id of an experiment node: `<journey>.<node>`."""
    return f"{journey_id}.{node_id}"


def assignments_for(journey: Journey, customer_id: str) -> dict[str, Any]:
    """{"holdout": bool, "<experiment node id>": "<variant id>"}: deterministic per customer,
    so the simulation, the runtime and the readout agree."""
    held_out = (
        journey.holdout > 0
        and assign(
            customer_id,
            holdout_experiment(journey.id),
            [("journey", 1.0)],
            holdout=journey.holdout,
        )
        == HOLDOUT
    )
    found: dict[str, Any] = {HOLDOUT_KEY: held_out}
    for node in journey.nodes:
        if isinstance(node, Experiment):
            found[node.id] = assign(
                customer_id,
                node_experiment(journey.id, node.id),
                [(variant.id, variant.weight) for variant in node.variants],
            )
    return found
