"""Performance trends, the last 30 days against the 30 before, from hand-built records on
SQLite and PostgreSQL; expected figures worked out by hand in each comment."""

from __future__ import annotations

import pytest

from core.db import session_scope
from journeys.analytics_trends import trends
from tests.journeys.analytics_records import DB_PARAMS, D, Records, T, db_settings_for


@pytest.fixture(params=DB_PARAMS)
def db(request, tmp_path):
    return db_settings_for(request, tmp_path)


def test_trends_against_the_previous_30_days(db):
    with session_scope(db) as session:
        r = Records.new(session, "acme")
        # Ended in the last 30 days: 2 converted, 1 completed, 1 exited (and a holdout).
        r.enrol("j", "n1", T - 40 * D, status="converted", ended=T - 5 * D, converted=T - 5 * D)
        r.enrol("j", "n2", T - 40 * D, status="converted", ended=T, converted=T)
        r.enrol("j", "n3", T - 40 * D, status="completed", ended=T - 29 * D)
        r.enrol("j", "n4", T - 40 * D, status="exited", ended=T - 2 * D)
        r.enrol("j", "nh", T - 40 * D, status="converted", ended=T - 2 * D, converted=T - 2 * D,
                holdout=True)  # fmt: skip
        r.enrol("j", "na", T - 3 * D)  # still active: not in either period
        # Ended in the 30 days before: 1 converted, 2 completed, 2 exited.
        r.enrol("j", "p1", T - 90 * D, status="converted", ended=T - 30 * D, converted=T - 30 * D)
        r.enrol("j", "p2", T - 90 * D, status="completed", ended=T - 45 * D)
        r.enrol("j", "p3", T - 90 * D, status="completed", ended=T - 59 * D)
        r.enrol("j", "p4", T - 90 * D, status="exited", ended=T - 31 * D)
        r.enrol("j", "p5", T - 90 * D, status="removed", ended=T - 40 * D)
        r.enrol("j", "old", T - 90 * D, status="converted", ended=T - 60 * D)  # too old
        # Touches now: c1 x3, c2 x1 (gate), c3 x2 (campaign emails): 6 touches, 3 customers.
        for days in (1, 2, 3):
            r.touch("c1", T - days * D)
        r.touch("c2", T - 10 * D)
        r.email("c3", "spring", "sent", T - 4 * D)
        r.email("c3", "summer", "sent", T - 3 * D)
        r.email("c3", "spring", "open", T - 3 * D)  # not a touch
        # Before: c1 x2, c4 x1: 3 touches, 2 customers.
        r.touch("c1", T - 35 * D)
        r.touch("c1", T - 36 * D)
        r.touch("c4", T - 50 * D)
        r.touch("c9", T - 61 * D)  # too old
        # Capped now: c2 (a task held by the weekly cap), c5 (a firing held by a cap).
        enrolment = r.enrol("k", "owner", T - 90 * D, status="exited", ended=T - 80 * D)
        r.task(enrolment, T - 9 * D, status="pending", outcome="deferred:cap_week", customer="c2")
        r.task(
            enrolment, T - 9 * D, status="pending", outcome="deferred:quiet_hours", customer="c1"
        )
        r.firing(T - 8 * D, "suppressed_cap", customer="c5")
        r.firing(T - 8 * D, "enrolled", customer="c6")
        # Unsubscribed now: c3 (a suppression and its email event), c6 (untouched).
        r.suppression("c3", "unsubscribe", T - 2 * D)
        r.email("c3", "spring", "unsubscribe", T - 2 * D)
        r.email("c6", "spring", "unsubscribe", T - 1 * D)
        r.suppression("c1", "bounce", T - 2 * D)  # not an unsubscribe
        # Unsubscribed before: c4.
        r.suppression("c4", "unsubscribe", T - 49 * D)
        other = Records.new(session, "other")
        other.touch("z1", T - D)
        other.suppression("z1", "unsubscribe", T - D)
    with session_scope(db) as session:
        got = {t.key: t for t in trends(session, r.workspace_id, T)}
    assert got["conversion_rate"].current == pytest.approx(2 / 4)
    assert got["conversion_rate"].previous == pytest.approx(1 / 5)
    assert got["conversion_rate"].delta == pytest.approx(0.5 - 0.2)
    assert got["completion_rate"].current == pytest.approx(3 / 4)
    assert got["completion_rate"].previous == pytest.approx(3 / 5)
    assert got["touches_per_customer"].current == pytest.approx(6 / 3)
    assert got["touches_per_customer"].previous == pytest.approx(3 / 2)
    # Capped {c2, c5} of touched or capped {c1, c2, c3, c5}; before: none of {c1, c4}.
    assert got["fatigue_rate"].current == pytest.approx(2 / 4)
    assert got["fatigue_rate"].previous == 0
    # Unsubscribed {c3, c6} of touched or unsubscribed {c1, c2, c3, c6}; before {c4} of {c1, c4}.
    assert got["unsubscribe_rate"].current == pytest.approx(2 / 4)
    assert got["unsubscribe_rate"].previous == pytest.approx(1 / 2)
    assert got["unsubscribe_rate"].delta == pytest.approx(0)


def test_no_history_gives_no_rates(db):
    with session_scope(db) as session:
        r = Records.new(session, "acme")
        r.touch("c1", T - 5 * D)
    with session_scope(db) as session:
        got = {t.key: t for t in trends(session, r.workspace_id, T)}
    assert got["conversion_rate"].current is None and got["conversion_rate"].delta is None
    assert got["touches_per_customer"].current == 1 and got["touches_per_customer"].previous is None
    assert got["fatigue_rate"].current == 0
