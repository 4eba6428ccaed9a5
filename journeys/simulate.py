"""Journey simulation: the journey run over customers in simulated time, with no sends.

Pure: plain customer rows (the values of the fields the journey's criteria read, consent,
suppressions, recent touches, segment memberships, the loader's trigger answer, the recency
bucket) and the workspace's contact policy in; a SimulationReport out. `simulate_load` reads
the rows for a workspace, set-based.

How a customer goes through it:

- Entry: the trigger holds and the target matches at the start (lifecycle stages, segment,
  entry criteria, not the exclusion criteria, an event trigger's `where`). Triggers written
  in the segment language are evaluated here (`trigger_criteria`: churn risk, VIP, abandoned
  cart, post-purchase); the others (event, inactivity, segment entry) come from the loader.
  Everyone who enters enters at the start of the simulation.
- Holdout: `assign(customer, journey id, holdout=share)` puts a stable share aside; they get
  no messages and are counted apart. Experiments: `assign(customer, "<journey id>.<node id>",
  variants by weight)`, the same hash as the runtime's assignment.
- Steps: at entry + day/hours. The contact decision of the gate (`guardrails.contact`) with the
  workspace policy: no granted consent or a suppression skips the step (a suppression); caps,
  the flood limit and the high-value cooldown delay it to when they allow it (a cap hit), or
  drop it when that is past the horizon or never. The journey's own caps count this journey's
  touches. Quiet hours and the once-per-24-hours trigger rule are not simulated; channels never
  fail, so backup channels are not used.
- Splits and exits read the values at the start (values do not change during a simulation):
  a `when` exit that holds at entry ends the journey at once; `after_days` exits end it on
  time; event exits (orders, cancellations) depend on future events and are not simulated (the
  expected conversions estimate the order exits).
- Expected conversions from history: see `ExpectedConversions`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from core.contact_rules import DAY, WEEK, Breach, Touch, limit_breach
from guardrails.contact import (
    ConsentRecord,
    ContactAction,
    CustomerState,
    SuppressionEntry,
    contact_decision,
)
from guardrails.contact_policy import ContactPolicy, ContactRules
from journeys.assignment import HOLDOUT, assign
from journeys.spec import Experiment, Journey, Split, Step
from scoring.criteria import AllOf, Criterion, Not, fields_used, parse_criteria
from scoring.criteria_eval import matches

MAX_RETRIES = 32
SUPPRESSING = ("consent", "suppressed")
#: Recency buckets (days since the last completed order) that make customers comparable.
RECENCY_BUCKETS = (
    (30, "0-30 days"),
    (90, "31-90 days"),
    (180, "91-180 days"),
    (365, "181-365 days"),
)
NEVER = "no order"
OLDER = "over 365 days"
BUCKET_ORDER = (*(name for _, name in RECENCY_BUCKETS), OLDER, NEVER)
LOADER_TRIGGERS = ("event", "inactivity", "segment_entry")
TRIGGER_NOTES = {
    "vip_milestone": "VIP milestone: customers at or above the threshold now, not only those "
    "crossing it",
    "abandoned_cart": "abandoned cart: customers with an open cart now (inactivity not checked)",
    "post_purchase": "post-purchase: customers whose last order is within the simulated days",
    "event": "event trigger: customers with the event in its window before the start",
    "inactivity": "inactivity: customers with no event and no order in the days before the start",
    "segment_entry": "segment entry: the segment's current members",
}


def recency_bucket(days: int | None) -> str:
    """The bucket of a customer who last ordered `days` days ago (None: never)."""
    if days is None:
        return NEVER
    for limit, name in RECENCY_BUCKETS:
        if days <= limit:
            return name
    return OLDER


@dataclass(frozen=True, slots=True)
class CustomerRow:
    """What the simulation knows about one customer."""

    customer_id: str
    values: Mapping[str, Any] = field(default_factory=dict)
    consent: Mapping[str, str] = field(default_factory=dict)  # channel -> granted|revoked
    suppressions: tuple[tuple[str, str], ...] = ()  # (channel or "all", reason)
    touches: tuple[Touch, ...] = ()  # before the start
    segments: frozenset[str] = frozenset()
    trigger_hit: bool = False  # the loader's answer for event, inactivity, segment entry
    recency: str = NEVER


@dataclass(frozen=True, slots=True)
class BaseRate:
    """Of the `customers` in a recency bucket at the reference day, `converted` reached the
    goal within the goal window after it."""

    bucket: str
    customers: int
    converted: int

    @property
    def rate(self) -> float:
        return self.converted / self.customers if self.customers else 0.0


@dataclass(frozen=True)
class ExpectedConversions:
    """Expected conversions of the entrants from the workspace's history, no uplift assumed."""

    method: str
    conversions: float
    entrants_by_bucket: dict[str, int]
    rates: dict[str, BaseRate]

    @property
    def rate(self) -> float:
        entrants = sum(self.entrants_by_bucket.values())
        return self.conversions / entrants if entrants else 0.0


