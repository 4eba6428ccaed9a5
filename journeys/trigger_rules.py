"""What comes of a trigger firing: the audience gate, fatigue, re-entry and conflicts (pure).

Each firing is a `Facts` row (what the scan read about the customer for one journey); the
first rule that holds gives its outcome, in this order:

    duplicate          already in this journey; entered it less than the same-trigger window
                       ago (24 h, seed 002); or left it less than `reentry_days` ago
    not_eligible       not in the target's lifecycle stages, not in its segment, or not
                       matching its entry criteria
    excluded           matches the exclusion criteria
    suppressed_optout  cannot be reached on any channel the journey uses (no granted consent,
                       or suppressed there or everywhere)
    suppressed_cap     at the cross-channel weekly cap, or cooling off after another journey

The firings left are candidates. `resolve_conflicts` keeps one per customer, across journeys:
the best by `rank` (lifecycle stage, then business value), and not even that one when the
customer is already active in a journey that ranks as high or higher (outcome `conflict`).

The stage order (most urgent first) is `STAGE_ORDER`: keeping a customer comes before winning
one, and winning one before growing one. A journey serves the customer's stage when its target
names stages, otherwise the stage its trigger implies (`TRIGGER_STAGES`); a journey that serves
no stage ranks after all that do. Ties go to the higher `priority`, then the journey id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from journeys.spec import Journey

ENROLLED = "enrolled"
DUPLICATE = "duplicate"
CONFLICT = "conflict"
NOT_ELIGIBLE = "not_eligible"
EXCLUDED = "excluded"
SUPPRESSED_CAP = "suppressed_cap"
SUPPRESSED_OPTOUT = "suppressed_optout"
PAUSED = "paused"
OUTCOMES = (
    ENROLLED,
    DUPLICATE,
    CONFLICT,
    NOT_ELIGIBLE,
    EXCLUDED,
    SUPPRESSED_CAP,
    SUPPRESSED_OPTOUT,
    PAUSED,
)

#: Most urgent first: at risk (save them before they go), churned (win back), activation (a
#: new customer's first value), consideration (intent to buy), awareness, then the healthy
#: stages, where a message can wait: retention, expansion, advocacy.
STAGE_ORDER = (
    "at_risk",
    "churned",
    "activation",
    "consideration",
    "awareness",
    "retention",
    "expansion",
    "advocacy",
)
#: The stage a trigger speaks to when the journey's target names none.
TRIGGER_STAGES = {
    "churn_risk": "at_risk",
    "inactivity": "at_risk",
    "abandoned_cart": "consideration",
    "post_purchase": "retention",
    "vip_milestone": "advocacy",
}


def trigger_key(customer_id: str, trigger_type: str, bucket: str) -> str:
    """Seed 002's idempotency key: customer + trigger + date bucket (or the order id)."""
    return f"{customer_id}:{trigger_type}:{bucket}"


@dataclass(frozen=True, slots=True)
class Facts:
    """What one scan read about one customer whose trigger fired for one journey."""

    journey_id: str
    customer_id: str
    trigger_key: str
    stage: str | None = None
    in_segment: bool = True
    entry_ok: bool = True
    excluded: bool = False
    reachable: bool = True
    touches_week: int = 0
    other_journey_ended_at: datetime | None = None
    active_here: bool = False
    entered_here_at: datetime | None = None
    ended_here_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Limits:
    """The workspace's limits the gate applies: caps, windows, cooling-off."""

    total_per_week: int = 8
    trigger_window: timedelta = timedelta(hours=24)
    cooling_off: timedelta = timedelta(days=2)


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: str
    detail: str


