"""What the analytics queries share: the outcome vocabulary they read, and SQL building blocks.

The runtime writes each journey task's `outcome` as the execution gate's rule when the gate
refused or failed it (`guardrails.gate`, `core.contact_rules`), and the triggers record each
firing's outcome; the dashboard classifies them so:

- frequency cap (fatigue): the caps per channel and across channels, the flood limit, the
  same-trigger-once-per-24h rule and the high-value-offer cooldown; firings `suppressed_cap`;
- opt-out: a suppression (bounce, complaint, unsubscribe) or a missing or revoked consent;
  firings `suppressed_optout`;
- failed delivery: a task in status `failed`, or whose outcome is the gate's `channel` rule
  (the adapter failed), on the task's channel.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, false, func, literal
from sqlalchemy.sql.expression import ColumnElement

from core.models import JourneyEnrolment, UTCDateTime

CAP_OUTCOMES = (
    "cap_day",
    "cap_week",
    "cap_total",
    "flood",
    "trigger_once",
    "high_value_cooldown",
    "suppressed_cap",
)
OPT_OUT_OUTCOMES = ("suppressed", "consent", "opted_out", "suppressed_optout")
FAILED_OUTCOMES = ("channel", "channel_failed", "failed")
FIRING_CAP = "suppressed_cap"
FIRING_OPT_OUT = "suppressed_optout"
#: Enrolment statuses that mean the customer went through to the end (path or goal).
COMPLETED_STATUSES = ("completed", "converted")
ALERT_EVENT = "journey.alert"


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
