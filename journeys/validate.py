"""The journey validator: every problem of a journey, each with where it is and the fix.

Pure: a Journey (or the body a person wrote) and what is known about the workspace in, a list
of Problems out (errors first). `validate_data` also turns every shape error into a Problem
(all of them, with did-you-mean for unknown names); `validate` checks a parsed journey.

Codes (severity):
    unknown_field, missing_field, bad_value, unknown_kind, bad_criteria, not_a_mapping (error)
        the body does not fit the spec (journeys.validate_schema)
    start_missing (error)        `start` names no node
    dangling_next (error)        a `next` names no node
    unreachable (error)          a node no path from `start` reaches
    cycle (error)                nodes that lead back to themselves (the cycle is listed)
    no_end (error)               a node from which no path ends (customers would loop forever)
    split_no_otherwise (error)   a split without an otherwise-branch: customers whose values match
                                 no branch, including everyone with a missing value (a comparison
                                 on a missing value never holds), would have no defined path. An
                                 explicit `{label: otherwise}` (without `next`: they complete) is
                                 the fix, so the decision is written down.
    day_backwards (error)        a node timed earlier than a node before it on some path
    cap_exceeded (error)         the schedule breaks the journey's or the workspace's caps
                                 (journeys.validate_caps)
    no_consent_path (error sms, warning push)   journeys.validate_consent
    template_syntax (error)      an asset's template does not parse
    unknown_variable (error)     a template reads a variable that is neither a personalization
                                 field nor a built-in (journeys.template_names.BUILT_INS)
    unknown_transition (error)   an exit moves customers to a journey the workspace does not have
                                 (only with a context that lists the journeys)
    unknown_segment (error)      the target or trigger names a segment the workspace does not have
                                 (only with a context that lists the segments)
    asset_without_ref (error)    an active journey's step has no approved item to send
    variant_leads_nowhere (warning)  an experiment arm that sends nothing
    variants_identical (warning)     every arm goes to the same node: the test tests nothing
    holdout_no_goal (warning)    a holdout or experiment without an explicit goal
    no_exit_criteria (warning)   no exit: nobody leaves early on converting or cancelling
    steps_after_exit (warning)   steps timed after an `after_days` exit never run
    high_value_cooldown (warning)    two high-value offers closer than the workspace cooldown
    too_many_paths (warning)     caps were checked on the first paths only
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from pydantic import ValidationError

from core.contact_rules import Caps
from journeys.graph import (
    cycles,
    index_of,
    paths,
    reachable,
    reaching_an_end,
    slots,
    successors,
    topological,
)
from journeys.problems import ERROR, WARNING, Problem, ordered
from journeys.spec import Experiment, Journey, SegmentEntryTrigger, Split, Step
from journeys.template_names import BUILT_INS, template_names
from journeys.validate_caps import cap_problems, journey_rules, path_touches, workspace_rules
from journeys.validate_consent import consent_problems
from journeys.validate_schema import not_a_mapping, schema_problems, suggest


@dataclass(frozen=True)
class Context:
    """What the validator knows about the workspace. Without one, the workspace caps are the
    defaults every workspace starts with, and journey and segment names are not checked."""

    journeys: frozenset[str] | None = None
    segments: frozenset[str] | None = None
    caps: Caps = field(default_factory=Caps)
    flood_per_day: int | None = 3
    note: str = "defaults; pass --workspace for yours"


def validate_data(
    data: Any, context: Context | None = None
) -> tuple[Journey | None, list[Problem]]:
    """The journey and its problems; None and the shape problems when it does not parse."""
    if not isinstance(data, Mapping):
        return None, [not_a_mapping(data)]
    try:
        journey = Journey.model_validate(dict(data))
    except ValidationError as exc:
        return None, ordered(schema_problems(exc, data))
    return journey, validate(journey, context)


def validate(journey: Journey, context: Context | None = None) -> list[Problem]:
    """Every problem of a parsed journey, errors first."""
    context = context or Context()
    problems = _graph(journey)
    order = topological(journey)
    if order is not None and journey.node(journey.start) is not None:
        problems += _days(journey, order)
        found, complete = paths(journey)
        if not complete:
            problems.append(
                Problem(
                    WARNING,
                    "too_many_paths",
                    "nodes",
                    f"more than {len(found)} paths; caps were checked on the first {len(found)}",
                    "split the journey into smaller ones joined by exit transitions",
                )
            )
        rules = journey_rules(journey) + workspace_rules(
            context.caps, context.flood_per_day, context.note
        )
        problems += cap_problems(journey, found, rules)
        problems += _high_value(journey, found, context.caps)
        problems += consent_problems(journey)
    problems += _splits(journey)
    problems += _experiments(journey)
    problems += _templates(journey)
    problems += _assets(journey)
    problems += _exits(journey, context)
    problems += _names(journey, context)
    return ordered(problems)


def _node_path(journey: Journey, node_id: str) -> str:
    return f"nodes[{index_of(journey)[node_id]}]"


def _graph(journey: Journey) -> list[Problem]:
    problems: list[Problem] = []
    ids = list(index_of(journey))
    if journey.start not in ids:
        guess = suggest(journey.start, ids)
        problems.append(
            Problem(
                ERROR,
                "start_missing",
                "start",
                f"start names {journey.start!r}, which is not a node",
                f"did you mean {guess!r}?" if guess else f"name one of {', '.join(ids)}",
            )
        )
    for edge in slots(journey):
        if edge.target is not None and edge.target not in ids:
            guess = suggest(edge.target, ids)
            problems.append(
                Problem(
                    ERROR,
                    "dangling_next",
                    edge.field,
                    f"next names {edge.target!r}, which is not a node",
                    f"did you mean {guess!r}?"
                    if guess
                    else "name an existing node, or remove `next` to end the path here",
                )
            )
    if journey.start in ids:
        alive = reachable(journey)
        for node in journey.nodes:
            if node.id not in alive:
                problems.append(
                    Problem(
                        ERROR,
                        "unreachable",
                        _node_path(journey, node.id),
                        f"no path from start {journey.start!r} reaches {node.id!r}",
                        "point a `next` at it, or remove it",
                    )
                )
    looping = cycles(journey)
    for cycle in looping:
        problems.append(
            Problem(
                ERROR,
                "cycle",
                _node_path(journey, cycle[0]),
                f"cycle: {' -> '.join(cycle)}",
                "journeys run forward in time: end the loop, or re-enter by an exit transition",
            )
        )
    ending = reaching_an_end(journey)
    for node in journey.nodes:
        if node.id not in ending:
            problems.append(
                Problem(
                    ERROR,
                    "no_end",
                    _node_path(journey, node.id),
                    f"no path from {node.id!r} ends; its customers would never leave",
                    "give one step, branch or variant on the way no `next`",
                )
            )
    return problems


def _time(journey: Journey, node_id: str) -> int | None:
    """The node's own offset from entry in hours, when it has one."""
    node = journey.node(node_id)
    if isinstance(node, Step):
        return node.offset_hours
    if isinstance(node, Split) and node.day is not None:
        return node.day * 24
    return None