@dataclass
class StepStats:
    node_id: str
    channel: str
    day: int
    reached: int = 0
    sent: int = 0
    delayed: int = 0
    dropped_by_caps: int = 0
    suppressed: int = 0
    after_horizon: int = 0


@dataclass
class SimulationReport:
    journey_id: str
    version: str
    start: datetime
    days: int
    customers: int = 0
    matching: int = 0
    holdout: int = 0
    entries: int = 0
    touches: Counter[str] = field(default_factory=Counter)
    touches_per_customer: Counter[int] = field(default_factory=Counter)
    cap_hits: Counter[str] = field(default_factory=Counter)
    suppressions: Counter[str] = field(default_factory=Counter)
    exits: Counter[str] = field(default_factory=Counter)
    branches: dict[str, Counter[str]] = field(default_factory=dict)
    steps: dict[str, StepStats] = field(default_factory=dict)
    expected: ExpectedConversions | None = None
    notes: list[str] = field(default_factory=list)
    sent: dict[str, list[Touch]] = field(default_factory=dict)  # with Setting.keep_touches

    @property
    def total_touches(self) -> int:
        return sum(self.touches.values())


@dataclass(frozen=True)
class Setting:
    """The simulation's frame: when it starts, how long it runs, the workspace's policy, and
    the historical rates for the expected conversions."""

    start: datetime
    days: int
    policy: ContactPolicy = field(default_factory=ContactPolicy)
    rates: Mapping[str, BaseRate] = field(default_factory=dict)
    reference: date | None = None
    keep_touches: bool = False  # record each entrant's simulated touches (tests, drill-down)


def trigger_criteria(journey: Journey, days: int) -> dict[str, Any] | None:
    """The trigger as criteria, for the triggers the segment language can say (approximations
    of a firing at the start: a VIP is at or above the threshold rather than crossing it, an
    abandoned cart is an open one, a purchase is an order within the simulated days)."""
    trigger = journey.trigger
    if trigger.type == "churn_risk":
        days_since = trigger.days_since_last_order
        return {"lifecycle.stage": "ACTIVE", "daysSinceLastOrder": {"gte": days_since}}
    if trigger.type == "vip_milestone":
        return {"rfm.composite": {"gte": trigger.composite_gte}}
    if trigger.type == "abandoned_cart":
        return {"cart.isOpen": True}
    if trigger.type == "post_purchase":
        return {"daysSinceLastOrder": {"lte": days}}
    return None


def audience(journey: Journey, days: int) -> Criterion | None:
    """Trigger (where it is criteria) and target as one criterion (None: everyone)."""
    parts: list[Criterion] = []
    target = journey.target
    if target.lifecycle_stages:
        parts.append(parse_criteria({"lifecycle.stage": {"in": list(target.lifecycle_stages)}}))
    where = getattr(journey.trigger, "where", None)
    for data in (trigger_criteria(journey, days), target.entry, where):
        if data:
            parts.append(parse_criteria(data))
    if target.exclusion:
        parts.append(Not("exclusion", parse_criteria(target.exclusion)))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else AllOf("audience", tuple(parts))


def fields_needed(journey: Journey, days: int) -> set[str]:
    """Every field the simulation reads: audience, branches and `when` exits."""
    criteria: list[Criterion] = []
    whole = audience(journey, days)
    if whole is not None:
        criteria.append(whole)
    for node in journey.nodes:
        if isinstance(node, Split):
            criteria += [parse_criteria(b.when) for b in node.branches if b.when]
    criteria += [parse_criteria(e.when) for e in journey.exits if e.when]
    return set().union(*(fields_used(c) for c in criteria)) if criteria else set()


def segments_needed(journey: Journey) -> set[str]:
    names = {journey.target.segment} if journey.target.segment else set()
    if journey.trigger.type == "segment_entry":
        names.add(journey.trigger.segment)
    return names