def _day(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def gate(facts: Facts, journey: Journey, limits: Limits, now: datetime) -> Verdict | None:
    """The first rule that keeps the customer out of the journey; None: a candidate."""
    if facts.active_here:
        return Verdict(DUPLICATE, "already active in this journey")
    if facts.entered_here_at is not None and now - facts.entered_here_at < limits.trigger_window:
        hours = int(limits.trigger_window.total_seconds() // 3600)
        return Verdict(
            DUPLICATE,
            f"entered this journey at {_day(facts.entered_here_at)}; once per {hours} h",
        )
    if (
        journey.reentry_days
        and facts.ended_here_at is not None
        and now - facts.ended_here_at < timedelta(days=journey.reentry_days)
    ):
        return Verdict(
            DUPLICATE,
            f"left this journey at {_day(facts.ended_here_at)}; re-entry after "
            f"{journey.reentry_days} days",
        )
    target = journey.target
    if target.lifecycle_stages and facts.stage not in target.lifecycle_stages:
        return Verdict(
            NOT_ELIGIBLE,
            f"lifecycle stage {facts.stage or 'unknown'} is not one of "
            f"{', '.join(target.lifecycle_stages)}",
        )
    if target.segment is not None and not facts.in_segment:
        return Verdict(NOT_ELIGIBLE, f"not in segment {target.segment!r}")
    if target.entry is not None and not facts.entry_ok:
        return Verdict(NOT_ELIGIBLE, "does not meet the entry criteria")
    if target.exclusion is not None and facts.excluded:
        return Verdict(EXCLUDED, "meets the exclusion criteria")
    if not facts.reachable:
        return Verdict(
            SUPPRESSED_OPTOUT,
            f"no channel of the journey ({', '.join(sorted(journey.channels()))}) may reach "
            "the customer: opted out, suppressed or no opt-in",
        )
    if facts.touches_week >= limits.total_per_week:
        return Verdict(
            SUPPRESSED_CAP,
            f"{facts.touches_week} messages in 7 days: cross-channel cap "
            f"{limits.total_per_week}/week reached",
        )
    ended = facts.other_journey_ended_at
    if ended is not None and now - ended < limits.cooling_off:
        return Verdict(
            SUPPRESSED_CAP,
            f"cooling off: another journey ended at {_day(ended)} "
            f"(cooling-off {limits.cooling_off.total_seconds() / 86400:g} days)",
        )
    return None


def served_stage(journey: Journey, customer_stage: str | None) -> str | None:
    """The stage the journey serves for this customer (see the module docstring)."""
    if journey.target.lifecycle_stages:
        return customer_stage if customer_stage in journey.target.lifecycle_stages else None
    return TRIGGER_STAGES.get(journey.trigger.type)


def rank(journey: Journey, customer_stage: str | None) -> tuple[int, int]:
    """Lower is more important: (stage urgency, minus priority)."""
    stage = served_stage(journey, customer_stage)
    urgency = STAGE_ORDER.index(stage) if stage in STAGE_ORDER else len(STAGE_ORDER)
    return urgency, -journey.priority


def describe_rank(journey: Journey, customer_stage: str | None) -> str:
    stage = served_stage(journey, customer_stage) or "no stage"
    return f"{journey.id} ({stage}, priority {journey.priority})"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A firing that passed the gate: its journey and the customer's stage."""

    journey: Journey
    customer_id: str
    trigger_key: str
    stage: str | None


def resolve_conflicts(
    candidates: Iterable[Candidate],
    active: Mapping[str, Sequence[Journey]],
) -> tuple[list[Candidate], dict[tuple[str, str], Verdict]]:
    """One winner per customer; (winners, {(journey id, trigger key): conflict verdict}).

    `active` holds, per customer, the journeys they are active in (other than the one firing:
    a firing of a journey the customer is in never gets here)."""
    by_customer: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        by_customer.setdefault(candidate.customer_id, []).append(candidate)
    winners: list[Candidate] = []
    lost: dict[tuple[str, str], Verdict] = {}
    for customer_id, group in by_customer.items():
        group.sort(key=lambda c: (*rank(c.journey, c.stage), c.journey.id))
        best, others = group[0], group[1:]
        stage = best.stage
        incumbents = [
            journey
            for journey in active.get(customer_id, ())
            if journey.id != best.journey.id and rank(journey, stage) <= rank(best.journey, stage)
        ]
        if incumbents:
            holder = min(incumbents, key=lambda j: (*rank(j, stage), j.id))
            others = group
            reason = f"already active in {describe_rank(holder, stage)}"
        else:
            winners.append(best)
            reason = f"lost to {describe_rank(best.journey, stage)}"
        for other in others:
            lost[(other.journey.id, other.trigger_key)] = Verdict(
                CONFLICT,
                f"{reason}; this journey is {describe_rank(other.journey, other.stage)}",
            )
    return winners, lost


def describe_firing(trigger_type: str, at: datetime, subject: str | None, value: int | None) -> str:
    """What fired, in words, for the trigger log."""
    when = _day(at)
    if trigger_type == "abandoned_cart":
        amount = f" ({value / 100:.2f})" if value is not None else ""
        return f"cart {subject}{amount} idle since {when}"
    if trigger_type == "churn_risk":
        return f"last order at {when}"
    if trigger_type == "vip_milestone":
        return f"RFM composite {value} on the {subject} snapshot"
    if trigger_type == "post_purchase":
        return f"order {subject} paid, placed at {when}"
    if trigger_type == "segment_entry":
        return f"entered the segment in run {subject} at {when}"
    if trigger_type == "event":
        return f"{value} x {subject!r}, the latest at {when}"
    if trigger_type == "inactivity":
        return f"no event and no order since {when}"
    return f"{trigger_type} at {when}"
