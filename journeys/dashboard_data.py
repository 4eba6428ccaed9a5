"""The journey dashboard as plain data: what the analytics queries fill and the renderer draws.

Rates are shares (0..1) or None when their denominator is 0: "no data" is not 0%.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

CHANNEL_LABELS = {"email": "Email", "sms": "SMS", "push": "Push", "in_app": "In-app"}


def channel_label(channel: str) -> str:
    return CHANNEL_LABELS.get(channel, channel)


def share(numerator: int | float, denominator: int | float) -> float | None:
    """numerator / denominator, or None when there is nothing to divide by."""
    return numerator / denominator if denominator else None


@dataclass(frozen=True, slots=True)
class JourneyRow:
    """One journey's pipeline as of the dashboard's time (holdout enrolments left out).

    active: entered and not ended; ended: left by any exit (completed, converted, exited,
    removed); completed: ended by reaching the end of its path or its goal (status completed
    or converted); converted: ended with a conversion (status converted, or the goal reached
    while in the journey). conversion_rate = converted / ended."""

    journey_id: str
    name: str
    state: str
    active: int
    ended: int
    completed: int
    converted: int

    @property
    def conversion_rate(self) -> float | None:
        return share(self.converted, self.ended)


@dataclass(frozen=True, slots=True)
class TriggerActivity:
    """What happened in the window (the last hour): firings, sends, failures, suppressions.

    delivery_rate = executed / (executed + failed + suppressed by cap + suppressed by opt-out):
    of the window's action outcomes, the share that reached the customer (seed 000's 83.3% is
    289 / (289 + 12 + 34 + 12))."""

    start: datetime
    end: datetime
    fired: int
    executed: int
    failed_by_channel: dict[str, int]
    suppressed_cap: int
    suppressed_optout: int

    @property
    def failed(self) -> int:
        return sum(self.failed_by_channel.values())

    @property
    def delivery_rate(self) -> float | None:
        outcomes = self.executed + self.failed + self.suppressed_cap + self.suppressed_optout
        return share(self.executed, outcomes)


@dataclass(frozen=True, slots=True)
class ActionShare:
    action_id: str
    title: str
    channel: str
    count: int
    share: float


@dataclass(frozen=True, slots=True)
class NbaStats:
    """Next-best-action decisions served in the window: how many, how confident on average
    (over decisions that named an action), and the top actions with their share of all."""

    start: datetime
    end: datetime
    decisions: int
    avg_confidence: float | None
    top_actions: list[ActionShare]
    no_action: int


Unit = Literal["share", "touches"]


@dataclass(frozen=True, slots=True)
class Trend:
    """A metric over the last 30 days against the 30 before."""

    key: str
    label: str
    unit: Unit
    current: float | None
    previous: float | None
    higher_is_better: bool

    @property
    def delta(self) -> float | None:
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous


AlertLevel = Literal["warning", "ok"]


@dataclass(frozen=True, slots=True)
class Alert:
    """A warning (or an ok for a target met) with what was measured against what."""

    level: AlertLevel
    kind: str
    message: str
    journey_id: str | None = None
    channel: str | None = None
    value: float | None = None
    threshold: float | None = None


@dataclass(frozen=True, slots=True)
class Kpi:
    """One seed-002 KPI over the period: value = numerator / denominator, with the detail."""

    key: str
    label: str
    numerator: float
    denominator: float
    detail: str = ""
    value: float | None = None
    extra: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Dashboard:
    workspace: str
    as_of: datetime
    active_journeys: int
    customers_in_journeys: int
    journeys: list[JourneyRow]
    activity: TriggerActivity
    nba: NbaStats
    trends: list[Trend]
    alerts: list[Alert]
    kpis: list[Kpi]
