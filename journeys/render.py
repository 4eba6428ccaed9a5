"""A journey rendered as seed 000's text blueprint and as a Mermaid flowchart.

Pure: a Journey in, text out. The blueprint draws the graph as nested boxes: a split's branches
each get a BRANCH box holding their path up to where the branches meet again (the first node
every branch reaches), then the path goes on below the boxes; branches that share a target
share a box; an experiment's variants are boxes too. The Mermaid chart is `flowchart TD` with
one node per journey node (ids n0, n1, ... so any node id is safe) and labels escaped with
Mermaid's entity codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from journeys.graph import reachable, topological
from journeys.spec import Experiment, Journey, Split, Step
from scoring.criteria import AllOf, Condition, Criterion, Not, parse_criteria, shown

CHANNEL_NAMES = {"email": "Email", "sms": "SMS", "push": "Push", "in_app": "In-app"}
CAP_ORDER = ("email", "push", "sms", "in_app", "total")
POSITIVE = {"completed", "converted", "transition"}
RULE = "="
MAX_DEPTH = 40


# -- shared wording -------------------------------------------------------------------------


def criteria_text(data: Mapping[str, Any] | None) -> str:
    """Criteria as a person reads them: `churn.risk gte 0.5 AND (a OR b)`."""
    if not data:
        return "none"
    return _criterion_text(parse_criteria(data), top=True)


def _criterion_text(criterion: Criterion, top: bool = False) -> str:
    if isinstance(criterion, Condition):
        return f"{criterion.field} {_op(criterion.op)} {shown(criterion.expected)}"
    if isinstance(criterion, Not):
        return f"NOT ({_criterion_text(criterion.item, top=True)})"
    joiner = " AND " if isinstance(criterion, AllOf) else " OR "
    text = joiner.join(_criterion_text(item) for item in criterion.items)
    return text if top else f"({text})"


def _op(op: str) -> str:
    return {
        "eq": "=",
        "ne": "≠",
        "gt": ">",
        "gte": "≥",
        "lt": "<",
        "lte": "≤",
        "in": "in",
        "not_in": "not in",
        "exists": "exists",
    }[op]


def day_text(day: int, hours: int = 0) -> str:
    return f"Day {day}" + (f" +{hours}h" if hours else "")


def step_text(step: Step) -> str:
    """`Day 1: Email — "Welcome"` and what else matters about the step."""
    extras = []
    if step.action_type != "message":
        extras.append(step.action_type.replace("_", " "))
    if step.high_value:
        extras.append("high value")
    if step.backup_channel:
        extras.append(f"backup: {CHANNEL_NAMES[step.backup_channel]}")
    if step.asset.ref:
        extras.append(f"approved {step.asset.ref}")
    tail = f" [{', '.join(extras)}]" if extras else ""
    channel = CHANNEL_NAMES[step.channel]
    return f'{day_text(step.day, step.hours)}: {channel} — "{step.asset.title}"{tail}'


def trigger_text(journey: Journey) -> str:
    trigger = journey.trigger
    if trigger.description:
        return trigger.description
    kind = trigger.type
    if kind == "abandoned_cart":
        return f"Cart inactive for {trigger.inactive_hours:g} h and not converted"
    if kind == "churn_risk":
        return f"Active customer, last order {trigger.days_since_last_order}+ days ago"
    if kind == "vip_milestone":
        return f"RFM composite crosses {trigger.composite_gte}"
    if kind == "post_purchase":
        return "Order paid"
    if kind == "segment_entry":
        return f"Customer enters segment {trigger.segment!r}"
    if kind == "event":
        times = f"{trigger.count}x " if trigger.count > 1 else ""
        within = f" within {trigger.within_days} days" if trigger.within_days else ""
        where = f" where {criteria_text(trigger.where)}" if trigger.where else ""
        return f'Event "{trigger.event}" {times}{within}{where}'.replace("  ", " ")
    return f"No activity for {trigger.days} days"


def exit_text(journey: Journey, index: int) -> str:
    exit_ = journey.exits[index]
    mark = "✓" if exit_.outcome in POSITIVE else "✗"
    if exit_.description:
        what = exit_.description
    elif exit_.after_days is not None:
        what = f"Reached {exit_.after_days} days"
    elif exit_.event is not None:
        what = f'Event "{exit_.event}"'
    else:
        what = criteria_text(exit_.when)
    if exit_.transition_to:
        result = f"transition to {exit_.transition_to}"
    else:
        result = {
            "converted": "converted, journey ends",
            "completed": "journey completes",
            "churned": "journey ends (churned)",
        }.get(exit_.outcome, "journey ends")
    return f"{mark} {what} → {result}"


def cap_text(journey: Journey) -> str:
    parts = []
    for key in CAP_ORDER:
        cap = journey.caps.get(key)
        if cap is None:
            continue
        limits = [f"{n}/{w}" for n, w in ((cap.day, "day"), (cap.week, "week")) if n is not None]
        name = "Total cross-channel" if key == "total" else CHANNEL_NAMES[key]
        parts.append(f"{name}: max {', '.join(limits)}")
    return " | ".join(parts) or "none beyond the workspace's caps"


# -- text blueprint ---------------------------------------------------------------------------


def box(title: str, lines: list[str], min_width: int = 0) -> list[str]:
    """Lines framed in a box; the title sits in the top border."""
    inner = max([len(line) for line in lines] + [len(title) + 4, min_width])
    top = f"┌── {title} " if title else "┌"
    top += "─" * (inner + 3 - len(top)) + "┐"
    body = [f"│ {line.ljust(inner)} │" for line in lines]
    return [top, *body, "└" + "─" * (inner + 2) + "┘"]


class _Structure:
    """The journey's graph as nested lines: sequences, with boxes for branches and variants."""

    def __init__(self, journey: Journey) -> None:
        self.journey = journey
        self.order = topological(journey) or [node.id for node in journey.nodes]
        self.drawn: set[str] = set()

    def merge_point(self, targets: list[str | None]) -> str | None:
        """The first node every target reaches (None when a branch ends or none is shared)."""
        if not targets or any(t is None or self.journey.node(t) is None for t in targets):
            return None
        common = set.intersection(*(reachable(self.journey, t) for t in targets if t))
        return next((node_id for node_id in self.order if node_id in common), None)

    def sequence(self, node_id: str | None, stop: str | None, depth: int) -> list[str]:
        lines: list[str] = []
        while node_id is not None and node_id != stop:
            node = self.journey.node(node_id)
            if node is None:
                lines.append(f"→ {node_id!r} (no such node)")
                return lines
            if node_id in self.drawn or depth > MAX_DEPTH:
                lines.append(f"→ back to {node_id!r}")
                return lines
            self.drawn.add(node_id)
            if isinstance(node, Step):
                lines.append(step_text(node))
                node_id = node.next
            else:
                boxes, node_id = self.fork(node, depth)
                lines.extend(boxes)
        return lines

    def fork(self, node: Split | Experiment, depth: int) -> tuple[list[str], str | None]:
        if isinstance(node, Split):
            arms = [
                (b.label or (criteria_text(b.when) if b.when else "otherwise"), b.next)
                for b in node.branches
            ]
            kind = "BRANCH"
        else:
            total = sum(v.weight for v in node.variants)
            arms = [(f"{v.id} ({v.weight / total:.0%})", v.next) for v in node.variants]
            kind = f"A/B TEST {node.label or node.id}: VARIANT"
        merge = self.merge_point([target for _, target in arms])
        grouped: dict[str | None, list[str]] = {}
        for label, target in arms:
            grouped.setdefault(target, []).append(label)
        lines: list[str] = []
        if isinstance(node, Split) and (node.day is not None or node.label):
            when = f"{day_text(node.day)}: " if node.day is not None else ""
            lines.append(f"{when}split on {node.label or node.id}")
        for target, labels in grouped.items():
            title = f"{kind}: {' / '.join(labels)}"
            if target is not None and target == merge:
                lines.append(f"{title} → continue below")
                continue
            inner = self.sequence(target, merge, depth + 1) if target else []
            if target is None or (merge is None and not inner):
                inner.append("(journey ends)")
            lines.extend([*box(title, inner), ""])
        if lines and lines[-1] == "":
            lines.pop()
        return lines, merge


