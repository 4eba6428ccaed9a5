"""The contact decision: may this customer be contacted on this channel now, and if not, why
and from when.

Pure: the customer's state (consent with provenance, suppressions, recent touches, time zone),
the channel, the trigger, the action, the policy and the time in; a ContactDecision out. The
execution gate calls it inside its transaction; nothing here reads or writes the database.

The rules, in order; the first that fails blocks:

    consent              the channel needs a granted opt-in (missing or revoked blocks)
    suppressed           no suppression for the channel or for `all` (bounce, complaint,
                         unsubscribe, manual)
    trigger_once         the same trigger reached the customer less than 24 hours ago (seed 002)
    high_value_cooldown  a high-value offer went out less than 14 days ago (seed 002)
    cap_day, cap_week, cap_total   the frequency caps (seed 000), see core.contact_rules
    flood                the customer's messages in 24 hours, all channels (seed 002)
    quiet_hours          the customer's local time is inside the quiet window

`retry_at` is the earliest moment every rule passes, if nothing else changes (None when
waiting cannot help: no consent, a suppression, a cap of 0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.contact_rules import DAY, Breach, Touch, first_cap_breach, limit_breach
from core.errors import InvalidInput
from core.models import ALL_CHANNELS, CHANNELS
from guardrails.contact_policy import ContactPolicy, zone
from guardrails.quiet_hours import quiet_until

ALLOWED = "allowed"
MAX_RETRY_STEPS = 32


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    status: str
    source: str
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class SuppressionEntry:
    channel: str
    reason: str
    source: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CustomerState:
    """What the decision needs to know about one customer, loaded in one go."""

    customer_id: str
    timezone: str | None = None
    consent: Mapping[str, ConsentRecord] = field(default_factory=dict)
    suppressions: Sequence[SuppressionEntry] = ()
    touches: Sequence[Touch] = ()


@dataclass(frozen=True, slots=True)
class ContactAction:
    """The action about to reach the customer: its id and whether it is a high-value offer."""

    id: str | None = None
    high_value: bool = False


@dataclass(frozen=True, slots=True)
class ContactDecision:
    allowed: bool
    rule: str
    detail: str
    retry_at: datetime | None = None


def _consent(state: CustomerState, channel: str) -> Breach | None:
    record = state.consent.get(channel)
    if record is None:
        return Breach("consent", f"no {channel} opt-in on record", None)
    if record.status != "granted":
        return Breach(
            "consent",
            f"{channel} consent {record.status} by {record.source} on "
            f"{record.recorded_at.date().isoformat()}",
            None,
        )
    return None


def _suppressed(state: CustomerState, channel: str) -> Breach | None:
    for entry in sorted(state.suppressions, key=lambda s: s.created_at):
        if entry.channel in (channel, ALL_CHANNELS):
            scope = "every channel" if entry.channel == ALL_CHANNELS else channel
            return Breach(
                "suppressed",
                f"{scope} suppressed: {entry.reason} ({entry.source}, "
                f"{entry.created_at.date().isoformat()})",
                None,
            )
    return None


def _trigger_once(
    state: CustomerState, trigger_id: str | None, window: timedelta, now: datetime
) -> Breach | None:
    if trigger_id is None or window <= timedelta(0):
        return None
    same = [t.occurred_at for t in state.touches if t.trigger_id == trigger_id]
    recent = [at for at in same if now - at < window]
    if not recent:
        return None
    last = max(recent)
    hours = int(window.total_seconds() // 3600)
    return Breach(
        "trigger_once",
        f"trigger {trigger_id!r} reached this customer at {last.isoformat()}; once per {hours} h",
        last + window,
    )


def _high_value(
    state: CustomerState, action: ContactAction, cooldown: timedelta, now: datetime
) -> Breach | None:
    if not action.high_value:
        return None
    recent = [
        t.occurred_at for t in state.touches if t.high_value and now - t.occurred_at < cooldown
    ]
    if not recent:
        return None
    last = max(recent)
    return Breach(
        "high_value_cooldown",
        f"a high-value offer went out at {last.isoformat()}; cooldown {cooldown.days} days",
        last + cooldown,
    )


def _quiet(
    state: CustomerState, channel: str, policy: ContactPolicy, now: datetime
) -> Breach | None:
    quiet = policy.rules.quiet_hours
    if quiet is None or channel not in quiet.channels:
        return None
    tz = zone(state.timezone) if state.timezone else None
    note = ""
    if tz is None:
        tz = zone(policy.rules.default_timezone)
        known = f"unknown time zone {state.timezone!r}" if state.timezone else "no time zone"
        note = f"; {known}, so {policy.rules.default_timezone}"
    assert tz is not None  # the policy validated its default zone
    until = quiet_until(now, tz, quiet.start, quiet.end)
    if until is None:
        return None
    local = now.astimezone(tz)
    return Breach(
        "quiet_hours",
        f"{local.strftime('%H:%M')} in {tz.key} is inside quiet hours "
        f"{quiet.start.strftime('%H:%M')}-{quiet.end.strftime('%H:%M')}{note}",
        until,
    )


def first_block(
    state: CustomerState,
    channel: str,
    trigger_id: str | None,
    action: ContactAction,
    policy: ContactPolicy,
    now: datetime,
) -> Breach | None:
    """The first rule that blocks the contact at `now`, or None."""
    rules = policy.rules
    for check in (
        lambda: _consent(state, channel),
        lambda: _suppressed(state, channel),
        lambda: _trigger_once(state, trigger_id, timedelta(hours=rules.trigger_window_hours), now),
        lambda: _high_value(
            state, action, timedelta(days=policy.caps.high_value_cooldown_days), now
        ),
        lambda: first_cap_breach(state.touches, channel, policy.caps, now),
        lambda: limit_breach(
            state.touches,
            now,
            window=DAY,
            limit=rules.flood_per_day,
            counts=lambda t: True,
            rule="flood",
            detail=f"flood limit {rules.flood_per_day} messages/24 h reached (all channels)",
        ),
        lambda: _quiet(state, channel, policy, now),
    ):
        breach = check()
        if breach is not None:
            return breach
    return None


def _validate(channel: str, now: datetime) -> None:
    if channel not in CHANNELS:
        raise InvalidInput(
            f"unknown channel {channel!r}", field="channel", fix=f"use one of {', '.join(CHANNELS)}"
        )
    if now.tzinfo is None:
        raise InvalidInput("naive datetime", field="now", fix="pass a timezone-aware time")


def contact_decision(
    customer_state: CustomerState,
    channel: str,
    trigger_id: str | None,
    action: ContactAction,
    policy: ContactPolicy,
    now: datetime,
) -> ContactDecision:
    """Whether the contact may go out now; if not, the first rule in the way, why, and the
    earliest moment all rules pass with the touches known now."""
    _validate(channel, now)
    breach = first_block(customer_state, channel, trigger_id, action, policy, now)
    if breach is None:
        return ContactDecision(True, ALLOWED, f"{channel} contact allowed", None)
    retry_at = breach.retry_at
    for _ in range(MAX_RETRY_STEPS):
        if retry_at is None:
            break
        later = first_block(customer_state, channel, trigger_id, action, policy, retry_at)
        if later is None:
            break
        if later.retry_at is None or later.retry_at <= retry_at:
            retry_at = None  # waiting for this rule cannot help
            break
        retry_at = later.retry_at
    return ContactDecision(False, breach.rule, breach.detail, retry_at)
