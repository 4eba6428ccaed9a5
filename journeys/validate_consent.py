"""Consent paths: is every customer who reaches an SMS or push step one whose criteria require
a granted consent for that channel?

The gate refuses a send without a granted opt-in anyway; this check says at design time that a
step would be blocked for part of its audience. What a customer is known to satisfy on the way
to a step: the target's entry criteria, not its exclusion criteria, an event trigger's `where`,
and every branch taken (a branch also implies that the branches before it did not hold). A
criterion *requires* consent when it cannot hold unless `consent.<channel>` is granted (a
sufficient syntactic check: `all` needs one part to require it, `any` all of them, `not` flips).

SMS needs the opt-in (an error without it: texting without consent is unlawful in most
places); push needs the permission (a warning: those customers are skipped).
"""

from __future__ import annotations

from journeys.graph import Edge, edges, index_of, topological
from journeys.problems import ERROR, WARNING, Problem, Severity
from journeys.spec import EventTrigger, Journey, Split, Step
from scoring.criteria import AllOf, Condition, Criterion, Not, parse_criteria
from scoring.segment_fields import CONSENT_VALUES

CHECKED: dict[str, Severity] = {"sms": ERROR, "push": WARNING}
GRANTED = frozenset({"granted"})


def requires(criterion: Criterion, field: str, negated: bool = False) -> bool:
    """Whether the criterion (or its negation) can hold only when `field` is granted."""
    if isinstance(criterion, Not):
        return requires(criterion.item, field, not negated)
    if isinstance(criterion, Condition):
        if criterion.field != field or criterion.test not in ("in", "not_in"):
            return False
        listed = frozenset(criterion.operand)
        allowed = listed if criterion.test == "in" else frozenset(CONSENT_VALUES) - listed
        if negated:
            allowed = frozenset(CONSENT_VALUES) - allowed
        return allowed <= GRANTED
    conjunction = isinstance(criterion, AllOf) != negated  # not(any) is all(not)
    results = [requires(item, field, negated) for item in criterion.items]
    return any(results) if conjunction else all(results)


def _base(journey: Journey, field: str) -> bool:
    target = journey.target
    if target.entry is not None and requires(parse_criteria(target.entry), field):
        return True
    if target.exclusion is not None and requires(parse_criteria(target.exclusion), field, True):
        return True
    trigger = journey.trigger
    return (
        isinstance(trigger, EventTrigger)
        and trigger.where is not None
        and requires(parse_criteria(trigger.where), field)
    )


def _through(journey: Journey, edge: Edge, field: str) -> bool:
    """Whether taking this edge (a branch) implies the consent."""
    node = journey.node(edge.source)
    if not isinstance(node, Split) or edge.branch is None:
        return False
    branch = node.branches[edge.branch]
    if branch.when is not None and requires(parse_criteria(branch.when), field):
        return True
    earlier = [b.when for b in node.branches[: edge.branch] if b.when is not None]
    return any(requires(parse_criteria(when), field, True) for when in earlier)


def consent_problems(journey: Journey) -> list[Problem]:
    order = topological(journey)
    if order is None:  # cycles are reported on their own
        return []
    positions = index_of(journey)
    incoming: dict[str, list[Edge]] = {node_id: [] for node_id in order}
    for edge in edges(journey):
        if edge.source in incoming and edge.target in incoming:
            incoming[edge.target].append(edge)
    problems = []
    for channel, severity in CHECKED.items():
        field = f"consent.{channel}"
        base = _base(journey, field)
        assured: dict[str, bool] = {}
        for node_id in order:
            arrivals = incoming[node_id]
            if node_id == journey.start or not arrivals:
                assured[node_id] = base
            else:
                assured[node_id] = all(
                    assured[edge.source] or _through(journey, edge, field) for edge in arrivals
                )
            node = journey.node(node_id)
            if not isinstance(node, Step) or assured[node_id]:
                continue
            if channel not in (node.channel, node.backup_channel):
                continue
            where = "channel" if node.channel == channel else "backup_channel"
            problems.append(
                Problem(
                    severity,
                    "no_consent_path",
                    f"nodes[{positions[node_id]}].{where}",
                    f"{channel} step {node.id!r} is reached by customers whose criteria do not "
                    f"require {field} granted"
                    + (" (SMS needs an opt-in)" if channel == "sms" else ""),
                    f'add {{"{field}": "granted"}} to target.entry or to the branch that leads '
                    f"here, or use another channel",
                )
            )
    return problems