def _days(journey: Journey, order: list[str]) -> list[Problem]:
    """Nodes timed before the latest node that can come before them."""
    nexts = successors(journey)
    latest: dict[str, tuple[int, str] | None] = {node_id: None for node_id in order}
    problems = []
    for node_id in order:
        own = _time(journey, node_id)
        before = latest[node_id]
        if own is not None and before is not None and own < before[0]:
            node = journey.node(node_id)
            assert node is not None
            problems.append(
                Problem(
                    ERROR,
                    "day_backwards",
                    f"{_node_path(journey, node_id)}.day",
                    f"{node_id!r} is at day {own // 24} but can follow {before[1]!r} at day "
                    f"{before[0] // 24}{'' if before[0] % 24 == 0 else f' {before[0] % 24}h'}",
                    f"set its day to {before[0] // 24} or later, or reorder the nodes",
                )
            )
        here = (own, node_id) if own is not None else before
        for target in nexts[node_id]:
            current = latest[target]
            if here is not None and (current is None or here[0] > current[0]):
                latest[target] = here
    return problems


def _high_value(journey: Journey, found: list[list[str]], caps: Caps) -> list[Problem]:
    cooldown = caps.high_value_cooldown_days * 24
    problems = []
    seen: set[tuple[str, str]] = set()
    for path in found:
        offers = [
            t
            for t in path_touches(journey, path)
            if isinstance(step := journey.node(t.step), Step) and step.high_value
        ]
        for first, second in pairwise(offers):
            if second.hours - first.hours < cooldown and (first.step, second.step) not in seen:
                seen.add((first.step, second.step))
                problems.append(
                    Problem(
                        WARNING,
                        "high_value_cooldown",
                        _node_path(journey, second.step),
                        f"high-value offers {first.step!r} and {second.step!r} are less than "
                        f"{caps.high_value_cooldown_days} days apart: the gate holds the second",
                        f"space them {caps.high_value_cooldown_days} days apart or make one a "
                        "plain message",
                    )
                )
    return problems