def enters(journey: Journey, row: CustomerRow, criterion: Criterion | None) -> bool:
    if journey.trigger.type in LOADER_TRIGGERS and not row.trigger_hit:
        return False
    if journey.target.segment and journey.target.segment not in row.segments:
        return False
    return criterion is None or matches(criterion, row.values)


def in_holdout(journey: Journey, customer_id: str) -> bool:
    """The journey's holdout: `assign` on the journey id with the holdout share."""
    if not journey.holdout:
        return False
    arm = assign(customer_id, journey.id, [("journey", 1.0)], holdout=journey.holdout)
    return arm == HOLDOUT


def experiment_key(journey: Journey, node: Experiment) -> str:
    return f"{journey.id}.{node.id}"


def _journey_breach(
    journey: Journey, touches: Sequence[Touch], channel: str, now: datetime
) -> Breach | None:
    """The first of the journey's own caps a touch on `channel` would break (its touches only)."""
    own = [t for t in touches if (t.action_id or "").startswith(f"{journey.id}:")]
    for key in (channel, "total"):
        cap = journey.caps.get(key)
        if cap is None:
            continue
        for limit, window, name in ((cap.day, DAY, "day"), (cap.week, WEEK, "week")):
            if limit is None:
                continue
            breach = limit_breach(
                own,
                now,
                window=window,
                limit=limit,
                counts=lambda t, k=key: k == "total" or t.channel == k,
                rule=f"journey_{key}_{name}",
                detail=f"the journey's {key} cap {limit}/{name}",
            )
            if breach is not None:
                return breach
    return None


class _Run:
    """One simulation: the counters, and each entrant walked through the graph."""

    def __init__(self, journey: Journey, setting: Setting) -> None:
        self.journey = journey
        self.setting = setting
        self.horizon = setting.start + timedelta(days=setting.days)
        self.policy = ContactPolicy(
            rules=ContactRules(
                quiet_hours=None,
                default_timezone=setting.policy.rules.default_timezone,
                flood_per_day=setting.policy.rules.flood_per_day,
                trigger_window_hours=0,
            ),
            caps=setting.policy.caps,
        )
        self.report = SimulationReport(journey.id, journey.version, setting.start, setting.days)
        for step in journey.steps():
            self.report.steps[step.id] = StepStats(step.id, step.channel, step.day)
        self.after = sorted((e.after_days, e.id) for e in journey.exits if e.after_days is not None)
        self.when_exits = [(e.id, parse_criteria(e.when)) for e in journey.exits if e.when]

    def state(self, row: CustomerRow, touches: list[Touch]) -> CustomerState:
        start = self.setting.start
        return CustomerState(
            customer_id=row.customer_id,
            consent={
                ch: ConsentRecord(status, "history", start) for ch, status in row.consent.items()
            },
            suppressions=tuple(
                SuppressionEntry(ch, reason, "history", start) for ch, reason in row.suppressions
            ),
            touches=tuple(touches),
        )

    def walk(self, row: CustomerRow) -> None:
        journey, start = self.journey, self.setting.start
        for exit_id, criterion in self.when_exits:
            if matches(criterion, row.values):
                self.report.exits[exit_id] += 1
                self.report.touches_per_customer[0] += 1
                return
        touches = list(row.touches)
        sent = 0
        last = start
        node_id: str | None = journey.start
        for _ in range(len(journey.nodes) + 1):
            node = journey.node(node_id) if node_id is not None else None
            if node is None:
                break
            if isinstance(node, Step):
                due = max(start + timedelta(hours=node.offset_hours), last)
                ended = self._ended(due, node)
                if ended:
                    self.report.touches_per_customer[sent] += 1
                    return
                went = self._send(row, node, due, touches)
                if went is not None:
                    sent += 1
                    last = went
                node_id = node.next
            elif isinstance(node, Split):
                if node.day is not None and self._ended(start + timedelta(days=node.day), None):
                    self.report.touches_per_customer[sent] += 1
                    return
                branch = next((b for b in node.branches if self._holds(b.when, row)), None)
                counts = self.report.branches.setdefault(node.id, Counter())
                if branch is None:
                    counts["(no branch matched)"] += 1
                    break
                counts[branch.label or ("otherwise" if branch.when is None else "branch")] += 1
                node_id = branch.next
            else:
                variant = assign(
                    row.customer_id,
                    experiment_key(journey, node),
                    [(v.id, v.weight) for v in node.variants],
                )
                self.report.branches.setdefault(node.id, Counter())[variant] += 1
                node_id = next(v.next for v in node.variants if v.id == variant)
        self.report.exits["completed"] += 1
        self.report.touches_per_customer[sent] += 1

    def _holds(self, when: dict[str, Any] | None, row: CustomerRow) -> bool:
        return when is None or matches(parse_criteria(when), row.values)

    def _ended(self, due: datetime, step: Step | None) -> bool:
        """Whether an after_days exit or the horizon comes first; counts it."""
        start = self.setting.start
        for days, exit_id in self.after:
            if due >= start + timedelta(days=days):
                self.report.exits[exit_id] += 1
                return True
        if due >= self.horizon:
            self.report.exits["in journey at the horizon"] += 1
            if step is not None:
                self.report.steps[step.id].after_horizon += 1
            return True
        return False

    def _send(
        self, row: CustomerRow, step: Step, due: datetime, touches: list[Touch]
    ) -> datetime | None:
        """When the step's message would go out (and record it), or None."""
        stats = self.report.steps[step.id]
        stats.reached += 1
        action = ContactAction(f"{self.journey.id}:{step.id}", step.high_value)
        when = due
        for _ in range(MAX_RETRIES):
            decision = contact_decision(
                self.state(row, touches), step.channel, None, action, self.policy, when
            )
            if not decision.allowed and decision.rule in SUPPRESSING:
                stats.suppressed += 1
                self.report.suppressions[f"{step.channel}: {decision.rule}"] += 1
                return None
            if decision.allowed:
                own = _journey_breach(self.journey, touches, step.channel, when)
                if own is None:
                    break
                rule, retry_at = own.detail, own.retry_at
            else:
                rule, retry_at = _rule_name(decision.rule, decision.detail), decision.retry_at
            self.report.cap_hits[rule] += 1
            if retry_at is None or retry_at >= self.horizon or retry_at <= when:
                stats.dropped_by_caps += 1
                return None
            if when == due:
                stats.delayed += 1
            when = retry_at
        else:
            stats.dropped_by_caps += 1
            return None
        touch = Touch(step.channel, action.id, when, high_value=step.high_value)
        touches.append(touch)
        if self.setting.keep_touches:
            self.report.sent.setdefault(row.customer_id, []).append(touch)
        stats.sent += 1
        self.report.touches[step.channel] += 1
        return when