def blueprint(journey: Journey) -> str:
    """Seed 000's journey blueprint template, filled from the journey."""
    title = f"CUSTOMER JOURNEY BLUEPRINT — {journey.name}"
    out = [
        title,
        RULE * max(len(title), 53),
        f"Journey ID: [{journey.id}] | Version: [{journey.version}] | "
        f"Status: [{journey.status.capitalize()}] | Priority: [{journey.priority}]",
    ]
    if journey.description:
        out.append(journey.description)
    target = journey.target
    out += ["", "TARGET SEGMENT:"]
    if target.description:
        out.append(f"  {target.description}")
    stages = ", ".join(s.replace("_", "-").capitalize() for s in target.lifecycle_stages)
    out.append(f"  Lifecycle stage: {stages or 'any'}")
    if target.segment:
        out.append(f"  Segment: {target.segment}")
    out.append(f"  Entry criteria: {criteria_text(target.entry)}")
    out.append(f"  Exclusion criteria: {criteria_text(target.exclusion)}")
    structure = _Structure(journey)
    inner = [f"TRIGGER: {trigger_text(journey)}", ""]
    inner += structure.sequence(journey.start, None, 0)
    missed = [node.id for node in journey.nodes if node.id not in structure.drawn]
    if missed:
        inner += ["", f"(not reached from start: {', '.join(missed)})"]
    inner += ["", "EXIT CRITERIA:"]
    inner += [exit_text(journey, i) for i in range(len(journey.exits))] or ["none"]
    out += ["", "JOURNEY STRUCTURE:", *(f"  {line}" for line in box("", inner))]
    out += ["", "FREQUENCY CAPS:", f"  {cap_text(journey)}"]
    out += ["", "PERSONALIZATION:", *_personalization(journey)]
    out += ["", "MEASUREMENT:", *_measurement(journey)]
    return "\n".join(out) + "\n"