def _splits(journey: Journey) -> list[Problem]:
    problems = []
    for i, node in enumerate(journey.nodes):
        if isinstance(node, Split) and all(b.when is not None for b in node.branches):
            problems.append(
                Problem(
                    ERROR,
                    "split_no_otherwise",
                    f"nodes[{i}].branches",
                    f"split {node.id!r} has no otherwise-branch: customers matching no branch "
                    "(a missing value matches no comparison) have no path",
                    "add a last branch without `when` (no `next`: they complete the journey)",
                )
            )
    return problems


def _sends(journey: Journey, start: str | None) -> bool:
    """Whether any step is reachable from `start` (None: nothing)."""
    if start is None or journey.node(start) is None:
        return False
    return any(isinstance(journey.node(n), Step) for n in reachable(journey, start))


def _experiments(journey: Journey) -> list[Problem]:
    problems = []
    for i, node in enumerate(journey.nodes):
        if not isinstance(node, Experiment):
            continue
        for j, variant in enumerate(node.variants):
            if not _sends(journey, variant.next):
                problems.append(
                    Problem(
                        WARNING,
                        "variant_leads_nowhere",
                        f"nodes[{i}].variants[{j}].next",
                        f"variant {variant.id!r} of {node.id!r} sends nothing: its customers "
                        "complete without a message",
                        "point it at a step; for a no-message control use the journey's holdout",
                    )
                )
        targets = {variant.next for variant in node.variants}
        if len(targets) == 1:
            problems.append(
                Problem(
                    WARNING,
                    "variants_identical",
                    f"nodes[{i}].variants",
                    f"every variant of {node.id!r} goes to the same node: the test compares "
                    "nothing",
                    "point each variant at its own version of the step",
                )
            )
    has_experiment = any(isinstance(node, Experiment) for node in journey.nodes)
    if (journey.holdout > 0 or has_experiment) and "goal" not in journey.model_fields_set:
        what = "a holdout" if journey.holdout > 0 else "an experiment"
        problems.append(
            Problem(
                WARNING,
                "holdout_no_goal",
                "goal",
                f"the journey has {what} but no goal: the readout would count the default "
                "(an order within 14 days)",
                "say what counts as a conversion: goal: {kind: order|event, within_days: N}",
            )
        )
    return problems


def _assets(journey: Journey) -> list[Problem]:
    if journey.status != "active":
        return []
    problems = []
    for i, node in enumerate(journey.nodes):
        if not isinstance(node, Step):
            continue
        for name, asset in (("asset", node.asset), ("backup_asset", node.backup_asset)):
            if asset is not None and asset.ref is None:
                problems.append(
                    Problem(
                        ERROR,
                        "asset_without_ref",
                        f"nodes[{i}].{name}.ref",
                        f"active journey: {name} {asset.title!r} of {node.id!r} has no approved "
                        "item to send",
                        "submit the copy for approval and set `ref` to the approved item, or "
                        "keep the journey a draft",
                    )
                )
    return problems


