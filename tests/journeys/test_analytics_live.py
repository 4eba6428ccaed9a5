"""The dashboard's live figures from hand-built records, on SQLite and PostgreSQL: the journey
pipeline as of a moment, the last hour's trigger activity and the NBA decision stats; another
workspace's records never count."""

from __future__ import annotations

import pytest

from core.db import session_scope
from journeys.analytics import journeys_in_flight, nba_stats, pipeline, trigger_activity
from tests.journeys.analytics_records import DB_PARAMS, D, H, Records, T, db_settings_for


@pytest.fixture(params=DB_PARAMS)
def db(request, tmp_path):
    return db_settings_for(request, tmp_path)


def _pipeline_records(r: Records) -> None:
    r.journey("activation", "Activation (New Users)")
    r.journey("at-risk", "At-Risk (Declining)")
    r.journey("old", "Old promo", state="retired")
    r.journey("drafted", "Never run", state="draft")
    e = "activation"
    for name in ("a1", "a2"):
        r.enrol(e, name, T - 3 * D)
    r.enrol(e, "a3", T - 3 * D, converted=T - D)  # converted while still active: not ended
    r.enrol(e, "a4", T - 3 * D, status="completed", ended=T + H)  # ended after as-of: active
    for i in range(4):  # completed; two of them with a conversion on the way
        r.enrol(e, f"c{i}", T - 9 * D, status="completed", ended=T - 2 * D,
                converted=T - 4 * D if i < 2 else None)  # fmt: skip
    for i in range(2):
        r.enrol(e, f"v{i}", T - 9 * D, status="converted", ended=T - D, converted=T - D)
    r.enrol(e, "x1", T - 9 * D, status="exited", ended=T - D)
    r.enrol(e, "x2", T - 9 * D, status="removed", ended=T - 5 * H)
    r.enrol(e, "late", T + H)  # entered after the as-of time
    r.enrol(e, "h1", T - 3 * D, holdout=True)
    r.enrol(e, "h2", T - 3 * D, holdout=True)
    r.enrol(e, "h3", T - 9 * D, status="converted", ended=T - D, converted=T - D, holdout=True)
    # At-risk: the active customer a1 is in two journeys (counted once in flight).
    r.enrol("at-risk", "a1", T - 2 * D)
    for i in range(3):
        r.enrol("at-risk", f"r{i}", T - 20 * D, status="exited", ended=T - 10 * D)
    r.enrol("at-risk", "r9", T - 20 * D, status="converted", ended=T - 9 * D, converted=T - 9 * D)
    r.enrol("old", "o1", T - 50 * D, status="completed", ended=T - 40 * D)
    r.enrol("old", "o2", T - 50 * D, status="completed", ended=T - 40 * D)


def test_pipeline_counts_and_conversion_rate(db):
    with session_scope(db) as session:
        r = Records.new(session, "acme")
        _pipeline_records(r)
        other = Records.new(session, "other")
        other.journey("activation", "Activation elsewhere")
        other.enrol("activation", "z1", T - D)
        other.enrol("activation", "z2", T - 9 * D, status="converted", ended=T - D,
                    converted=T - D)  # fmt: skip
    with session_scope(db) as session:
        rows = pipeline(session, r.workspace_id, T)
        in_flight = journeys_in_flight(session, r.workspace_id, T)
    got = [
        (x.journey_id, x.name, x.state, x.active, x.ended, x.completed, x.converted) for x in rows
    ]
    assert got == [
        # active: a1 a2 a3 a4; ended: 4 completed + 2 converted + exited + removed = 8;
        # completed = completed or converted = 6; converted = 2 + 2 = 4 -> 4 / 8
        ("activation", "Activation (New Users)", "active", 4, 8, 6, 4),
        # 1 active; ended 3 exited + 1 converted -> 1 / 4
        ("at-risk", "At-Risk (Declining)", "active", 1, 4, 1, 1),
        ("old", "Old promo", "retired", 0, 2, 2, 0),
    ]
    assert [x.conversion_rate for x in rows] == [0.5, 0.25, 0.0]
    # Two journeys run; a1..a4 are in one (a1 in two): 4 customers, holdouts left out.
    assert in_flight == (2, 4)


def test_pipeline_as_of_an_earlier_moment(db):
    with session_scope(db) as session:
        r = Records.new(session, "acme")
        _pipeline_records(r)
    with session_scope(db) as session:
        rows = {x.journey_id: x for x in pipeline(session, r.workspace_id, T - 6 * D)}
    # Six days earlier: activation's 13 non-holdout entrants before then were all still in.
    activation = rows["activation"]
    assert (activation.active, activation.ended, activation.converted) == (8, 0, 0)
    assert activation.conversion_rate is None
    at_risk = rows["at-risk"]  # a1 entered after; r9 converted at T-9d, r0..r2 left at T-10d
    assert (at_risk.active, at_risk.ended, at_risk.converted) == (0, 4, 1)