def _personalization(journey: Journey) -> list[str]:
    p = journey.personalization
    lines = [f"  Dynamic content: {p.description}"] if p.description else []
    for f in p.fields:
        fallbacks = [v for v in (f.segment_default, f.generic) if v is not None]
        fallback = f"; fallback: {' → '.join(fallbacks)}" if fallbacks else ""
        fresh = f"; stale after {f.max_age_days} days" if f.max_age_days else ""
        lines.append(f"  {{{{ {f.name} }}}} from {f.source}{fresh}{fallback}")
    lines.append(
        "  Send time optimization: "
        + ("based on historical engagement patterns" if p.send_time_optimization else "off")
    )
    lines.append(
        "  Channel preference: "
        + ("respect stated and inferred preferences" if p.respect_channel_preference else "ignored")
    )
    return lines


def _measurement(journey: Journey) -> list[str]:
    goal = journey.goal
    what = "an order" if goal.kind == "order" else f'event "{goal.event}"'
    lines = [f"  Goal: {what} within {goal.within_days} days of entry"]
    if journey.holdout:
        lines.append(f"  Holdout: {journey.holdout:.0%} of entrants get no messages (control)")
    if journey.reentry_days is not None:
        lines.append(f"  Re-entry: not within {journey.reentry_days} days of leaving")
    return lines


# -- Mermaid ----------------------------------------------------------------------------------

_ESCAPES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "|": "#124;"}


def mermaid_label(text: str) -> str:
    """Text safe inside a quoted Mermaid label (entity codes; lines joined with <br/>)."""
    escaped = "".join(_ESCAPES.get(ch, ch) for ch in text)
    return "<br/>".join(part.strip() for part in escaped.splitlines() if part.strip())


def mermaid(journey: Journey) -> str:
    """The journey as a Mermaid `flowchart TD`."""
    ids = {node.id: f"n{i}" for i, node in enumerate(journey.nodes)}
    lines = ["flowchart TD", f'  trigger(["{mermaid_label("TRIGGER: " + trigger_text(journey))}"])']
    ends = False
    for node in journey.nodes:
        key = ids[node.id]
        if isinstance(node, Step):
            text = step_text(node).replace(": ", "\n", 1)
            lines.append(f'  {key}["{mermaid_label(text)}"]')
        elif isinstance(node, Split):
            when = f"\n{day_text(node.day)}" if node.day is not None else ""
            lines.append(f'  {key}{{"{mermaid_label((node.label or node.id) + when)}"}}')
        else:
            lines.append(f'  {key}{{{{"{mermaid_label("A/B: " + (node.label or node.id))}"}}}}')
    if journey.start in ids:
        lines.append(f"  trigger --> {ids[journey.start]}")
    for node in journey.nodes:
        for label, target in _arms(node):
            if target is None:
                ends = True
            destination = "done" if target is None else ids.get(target)
            if destination is None:
                continue  # a dangling reference: the validator reports it
            arrow = f'-->|"{mermaid_label(label)}"|' if label else "-->"
            lines.append(f"  {ids[node.id]} {arrow} {destination}")
    if ends:
        lines.append('  done(["Journey ends"])')
    if journey.exits:
        lines.append('  subgraph exits["EXIT CRITERIA"]')
        lines += [
            f'    x{i}[/"{mermaid_label(exit_text(journey, i))}"/]'
            for i in range(len(journey.exits))
        ]
        lines.append("  end")
    return "\n".join(lines) + "\n"


def _arms(node: Step | Split | Experiment) -> list[tuple[str, str | None]]:
    if isinstance(node, Step):
        return [("", node.next)]
    if isinstance(node, Split):
        return [
            (b.label or (criteria_text(b.when) if b.when else "otherwise"), b.next)
            for b in node.branches
        ]
    total = sum(v.weight for v in node.variants)
    return [(f"{v.id} {v.weight / total:.0%}", v.next) for v in node.variants]