def _templates(journey: Journey) -> list[Problem]:
    declared = {f.name for f in journey.personalization.fields} | BUILT_INS
    problems = []
    for i, node in enumerate(journey.nodes):
        if not isinstance(node, Step):
            continue
        for name, asset in (("asset", node.asset), ("backup_asset", node.backup_asset)):
            if asset is None or not asset.content:
                continue
            names = template_names(asset.content)
            for key, error in names.syntax_errors.items():
                problems.append(
                    Problem(
                        ERROR,
                        "template_syntax",
                        f"nodes[{i}].{name}.content.{key}",
                        f"does not parse: {error}",
                        "close every {{ }} and {% %}, or remove stray braces",
                    )
                )
            for key, variables in names.variables.items():
                for variable in sorted(variables - declared):
                    guess = suggest(variable, sorted(declared))
                    hint = f"did you mean {guess!r}? " if guess else ""
                    problems.append(
                        Problem(
                            ERROR,
                            "unknown_variable",
                            f"nodes[{i}].{name}.content.{key}",
                            f"template variable {variable!r} is not a personalization field "
                            "nor a built-in",
                            f"{hint}declare it in personalization.fields (with fallbacks) or "
                            f"use one of {', '.join(sorted(declared))}",
                        )
                    )
    return problems


def _exits(journey: Journey, context: Context) -> list[Problem]:
    problems = []
    if not journey.exits:
        problems.append(
            Problem(
                WARNING,
                "no_exit_criteria",
                "exits",
                "no exit criteria: customers leave only at the end of their path, even after "
                "converting or cancelling",
                "add exits, e.g. {id: ordered, event: order.created, outcome: converted}",
            )
        )
    for i, exit_ in enumerate(journey.exits):
        target = exit_.transition_to
        if target is not None and context.journeys is not None and target not in context.journeys:
            known = sorted(context.journeys)
            guess = suggest(target, known)
            problems.append(
                Problem(
                    ERROR,
                    "unknown_transition",
                    f"exits[{i}].transition_to",
                    f"exit {exit_.id!r} moves customers to journey {target!r}, which this "
                    "workspace does not have",
                    f"did you mean {guess!r}?"
                    if guess
                    else f"save that journey first (known: {', '.join(known) or 'none'})",
                )
            )
        if exit_.after_days is not None:
            late = [s for s in journey.steps() if s.day > exit_.after_days]
            for step in late:
                problems.append(
                    Problem(
                        WARNING,
                        "steps_after_exit",
                        f"{_node_path(journey, step.id)}.day",
                        f"{step.id!r} at day {step.day} never runs: exit {exit_.id!r} ends the "
                        f"journey after {exit_.after_days} days",
                        f"move it to day {exit_.after_days} or earlier, or lengthen the exit",
                    )
                )
    return problems


def _names(journey: Journey, context: Context) -> list[Problem]:
    if context.segments is None:
        return []
    named = [("target.segment", journey.target.segment)]
    if isinstance(journey.trigger, SegmentEntryTrigger):
        named.append(("trigger.segment", journey.trigger.segment))
    problems = []
    known = sorted(context.segments)
    for path, name in named:
        if name is not None and name not in context.segments:
            guess = suggest(name, known)
            problems.append(
                Problem(
                    ERROR,
                    "unknown_segment",
                    path,
                    f"no segment named {name!r} in this workspace",
                    f"did you mean {guess!r}?"
                    if guess
                    else f"create it with `mcopilot segment create` (known: "
                    f"{', '.join(known) or 'none'})",
                )
            )
    return problems


def has_errors(problems: list[Problem]) -> bool:
    return any(problem.is_error for problem in problems)


__all__ = ["Context", "Problem", "has_errors", "validate", "validate_data"]
