"""The dashboard's alert rules, pure: sudden drop-off, channel failure, conversion vs target.

- Sudden drop-off: a journey's count over the last 24 hours (entries, or sends = steps
  progressed) is more than `pct` percent below its daily average over the 7 days before,
  once that average is at least `min_daily` (below it, a quiet day is noise).
- Channel failure: `threshold` or more failed deliveries on one channel in the last hour.
- Conversion vs target: a journey with a target and at least `min_ended` ended enrolments;
  below target is a warning, at or above it an ok (seed 000 shows both).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from journeys.dashboard_data import Alert, JourneyRow, channel_label

TRAILING_DAYS = 7


@dataclass(frozen=True, slots=True)
class DailySeries:
    """A journey's count per day: `last_day` for the last 24 hours, `trailing` for each of
    the 7 days before it (most recent first)."""

    journey_id: str
    name: str
    metric: str
    last_day: int
    trailing: Sequence[int]


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def dropoff_alerts(series: Iterable[DailySeries], *, pct: float, min_daily: float) -> list[Alert]:
    alerts = []
    for s in series:
        average = sum(s.trailing) / TRAILING_DAYS
        if average <= 0 or average < min_daily:
            continue
        drop = 1 - s.last_day / average
        if drop * 100 > pct:
            alerts.append(
                Alert(
                    "warning",
                    "dropoff",
                    f"{s.name} journey {s.metric} dropped {drop * 100:.0f}% "
                    f"({s.last_day} in the last 24 h vs {average:.1f}/day over 7 days)",
                    journey_id=s.journey_id,
                    value=float(s.last_day),
                    threshold=average,
                )
            )
    return alerts


def channel_failure_alerts(failed_by_channel: Mapping[str, int], *, threshold: int) -> list[Alert]:
    return [
        Alert(
            "warning",
            "channel_failure",
            f"{channel_label(channel)} delivery failure detected ({count} messages in the "
            "last hour)",
            channel=channel,
            value=float(count),
            threshold=float(threshold),
        )
        for channel, count in sorted(failed_by_channel.items())
        if count >= threshold
    ]


def target_alerts(
    journeys: Iterable[JourneyRow], targets: Mapping[str, float], *, min_ended: int
) -> list[Alert]:
    alerts = []
    for row in journeys:
        target = targets.get(row.journey_id)
        rate = row.conversion_rate
        if target is None or rate is None or row.ended < min_ended:
            continue
        below = rate < target
        alerts.append(
            Alert(
                "warning" if below else "ok",
                "conversion_below_target" if below else "conversion_meets_target",
                f"{row.name} journey conversion {'below' if below else 'meets'} target "
                f"({_pct(rate)} vs {_pct(target)} target)",
                journey_id=row.journey_id,
                value=rate,
                threshold=target,
            )
        )
    return alerts


def raised_alert(
    kind: str | None,
    journey_id: str | None,
    channel: str | None,
    count: int,
    newest: Mapping[str, Any],
) -> Alert:
    """Alerts another component raised as `journey.alert` domain events (the runtime's
    `channel_failure`, `backup_failed`, `approval_missing`...), grouped: what, where, how many
    in the last 24 hours, and the newest one's `message` or `detail`."""
    what = (kind or "journey alert").replace("_", " ")
    where = (f" on {channel_label(channel)}" if channel else "") + (
        f" in journey {journey_id}" if journey_id else ""
    )
    said = str(newest.get("message") or newest.get("detail") or "")
    return Alert(
        "warning",
        kind or "raised",
        f"{what[:1].upper()}{what[1:]}{where} ({count} in the last 24 h)"
        + (f": {said}" if said else ""),
        journey_id=journey_id,
        channel=channel,
        value=float(count),
    )
