"""Quiet hours in the customer's own time zone: is now quiet, and when may a send go out.

Pure. The window is wall-clock time (21:00-08:00 stays 21:00-08:00 across a DST change); the
answer is an instant in UTC. When the window's end does not exist that day (it falls in the
hour a spring-forward skips), sends resume at the change itself.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MINUTE = timedelta(minutes=1)


def is_quiet(local: time, start: time, end: time) -> bool:
    """Whether a local wall-clock time falls in the window [start, end), which may cross
    midnight."""
    if start < end:
        return start <= local < end
    return local >= start or local < end


def _first_instant_at_or_after(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """The first UTC instant whose local date is `day` and local time is `wall` or later."""
    earlier = datetime.combine(day, wall, tzinfo=tz).replace(fold=1).astimezone(UTC)
    later = datetime.combine(day, wall, tzinfo=tz).replace(fold=0).astimezone(UTC)
    if earlier >= later:  # the wall time exists (once, or twice in a fall-back: take the first)
        return min(earlier, later)
    # A spring-forward gap: fold=1 reads it before the change, fold=0 after; the first minute
    # between them whose local time has reached `wall` is the change itself.
    moment = earlier
    while moment < later:
        local = moment.astimezone(tz)
        if local.date() > day or (local.date() == day and local.time() >= wall):
            return moment
        moment += MINUTE
    return later


def quiet_until(now: datetime, tz: ZoneInfo, start: time, end: time) -> datetime | None:
    """None when `now` is outside the quiet window in `tz`; otherwise the UTC instant the
    window ends (the next allowed send time)."""
    local = now.astimezone(tz)
    wall = local.time().replace(tzinfo=None)
    if not is_quiet(wall, start, end):
        return None
    ends_on = local.date()
    if start > end and wall >= start:  # the evening part of a window that crosses midnight
        ends_on += timedelta(days=1)
    return _first_instant_at_or_after(ends_on, end, tz)