def test_journeys_running_are_counted_as_of_the_moment_asked(db):
    with session_scope(db) as session:
        r = Records.new(session, "acme")
        r.journey("activation", "Activation", since=T - 10 * D)
        r.journey("winback", "Win-back", state="draft", since=T - 10 * D)
        r.change("winback", "active", T - 8 * D)
        r.change("winback", "paused", T - 2 * D)  # an emergency pause...
        r.change("winback", "active", T - D)  # ...and the resume
        r.change("activation", "killed", T + H)  # after the as-of time
        r.change("winback", "paused", T - 4 * D)  # recorded last, took effect earlier
    with session_scope(db) as session:
        running = {
            moment: journeys_in_flight(session, r.workspace_id, moment)[0]
            for moment in (T - 20 * D, T - 9 * D, T - 5 * D, T - 36 * H, T, T + 2 * H)
        }
    assert running == {
        T - 20 * D: 0,  # before either was activated
        T - 9 * D: 1,
        T - 5 * D: 2,
        T - 36 * H: 1,  # win-back paused
        T: 2,
        T + 2 * H: 1,  # activation killed
    }


def test_trigger_activity_in_the_last_hour(db):
    with session_scope(db) as session:
        r = Records.new(session, "acme")
        for outcome in ("enrolled", "enrolled", "duplicate", "suppressed_cap"):
            r.firing(T - H / 2, outcome)
        r.firing(T, "suppressed_optout")  # the window includes its end
        r.firing(T - H, "enrolled")  # ... and not its start
        r.firing(T - 2 * H, "suppressed_cap")
        r.firing(T + H / 60, "enrolled")
        for minutes in (1, 5, 10, 20, 40, 59):
            r.execution(T - minutes * H / 60)
        r.execution(T - 61 * H / 60)
        enrolment = r.enrol("j", "owner", T - D)
        half = T - H / 2

        def given_up(kind: str, channel: str, at=half) -> None:
            r.alert_event(at, {"kind": kind, "journey_id": "j", "channel": channel})

        given_up("channel_failure", "sms")  # the backup channel took over
        given_up("channel_failure", "sms")
        given_up("backup_failed", "sms")
        given_up("channel_failure", "email")
        given_up("channel_failure", "sms", at=T - 2 * H)  # before the hour
        given_up("approval_missing", "sms")  # not a delivery failure
        r.alert_event(half, {"kind": "channel_failure", "channel": "sms"}, name="journey.paused")
        r.task(enrolment, half, status="pending", outcome="retry", channel="sms")  # retried once
        r.task(enrolment, half, status="pending", outcome="deferred:cap_day")  # until later
        r.task(enrolment, half, status="pending", outcome="deferred:cap_day")
        r.task(enrolment, half, status="skipped", outcome="blocked:flood")
        r.task(enrolment, T - 2 * H, status="skipped", outcome="blocked:cap_week")
        r.task(enrolment, half, status="skipped", outcome="blocked:suppressed")
        r.task(enrolment, half, status="skipped", outcome="blocked:consent")
        r.task(enrolment, half, status="sent", outcome="executed")
        r.task(enrolment, half, status="pending", outcome="deferred:quiet_hours")
        other = Records.new(session, "other")
        other.firing(T - H / 2, "suppressed_cap")
        other.execution(T - H / 2)
        other.alert_event(T - H / 2, {"kind": "channel_failure", "channel": "sms"})
    with session_scope(db) as session:
        activity = trigger_activity(session, r.workspace_id, T)
    assert activity.fired == 5
    assert activity.executed == 6
    assert activity.failed_by_channel == {"sms": 3, "email": 1}
    assert activity.failed == 4
    assert activity.suppressed_cap == 1 + 3  # a firing + deferred by the day cap twice + flood
    assert activity.suppressed_optout == 1 + 2  # a firing + suppressed + no consent
    assert activity.delivery_rate == pytest.approx(6 / (6 + 4 + 4 + 3))


def test_nba_stats_in_the_last_hour(db):
    with session_scope(db) as session:
        r = Records.new(session, "acme")
        r.decision(T - H / 2, "email-winback-offer", 0.8)
        r.decision(T - H / 4, "email-winback-offer", 0.8)
        r.decision(T - H / 3, "sms-flash", 0.5, channel="sms")
        r.decision(T - H / 6, None, None)
        r.decision(T - 2 * H, "sms-flash", 0.1, channel="sms")
        Records.new(session, "other").decision(T - H / 2, "sms-flash", 0.9, channel="sms")
    with session_scope(db) as session:
        stats = nba_stats(session, r.workspace_id, T)
    assert stats.decisions == 4
    assert stats.no_action == 1
    assert stats.avg_confidence == pytest.approx((0.8 + 0.8 + 0.5) / 3)
    top = [(s.action_id, s.title, s.channel, s.count, s.share) for s in stats.top_actions]
    assert top == [
        ("email-winback-offer", "Win-back email with a 15% offer", "email", 2, 0.5),
        ("sms-flash", "sms-flash", "sms", 1, 0.25),  # not in the inventory: its id
    ]


def test_empty_workspace_has_no_rates(db):
    with session_scope(db) as session:
        r = Records.new(session, "acme")
    with session_scope(db) as session:
        activity = trigger_activity(session, r.workspace_id, T)
        stats = nba_stats(session, r.workspace_id, T)
        assert pipeline(session, r.workspace_id, T) == []
    assert activity.delivery_rate is None and activity.failed_by_channel == {}
    assert stats.decisions == 0 and stats.avg_confidence is None and stats.top_actions == []
