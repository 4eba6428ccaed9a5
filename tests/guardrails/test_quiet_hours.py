"""Quiet hours in the customer's zone, pure: windows across midnight and within a day, the
edges, and daylight-saving changes on both sides of the Atlantic and in the south."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from guardrails.quiet_hours import is_quiet, quiet_until

NEW_YORK = ZoneInfo("America/New_York")
PARIS = ZoneInfo("Europe/Paris")
SYDNEY = ZoneInfo("Australia/Sydney")
NIGHT = (time(21), time(8))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("local", "quiet"),
    [
        (time(20, 59), False),
        (time(21), True),
        (time(3), True),
        (time(7, 59), True),
        (time(8), False),
    ],
)
def test_the_window_is_start_inclusive_end_exclusive_across_midnight(local, quiet):
    assert is_quiet(local, *NIGHT) is quiet


def test_a_window_within_one_day():
    assert is_quiet(time(12, 30), time(12), time(14))
    assert not is_quiet(time(14), time(12), time(14))
    assert not is_quiet(time(23), time(12), time(14))


def test_outside_the_window_there_is_no_wait():
    assert quiet_until(utc(2026, 6, 10, 14), PARIS, *NIGHT) is None  # 16:00 in Paris


def test_late_evening_waits_for_8_the_next_local_morning():
    # 23:30 in Paris (CEST, UTC+2) on 10 June: 08:00 CEST on 11 June is 06:00 UTC
    assert quiet_until(utc(2026, 6, 10, 21, 30), PARIS, *NIGHT) == utc(2026, 6, 11, 6)


def test_early_morning_waits_for_8_the_same_local_day():
    # 05:00 in New York (EST, UTC-5) on 10 January: 08:00 EST is 13:00 UTC
    assert quiet_until(utc(2026, 1, 10, 10), NEW_YORK, *NIGHT) == utc(2026, 1, 10, 13)


def test_the_same_utc_instant_is_quiet_in_one_zone_and_not_in_another():
    now = utc(2026, 1, 10, 23)  # 18:00 in New York, 00:00 in Paris
    assert quiet_until(now, NEW_YORK, *NIGHT) is None
    assert quiet_until(now, PARIS, *NIGHT) == utc(2026, 1, 11, 7)


def test_spring_forward_night_ends_at_8_local_which_is_an_hour_earlier_in_utc():
    # New York moves from EST to EDT at 02:00 on 8 March 2026.
    before = quiet_until(utc(2026, 3, 7, 5), NEW_YORK, *NIGHT)  # 00:00 EST on 7 March
    across = quiet_until(utc(2026, 3, 8, 5), NEW_YORK, *NIGHT)  # 00:00 EST on 8 March
    assert before == utc(2026, 3, 7, 13)  # 08:00 EST
    assert across == utc(2026, 3, 8, 12)  # 08:00 EDT


def test_fall_back_night_ends_at_8_local_which_is_an_hour_later_in_utc():
    # New York moves from EDT back to EST at 02:00 on 1 November 2026.
    assert quiet_until(utc(2026, 11, 1, 2), NEW_YORK, *NIGHT) == utc(2026, 11, 1, 13)
    # During the repeated hour (01:30 EST, the second time) it is still quiet.
    assert quiet_until(utc(2026, 11, 1, 6, 30), NEW_YORK, *NIGHT) == utc(2026, 11, 1, 13)


def test_an_end_inside_the_skipped_hour_resumes_at_the_change():
    # 02:30 does not exist in New York on 8 March 2026; the clock jumps 02:00 EST -> 03:00 EDT,
    # which is 07:00 UTC.
    assert quiet_until(utc(2026, 3, 8, 5), NEW_YORK, time(21), time(2, 30)) == utc(2026, 3, 8, 7)


def test_an_end_inside_the_repeated_hour_takes_its_first_occurrence():
    # 01:30 happens twice in New York on 1 November 2026: first at 05:30 UTC (EDT).
    until = quiet_until(utc(2026, 11, 1, 4), NEW_YORK, time(21), time(1, 30))
    assert until == utc(2026, 11, 1, 5, 30)


def test_southern_hemisphere_change():
    # Sydney moves from AEDT (UTC+11) to AEST (UTC+10) at 03:00 on 5 April 2026.
    assert quiet_until(utc(2026, 4, 4, 12), SYDNEY, *NIGHT) == utc(2026, 4, 4, 22)  # 23:00 AEDT
