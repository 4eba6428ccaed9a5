"""Does a journey's own schedule break a frequency cap? Touches per channel per rolling day and
week along every path, against the journey's caps and the workspace's contact policy.

Windows are rolling, as the gate counts them (`core.contact_rules`): a day is any 24 hours, a
week any 7 days, measured on the steps' offsets (day and hour after entry). A step with a
backup channel counts on both channels (whichever goes out, the worst case for each) and once
across channels. Touches from outside the journey are the simulation's business, not this one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.contact_rules import Caps
from journeys.graph import index_of
from journeys.problems import ERROR, Problem
from journeys.spec import Journey, Step

DAY_HOURS = 24
WEEK_HOURS = 24 * 7


@dataclass(frozen=True, slots=True)
class CapRule:
    """At most `limit` touches on `channel` (None: any channel) in `hours` rolling hours."""

    source: str  # "the journey's" / "the workspace's"
    channel: str | None
    hours: int
    limit: int
    setting: str  # where to change it: caps.email.week, `mcopilot actions set` ...

    @property
    def label(self) -> str:
        scope = self.channel or "cross-channel"
        window = "day" if self.hours == DAY_HOURS else "week"
        return f"{self.source} {scope} cap {self.limit}/{window}"


@dataclass(frozen=True, slots=True)
class Touch:
    hours: int
    step: str
    channel: str
    backup: str | None

    def counts_for(self, channel: str | None) -> bool:
        return channel is None or channel in (self.channel, self.backup)

    def shown(self, channel: str | None) -> str:
        day = f"day {self.hours // 24}" + (f" {self.hours % 24:02d}h" if self.hours % 24 else "")
        via = " (backup)" if channel is not None and channel == self.backup else ""
        return f"{self.step} {day}{via}"


def journey_rules(journey: Journey) -> list[CapRule]:
    rules = []
    for key, cap in journey.caps.items():
        channel = None if key == "total" else key
        if cap.day is not None:
            rules.append(CapRule("the journey's", channel, DAY_HOURS, cap.day, f"caps.{key}.day"))
        if cap.week is not None:
            rules.append(
                CapRule("the journey's", channel, WEEK_HOURS, cap.week, f"caps.{key}.week")
            )
    return rules


def workspace_rules(caps: Caps, flood_per_day: int | None, note: str) -> list[CapRule]:
    where = f"the workspace's caps ({note})"
    rules = [
        CapRule("the workspace's", channel, DAY_HOURS, limit, where)
        for channel, limit in caps.per_day.items()
    ]
    rules += [
        CapRule("the workspace's", channel, WEEK_HOURS, limit, where)
        for channel, limit in caps.per_week.items()
    ]
    rules.append(CapRule("the workspace's", None, WEEK_HOURS, caps.total_per_week, where))
    if flood_per_day is not None:
        rules.append(
            CapRule(
                "the workspace's flood", None, DAY_HOURS, flood_per_day, f"flood_per_day ({note})"
            )
        )
    return rules


def path_touches(journey: Journey, path: Sequence[str]) -> list[Touch]:
    touches = []
    for node_id in path:
        node = journey.node(node_id)
        if isinstance(node, Step):
            touches.append(Touch(node.offset_hours, node.id, node.channel, node.backup_channel))
    return sorted(touches, key=lambda t: t.hours)


def first_breach(touches: list[Touch], rule: CapRule) -> list[Touch] | None:
    """The first window holding more touches than the rule allows (limit + 1 of them)."""
    counted = [t for t in touches if t.counts_for(rule.channel)]
    for i, first in enumerate(counted):
        window = [t for t in counted[i:] if t.hours < first.hours + rule.hours]
        if len(window) > rule.limit:
            return window[: rule.limit + 1]
    return None


def cap_problems(
    journey: Journey, paths: Sequence[Sequence[str]], rules: list[CapRule]
) -> list[Problem]:
    positions = index_of(journey)
    problems: list[Problem] = []
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for path in paths:
        touches = path_touches(journey, path)
        for rule in rules:
            window = first_breach(touches, rule)
            if window is None:
                continue
            key = (rule.label, tuple(t.step for t in window))
            if key in seen:
                continue
            seen.add(key)
            period = "24 hours" if rule.hours == DAY_HOURS else "7 days"
            steps = ", ".join(t.shown(rule.channel) for t in window)
            scope = f"{rule.channel} " if rule.channel else ""
            problems.append(
                Problem(
                    ERROR,
                    "cap_exceeded",
                    f"nodes[{positions[window[-1].step]}]",
                    f"{len(window)} {scope}touches within {period} on one path ({steps}) break "
                    f"{rule.label}",
                    f"space the steps more than {period} apart, move one to another channel, "
                    f"or raise {rule.setting}",
                )
            )
    return problems
