"""Dashboard alerts: each rule firing and not firing, on plain data and from hand-built records
(SQLite and PostgreSQL): sudden drop-off of entries and sends, channel failure, conversion
against target, and alerts other components raised as `journey.alert` domain events."""

from __future__ import annotations

import pytest

from core.db import session_scope
from journeys.analytics import build_dashboard, daily_series
from journeys.dashboard_alerts import (
    DailySeries,
    channel_failure_alerts,
    dropoff_alerts,
    target_alerts,
)
from journeys.dashboard_data import JourneyRow
from tests.journeys.analytics_records import DB_PARAMS, D, H, Records, T, db_settings_for


@pytest.fixture(params=DB_PARAMS)
def db(request, tmp_path):
    return db_settings_for(request, tmp_path)


def _series(last: int, trailing: list[int], journey: str = "j") -> DailySeries:
    return DailySeries(journey, journey.title(), "entries", last, trailing)


def test_dropoff_fires_only_past_the_threshold_and_above_the_noise_floor():
    # Average 10/day; 4 is a 60% drop (> 50%), 5 exactly 50% (not more), 6 a 40% drop.
    fired = dropoff_alerts(
        [_series(4, [10] * 7, "a"), _series(5, [10] * 7, "b"), _series(6, [10] * 7, "c")],
        pct=50,
        min_daily=5,
    )
    assert [(a.journey_id, a.kind, a.level) for a in fired] == [("a", "dropoff", "warning")]
    assert fired[0].value == 4 and fired[0].threshold == 10
    assert "dropped 60%" in fired[0].message
    # A quiet journey (2/day) that stops is noise below min_daily; nothing before: no alert.
    assert dropoff_alerts([_series(0, [2] * 7), _series(0, [0] * 7)], pct=50, min_daily=5) == []
    assert len(dropoff_alerts([_series(0, [2] * 7)], pct=50, min_daily=1)) == 1


def test_channel_failure_threshold():
    fired = channel_failure_alerts({"sms": 12, "email": 9}, threshold=10)
    assert [(a.channel, a.value) for a in fired] == [("sms", 12.0)]
    assert fired[0].message == "SMS delivery failure detected (12 messages in the last hour)"
    assert channel_failure_alerts({"sms": 9}, threshold=10) == []


def test_conversion_against_target():
    rows = [
        JourneyRow("at-risk", "At-Risk", "active", 5, 100, 50, 30),  # 30% vs 35%: below
        JourneyRow("activation", "Activation", "active", 5, 100, 80, 55),  # 55% vs 50%: meets
        JourneyRow("young", "Young", "active", 5, 10, 1, 1),  # 10% but only 10 ended
        JourneyRow("free", "Free", "active", 5, 100, 1, 1),  # no target
    ]
    targets = {"at-risk": 0.35, "activation": 0.5, "young": 0.5}
    got = target_alerts(rows, targets, min_ended=20)
    assert [(a.journey_id, a.level, a.kind) for a in got] == [
        ("at-risk", "warning", "conversion_below_target"),
        ("activation", "ok", "conversion_meets_target"),
    ]
    assert got[0].message == "At-Risk journey conversion below target (30.0% vs 35.0% target)"
    assert len(target_alerts(rows, targets, min_ended=10)) == 3


