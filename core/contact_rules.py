"""Contact rules shared by next best action and the guardrails: frequency caps and windows.

Pure: touches (messages that reached a customer) and the time in, the first breached rule out,
with the moment it stops applying. Caps follow seed 000's defaults (email 2/week, push 3/week,
SMS 1/week, in-app 5/week, 8/week across channels) plus per-day caps per channel; windows are
rolling (the last 24 hours, the last 7 days), measured from `now`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.models.customers import CHANNELS

DAY = timedelta(days=1)
WEEK = timedelta(days=7)


class Caps(BaseModel):
    """Frequency caps per channel per day and week, across channels per week, and the
    high-value offer cooldown."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_week: dict[str, int] = Field(
        default_factory=lambda: {"email": 2, "push": 3, "sms": 1, "in_app": 5}
    )
    per_day: dict[str, int] = Field(
        default_factory=lambda: {"email": 1, "push": 1, "sms": 1, "in_app": 2}
    )
    total_per_week: int = Field(default=8, ge=0)
    high_value_cooldown_days: int = Field(default=14, ge=0, le=365)

    @field_validator("per_week", "per_day")
    @classmethod
    def _known_channels(cls, value: dict[str, int]) -> dict[str, int]:
        for channel, cap in value.items():
            if channel not in CHANNELS:
                raise ValueError(f"unknown channel {channel!r}; allowed: {', '.join(CHANNELS)}")
            if cap < 0:
                raise ValueError(f"{channel}: a cap must be 0 or more")
        return value


@dataclass(frozen=True, slots=True)
class Touch:
    """A message that reached a customer: on which channel, for which action and trigger."""

    channel: str
    action_id: str | None
    occurred_at: datetime
    trigger_id: str | None = None
    high_value: bool = False


@dataclass(frozen=True, slots=True)
class Breach:
    """A rule that blocks a contact now: its name, why, and when it stops blocking (None:
    not by waiting, e.g. a cap of 0)."""

    rule: str
    detail: str
    retry_at: datetime | None


def in_window(touch: Touch, now: datetime, window: timedelta) -> bool:
    """Whether the touch counts in the rolling window that ends at `now` (as NBA counts)."""
    return now - touch.occurred_at < window


def limit_breach(
    touches: Iterable[Touch],
    now: datetime,
    *,
    window: timedelta,
    limit: int,
    counts: Callable[[Touch], bool],
    rule: str,
    detail: str,
) -> Breach | None:
    """None while fewer than `limit` counted touches fall in the rolling window; otherwise the
    breach, with the moment enough of them have aged out to allow one more (never for a limit
    of 0)."""
    times = sorted(t.occurred_at for t in touches if counts(t) and in_window(t, now, window))
    if len(times) < limit:
        return None
    retry_at = times[len(times) - limit] + window if limit > 0 else None
    return Breach(rule, detail, retry_at)


def first_cap_breach(
    touches: Iterable[Touch], channel: str, caps: Caps, now: datetime
) -> Breach | None:
    """The first frequency cap a new touch on `channel` would break, in this order: the
    channel's cap for the last 24 hours, for the last 7 days, then the cross-channel weekly cap;
    None when all have room."""
    touches = tuple(touches)

    def on_channel(touch: Touch) -> bool:
        return touch.channel == channel

    def any_channel(touch: Touch) -> bool:
        return True

    day, week = caps.per_day.get(channel), caps.per_week.get(channel)
    checks: list[tuple[str, int | None, timedelta, Callable[[Touch], bool], str]] = [
        ("cap_day", day, DAY, on_channel, f"{channel} cap {day}/day reached"),
        ("cap_week", week, WEEK, on_channel, f"{channel} cap {week}/week reached"),
        (
            "cap_total",
            caps.total_per_week,
            WEEK,
            any_channel,
            f"cross-channel cap {caps.total_per_week}/week reached",
        ),
    ]
    for rule, limit, window, counts, detail in checks:
        if limit is None:
            continue
        breach = limit_breach(
            touches, now, window=window, limit=limit, counts=counts, rule=rule, detail=detail
        )
        if breach is not None:
            return breach
    return None
