"""Frequency caps, pure: exactly at the limit blocks, one below passes, rolling windows end
exactly 24 hours and 7 days later, and the retry time is when one more fits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from core.contact_rules import Caps, Touch, first_cap_breach, limit_breach

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)


def touch(channel: str, ago: timedelta) -> Touch:
    return Touch(channel, None, NOW - ago)


def test_seed_defaults():
    caps = Caps()
    assert caps.per_week == {"email": 2, "push": 3, "sms": 1, "in_app": 5}
    assert caps.total_per_week == 8
    assert caps.high_value_cooldown_days == 14


def test_no_touches_no_breach():
    assert first_cap_breach([], "email", Caps(), NOW) is None


def test_the_day_cap_blocks_exactly_at_the_limit_and_lifts_24_hours_after_the_touch():
    touches = [touch("email", 23 * H)]
    breach = first_cap_breach(touches, "email", Caps(), NOW)
    assert breach is not None and breach.rule == "cap_day"
    assert breach.detail == "email cap 1/day reached"
    assert breach.retry_at == NOW + H
    # exactly 24 hours later the touch has left the window
    assert first_cap_breach(touches, "email", Caps(), NOW + H) is None
    assert first_cap_breach(touches, "email", Caps(), NOW + H - timedelta(seconds=1)) is not None


def test_the_week_cap_counts_the_channel_only_and_retries_when_the_oldest_ages_out():
    touches = [touch("email", 2 * D), touch("email", 5 * D), touch("sms", 3 * D)]
    breach = first_cap_breach(touches, "email", Caps(), NOW)
    assert breach.rule == "cap_week" and breach.detail == "email cap 2/week reached"
    assert breach.retry_at == NOW + 2 * D  # the touch 5 days ago leaves the 7-day window
    one_below = [touch("email", 2 * D)]
    assert first_cap_breach(one_below, "email", Caps(), NOW) is None
    assert first_cap_breach(touches, "push", Caps(), NOW) is None


def test_the_cross_channel_cap_blocks_at_8_in_7_days():
    touches = [touch(["push", "in_app"][i % 2], (1 + 20 * i) * H) for i in range(8)]
    assert max(NOW - t.occurred_at for t in touches) == 141 * H
    assert first_cap_breach(touches[:7], "email", Caps(), NOW) is None
    breach = first_cap_breach(touches, "email", Caps(), NOW)
    assert breach.rule == "cap_total" and breach.detail == "cross-channel cap 8/week reached"
    assert breach.retry_at == NOW + 27 * H  # the oldest, 141 h ago, leaves the 168 h window


def test_a_cap_of_zero_never_lifts():
    caps = Caps(per_day={"sms": 0})
    breach = first_cap_breach([], "sms", caps, NOW)
    assert breach.rule == "cap_day" and breach.retry_at is None


def test_a_channel_without_a_cap_is_limited_by_the_total_only():
    caps = Caps(per_day={}, per_week={}, total_per_week=1)
    assert first_cap_breach([], "sms", caps, NOW) is None
    assert first_cap_breach([touch("email", H)], "sms", caps, NOW).rule == "cap_total"


def test_limit_breach_retry_with_more_touches_than_the_limit():
    touches = [touch("email", h * H) for h in (1, 2, 3, 4)]
    breach = limit_breach(
        touches, NOW, window=D, limit=2, counts=lambda t: True, rule="flood", detail="x"
    )
    # 4 in the window, 2 allowed: 3 must age out, the third oldest (2 h ago) leaves in 22 h
    assert breach.retry_at == NOW + 22 * H


def test_caps_refuse_unknown_channels_and_negative_caps():
    with pytest.raises(ValidationError, match="unknown channel 'fax'"):
        Caps(per_week={"fax": 1})
    with pytest.raises(ValidationError, match="a cap must be 0 or more"):
        Caps(per_day={"sms": -1})