def test_daily_entries_and_sends_per_journey(db):
    with session_scope(db) as session:
        r = Records.new(session, "acme")
        n = iter(range(10_000))
        for day in range(1, 8):  # 6 entries a day for 7 days, then 2 in the last 24 hours
            for _ in range(6):
                r.enrol("falling", f"f{next(n)}", T - day * D - 2 * H)
                r.enrol("steady", f"s{next(n)}", T - day * D - 2 * H)
        for _ in range(2):
            r.enrol("falling", f"f{next(n)}", T - 2 * H)
        for _ in range(4):  # a 33% drop: under the threshold
            r.enrol("steady", f"s{next(n)}", T - 2 * H)
        r.enrol("falling", f"f{next(n)}", T - 9 * D)  # older than the 8 days
        r.enrol("falling", f"f{next(n)}", T + H)  # after the as-of time
        owner = r.enrol("sending", "owner", T - 30 * D)
        for day in range(1, 8):  # 6 sends a day, then none
            for _ in range(6):
                r.task(owner, T - day * D - 3 * H, status="sent", journey_id="sending")
        r.task(owner, T - 3 * H, status="failed", journey_id="sending")  # not a send
    with session_scope(db) as session:
        series = daily_series(session, r.workspace_id, T, {"falling": "Falling"})
    got = {(s.journey_id, s.metric): (s.last_day, list(s.trailing)) for s in series}
    assert got == {
        ("falling", "entries"): (2, [6] * 7),
        ("steady", "entries"): (4, [6] * 7),
        ("sending", "sends"): (0, [6] * 7),  # its one entry is 30 days old
    }
    alerts = dropoff_alerts(series, pct=50, min_daily=5)
    assert [(a.journey_id, a.message.split(" dropped")[0]) for a in alerts] == [
        ("falling", "Falling journey entries"),
        ("sending", "sending journey sends"),
    ]


def test_dashboard_alerts_from_records(db):
    db = db.model_copy(update={"alert_channel_failures": 3, "alert_target_min_ended": 4})
    with session_scope(db) as session:
        r = Records.new(session, "acme")
        r.journey("activation", "Activation")
        r.journey("at-risk", "At-Risk")
        r.journey("old", "Old")
        for i in range(4):  # activation: 2 of 4 converted = 50% (target 45%: met)
            r.enrol("activation", f"a{i}", T - 9 * D, status="converted" if i < 2 else "completed",
                    ended=T - 2 * D, converted=T - 2 * D if i < 2 else None)  # fmt: skip
        for i in range(4):  # at-risk: 1 of 4 = 25% (target 35%: below)
            r.enrol("at-risk", f"r{i}", T - 9 * D, status="converted" if i == 0 else "exited",
                    ended=T - 2 * D)  # fmt: skip
        r.enrol("old", "o1", T - 9 * D, status="exited", ended=T - 2 * D)  # 1 ended: too few
        r.target("activation", 0.45)
        r.target("at-risk", 0.35)
        r.target("old", 0.5)
        failure = {"kind": "channel_failure", "journey_id": "at-risk", "channel": "sms"}
        for minutes in (50, 40, 30):  # three SMS given up on in the hour: a channel failure
            r.alert_event(T - minutes * H / 60, {**failure, "detail": f"timeout {minutes}"})
        r.alert_event(T - 20 * H / 60, {**failure, "channel": "email", "detail": "421"})
        r.alert_event(T - 3 * H, {"kind": "approval_missing", "journey_id": "at-risk",
                                  "message": "step s2 has no approved asset"})  # fmt: skip
        r.alert_event(T - 25 * H, {"kind": "approval_missing", "message": "a day old"})
        r.alert_event(T - H, {"kind": "paused"}, name="journey.paused")
        Records.new(session, "other").alert_event(T - H, {"kind": "approval_missing"})
    with session_scope(db) as session:
        board = build_dashboard(session, r.workspace_id, "acme", T, db)
    got = [(a.level, a.kind, a.journey_id, a.channel, a.value) for a in board.alerts]
    assert got == [
        ("warning", "channel_failure", None, "sms", 3.0),  # 3 in the hour reach the threshold
        ("warning", "conversion_below_target", "at-risk", None, 0.25),
        ("warning", "channel_failure", "at-risk", "email", 1.0),  # raised, newest first
        ("warning", "channel_failure", "at-risk", "sms", 3.0),
        ("warning", "approval_missing", "at-risk", None, 1.0),
        ("ok", "conversion_meets_target", "activation", None, 0.5),
    ]
    messages = [a.message for a in board.alerts]
    assert messages[0] == "SMS delivery failure detected (3 messages in the last hour)"
    assert (
        messages[3] == "Channel failure on SMS in journey at-risk (3 in the last 24 h): timeout 30"
    )
    assert messages[4] == (
        "Approval missing in journey at-risk (1 in the last 24 h): step s2 has no approved asset"
    )