def _rule_name(rule: str, detail: str) -> str:
    """A cap hit's name, the same for every customer it stops."""
    if rule == "high_value_cooldown":
        return "the workspace's high-value offer cooldown"
    return "the workspace's " + detail.split(" reached")[0]


def simulate(journey: Journey, rows: Sequence[CustomerRow], setting: Setting) -> SimulationReport:
    """The journey over the rows, in simulated time from `setting.start` for `setting.days`."""
    run = _Run(journey, setting)
    report = run.report
    criterion = audience(journey, setting.days)
    entrants: Counter[str] = Counter()
    for row in rows:
        report.customers += 1
        if not enters(journey, row, criterion):
            continue
        report.matching += 1
        if in_holdout(journey, row.customer_id):
            report.holdout += 1
            continue
        report.entries += 1
        entrants[row.recency] += 1
        run.walk(row)
    report.expected = expected_conversions(journey, entrants, setting)
    report.notes = notes(journey)
    return report


def expected_conversions(
    journey: Journey, entrants: Mapping[str, int], setting: Setting
) -> ExpectedConversions:
    goal = journey.goal
    what = "ordered" if goal.kind == "order" else f'had event "{goal.event}"'
    reference = setting.reference or (setting.start - timedelta(days=goal.within_days)).date()
    method = (
        f"history baseline, no uplift assumed: each entrant counts the share of the workspace's "
        f"customers who on {reference} had last ordered as long ago as the entrant has now "
        f"(same recency bucket) and who {what} within the following {goal.within_days} days"
    )
    none = BaseRate("", 0, 0)
    expected = sum(
        count * setting.rates.get(bucket, none).rate for bucket, count in entrants.items()
    )
    return ExpectedConversions(method, expected, dict(entrants), dict(setting.rates))


def notes(journey: Journey) -> list[str]:
    found = ["quiet hours and the once-per-24-hours trigger rule are not simulated"]
    approximation = TRIGGER_NOTES.get(journey.trigger.type)
    if approximation:
        found.append(approximation)
    if any(e.event for e in journey.exits):
        found.append("event exits depend on future events and are not simulated")
    if any(s.backup_channel for s in journey.steps()):
        found.append("channels do not fail in a simulation: backup channels are not used")
    return found
