"""What the analytics queries share: the outcome vocabulary they read, and SQL building blocks.

The runtime (`journeys.runner`) writes a journey task's `outcome` from the execution gate's
result: `deferred:<rule>` when a rule holds the step until a later time (the task waits),
`blocked:<rule>` when it skips the step; the rules are the gate's (`guardrails.contact`,
`core.contact_rules`). A channel given up on after its retry raises a `journey.alert` domain
event of kind `channel_failure` (the backup channel takes over) or `backup_failed`, with the
channel in its payload. The triggers record each firing's outcome. The dashboard reads:

- suppressed by a frequency cap (fatigue): the caps per channel and across channels, the flood
  limit, the same-trigger-once-per-24h rule and the high-value-offer cooldown, deferred or
  blocked; firings `suppressed_cap`;
- suppressed by opt-out: a suppression (bounce, complaint, unsubscribe) or a missing or
  revoked consent; firings `suppressed_optout`;
- failed deliveries: those `journey.alert` events, one per message and channel given up on
  (a first failure that its retry recovers is not one).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, false, func, literal
from sqlalchemy.sql.expression import ColumnElement

from core.models import JourneyEnrolment, UTCDateTime

CAP_RULES = ("cap_day", "cap_week", "cap_total", "flood", "trigger_once", "high_value_cooldown")
OPT_OUT_RULES = ("suppressed", "consent")
_HOW = ("", "deferred:", "blocked:")
CAP_OUTCOMES = tuple(f"{how}{rule}" for how in _HOW for rule in CAP_RULES)
OPT_OUT_OUTCOMES = tuple(f"{how}{rule}" for how in _HOW for rule in OPT_OUT_RULES)
FIRING_CAP = "suppressed_cap"
FIRING_OPT_OUT = "suppressed_optout"
#: Enrolment statuses that mean the customer went through to the end (path or goal).
COMPLETED_STATUSES = ("completed", "converted")
ALERT_EVENT = "journey.alert"
FAILURE_ALERTS = ("channel_failure", "backup_failed")


def count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    """SUM(CASE WHEN condition THEN 1 ELSE 0 END), 0 over no rows."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def at(moment: datetime) -> ColumnElement[Any]:
    """A timestamp literal bound as the models store them (UTC; SQLite's text form)."""
    return literal(moment, UTCDateTime())


def in_window(column: Any, start: datetime, end: datetime) -> ColumnElement[bool]:
    """start < column <= end: windows end at the as-of time and include it."""
    return (column > start) & (column <= end)


def not_holdout() -> ColumnElement[bool]:
    """The enrolment is not in the journey's holdout (it gets the sends)."""
    flag = JourneyEnrolment.assignments["holdout"].as_boolean()
    return func.coalesce(flag, false()) == false()


def is_holdout() -> ColumnElement[bool]:
    flag = JourneyEnrolment.assignments["holdout"].as_boolean()
    return func.coalesce(flag, false()) != false()
