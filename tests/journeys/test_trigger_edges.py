"""Seed 000's edge cases at the trigger: journeys triggered at once, rapid stage cycling and
re-entry, fatigue (caps, cooling-off), opt-outs, the audience gate, paused and killed journeys;
the idempotency of scans. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest

from core.db import session_scope
from core.settings import Settings
from journeys import journey_store
from journeys.spec import parse_journey
from journeys.trigger_rules import (
    STAGE_ORDER,
    Candidate,
    Facts,
    Limits,
    gate,
    rank,
    resolve_conflicts,
)
from tests.journeys.runtime_fixtures import db_settings, journey_body
from tests.journeys.trigger_fixtures import T0, days, hours, make_trigger_world

__all__ = ["db_settings"]

VIEWED = {"type": "event", "event": "Viewed"}


def _no_cooling(settings: Settings) -> Settings:
    return settings.model_copy(update={"journey_cooling_off_days": 0})


def test_journeys_triggered_at_once_go_by_lifecycle_stage_then_priority(db_settings):
    world = make_trigger_world(db_settings, customers=2)
    c = world.customers
    world.journey("JRN-CHURN", {"type": "churn_risk"}, priority=10)
    world.journey("JRN-CART", {"type": "abandoned_cart"}, priority=90)
    world.journey("JRN-LOW", VIEWED, priority=20)
    world.journey("JRN-HIGH", VIEWED, priority=60)
    world.stage(c[0], "at_risk")
    world.order(c[0], T0 - days(50))
    world.cart(c[0], T0 - hours(2))
    world.event(c[1], "Viewed", T0 - hours(1))

    report = world.scan(T0)

    assert report.outcomes == {"enrolled": 2, "conflict": 2}
    # at risk outranks consideration, whatever the business value
    assert world.enrolled("JRN-CHURN") == [c[0]] and world.enrolled("JRN-CART") == []
    assert world.details("JRN-CART", c[0])[0].endswith(
        "lost to JRN-CHURN (at_risk, priority 10); this journey is JRN-CART "
        "(consideration, priority 90)"
    )
    # the same stage (here none): the higher business value wins
    assert world.enrolled("JRN-HIGH") == [c[1]] and world.outcome_of("JRN-LOW", c[1]) == [
        "conflict"
    ]


def test_a_customer_active_in_a_higher_ranked_journey_is_not_enrolled_until_it_ends(
    db_settings,
):
    world = make_trigger_world(_no_cooling(db_settings), customers=2)
    c = world.customers
    world.journey("JRN-CHURN", {"type": "churn_risk"}, priority=10)
    world.journey("JRN-CART", {"type": "abandoned_cart"}, priority=90)
    for customer in c:
        world.stage(customer, "at_risk")
    world.order(c[0], T0 - days(50))
    world.cart(c[1], T0 - hours(2))
    world.scan(T0)
    assert world.enrolled("JRN-CHURN") == [c[0]] and world.enrolled("JRN-CART") == [c[1]]

    world.cart(c[0], T0 + hours(1))  # c0 is in the win-back journey, which ranks higher
    world.order(c[1], T0 - days(50) + hours(1))  # c1 is in the cart journey, which ranks lower
    world.scan(T0 + hours(3))
    assert world.outcome_of("JRN-CART", c[0]) == ["conflict"]
    assert (
        "already active in JRN-CHURN (at_risk, priority 10)" in world.details("JRN-CART", c[0])[0]
    )
    assert sorted(world.enrolled("JRN-CHURN")) == [c[0], c[1]]

    world.end("JRN-CHURN", c[0], T0 + hours(4), status="exited")
    world.scan(T0 + hours(5))  # the same cart firing, judged again: now it may enrol
    assert world.outcome_of("JRN-CART", c[0]) == ["conflict", "enrolled"]


def test_a_second_scan_enrols_nobody_and_the_next_day_fires_again_when_allowed(db_settings):
    world = make_trigger_world(db_settings, customers=1)
    (c0,) = world.customers
    world.journey("JRN-EV", VIEWED)
    world.event(c0, "Viewed", T0 - hours(1))
    assert world.scan(T0).enrolled == 1
    second = world.scan(T0 + hours(1))
    assert (second.enrolled, second.logged, sum(second.outcomes.values())) == (0, 0, 0)

    world.end("JRN-EV", c0, T0 + hours(2))
    world.event(c0, "Viewed", T0 + hours(14))  # the next day (UTC), 15 h after entering
    world.scan(T0 + hours(15))
    assert world.outcome_of("JRN-EV", c0) == ["enrolled", "duplicate"]
    assert "once per 24 h" in world.details("JRN-EV", c0)[1]
    world.scan(T0 + hours(15) + hours(1))  # the same firing logs nothing new
    assert world.outcome_of("JRN-EV", c0) == ["enrolled", "duplicate"]

    world.scan(T0 + hours(25))  # 24 h after entering: the same firing may enrol now
    assert world.outcome_of("JRN-EV", c0) == ["enrolled", "duplicate", "enrolled"]
    keys = [e.trigger_key for e in world.enrolments("JRN-EV")]
    assert keys == [f"{c0}:event:2026-11-20", f"{c0}:event:2026-11-21"]


def test_rapid_stage_cycling_does_not_re_enrol_within_reentry_days(db_settings):
    world = make_trigger_world(db_settings, customers=1)
    (c0,) = world.customers
    world.journey(
        "JRN-SAVE",
        {"type": "event", "event": "Login"},
        target={"lifecycle_stages": ["at_risk"]},
        reentry_days=14,
    )
    world.stage(c0, "at_risk")
    world.event(c0, "Login", T0 - hours(1))
    world.scan(T0)
    world.end("JRN-SAVE", c0, T0 + days(1), status="exited")

    world.stage(c0, "retention")
    world.event(c0, "Login", T0 + days(2))
    world.scan(T0 + days(2) + hours(1))
    world.stage(c0, "at_risk")
    world.event(c0, "Login", T0 + days(3))
    world.scan(T0 + days(3) + hours(1))
    # day 2 and day 3 are new firings (new keys), both held back by the re-entry window
    assert world.outcome_of("JRN-SAVE", c0) == ["enrolled", "duplicate", "duplicate"]
    assert all("re-entry after 14 days" in d for d in world.details("JRN-SAVE", c0)[1:])

    world.event(c0, "Login", T0 + days(15) + hours(1))
    world.scan(T0 + days(15) + hours(2))
    assert world.outcome_of("JRN-SAVE", c0)[-1] == "enrolled"
    assert len(world.enrolments("JRN-SAVE")) == 2


def test_the_audience_gate_fatigue_and_opt_outs_are_logged_and_retried(db_settings):
    world = make_trigger_world(db_settings, customers=9)
    c = world.customers
    members = world.segment("members")
    world.segment_run(members, T0 - days(10), [x for x in c if x != c[2]])
    world.journey("JRN-OTHER", {"type": "event", "event": "Other"})
    world.event(c[8], "Other", T0 - days(2))
    world.scan(T0 - days(2) + hours(1))
    world.end("JRN-OTHER", c[8], T0 - days(1))
    world.journey(
        "JRN-AUD",
        VIEWED,
        target={
            "lifecycle_stages": ["retention"],
            "segment": "members",
            "entry": {"customer.timezone": "Europe/Paris"},
            "exclusion": {"customer.locale": "de-DE"},
        },
    )
    for customer in c:
        world.stage(customer, "retention")
        world.event(customer, "Viewed", T0 - hours(1))
    world.stage(c[1], "awareness")
    world.profile(c[3], timezone="America/New_York")
    world.profile(c[4], locale="de-DE")
    world.revoke(c[5])
    world.suppress(c[6])
    world.touches(c[7], 8, T0 - hours(2))

    world.scan(T0)

    outcomes = {customer: world.outcome_of("JRN-AUD", customer) for customer in c}
    assert outcomes == {
        c[0]: ["enrolled"],
        c[1]: ["not_eligible"],
        c[2]: ["not_eligible"],
        c[3]: ["not_eligible"],
        c[4]: ["excluded"],
        c[5]: ["suppressed_optout"],
        c[6]: ["suppressed_optout"],
        c[7]: ["suppressed_cap"],
        c[8]: ["suppressed_cap"],
    }
    assert "cross-channel cap 8/week reached" in world.details("JRN-AUD", c[7])[0]
    assert "cooling off" in world.details("JRN-AUD", c[8])[0]
    assert "not in segment 'members'" in world.details("JRN-AUD", c[2])[0]

    world.stage(c[1], "retention")
    world.scan(T0 + days(1) + hours(1))  # cooling-off over, the stage changed
    assert world.outcome_of("JRN-AUD", c[1]) == ["not_eligible", "enrolled"]
    assert world.outcome_of("JRN-AUD", c[8]) == ["suppressed_cap", "enrolled"]
    assert world.outcome_of("JRN-AUD", c[7]) == ["suppressed_cap"]  # still 8 this week


def test_paused_and_killed_journeys_fire_nothing_until_resumed(db_settings):
    world = make_trigger_world(db_settings, customers=1)
    (c0,) = world.customers
    world.journey("JRN-EV", VIEWED)
    world.journey("JRN-OTHER", {"type": "event", "event": "Other"})
    with session_scope(world.settings) as session:
        journey_store.pause(
            session, world.team.marketer, "JRN-EV", reason="legal review of the offer", now=T0
        )
    world.event(c0, "Viewed", T0 + hours(1))
    report = world.scan(T0 + hours(2))
    assert report.outcomes == {"paused": 1} and world.enrolments() == []
    assert "journey is paused: legal review of the offer" in world.details("JRN-EV", c0)[0]

    with session_scope(world.settings) as session:  # the regulator calls: stop everything
        journey_store.kill_switch(
            session, world.team.admin, None, reason="regulatory change", now=T0 + hours(3)
        )
    world.event(c0, "Other", T0 + hours(3))
    world.scan(T0 + hours(4))
    assert world.enrolments() == []
    assert world.outcome_of("JRN-OTHER", c0) == ["paused"]
    assert world.outcome_of("JRN-EV", c0) == ["paused"]  # logged once per firing

    with session_scope(world.settings) as session:
        journey_store.resume(session, world.team.admin, None, now=T0 + hours(5))
    world.scan(T0 + hours(6))
    assert world.outcome_of("JRN-EV", c0) == ["paused", "enrolled"]
    assert world.outcome_of("JRN-OTHER", c0) == ["paused", "conflict"]


def test_concurrent_scans_enrol_each_customer_once(db_settings):
    if not db_settings.effective_database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer: scans cannot run concurrently there")
    world = make_trigger_world(db_settings, customers=6)
    world.journey("JRN-EV", VIEWED)
    for customer in world.customers:
        world.event(customer, "Viewed", T0 - hours(1))
    reports = []
    barrier = threading.Barrier(3)

    def scan() -> None:
        barrier.wait()
        reports.append(world.scan(T0))

    threads = [threading.Thread(target=scan) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.enrolled for r in reports) == [0, 0, 6]
    assert sorted(world.enrolled("JRN-EV")) == list(world.customers)
    assert [o for _, _, o in world.firings()] == ["enrolled"] * 6


# --- the pure rules ----------------------------------------------------------------------


def _journey(journey_id: str, trigger: dict, **extra):
    return parse_journey(journey_body("apv_1", id=journey_id, trigger=trigger, **extra))


def test_rank_orders_stages_then_priority():
    churn = _journey("JRN-A", {"type": "churn_risk"}, priority=1)
    vip = _journey("JRN-B", {"type": "vip_milestone"}, priority=999)
    staged = _journey("JRN-C", VIEWED, target={"lifecycle_stages": ["activation"]}, priority=5)
    plain = _journey("JRN-D", VIEWED, priority=1000)
    assert STAGE_ORDER[0] == "at_risk"
    assert rank(churn, "retention") < rank(staged, "activation") < rank(vip, None)
    assert rank(vip, None) < rank(plain, "at_risk")  # a journey serving no stage comes last
    assert rank(staged, "retention")[0] == len(STAGE_ORDER)  # not its stage
    winners, lost = resolve_conflicts(
        [
            Candidate(plain, "c1", "k1", "activation"),
            Candidate(staged, "c1", "k2", "activation"),
            Candidate(vip, "c2", "k3", None),
        ],
        {"c2": [churn]},
    )
    assert [(w.journey.id, w.customer_id) for w in winners] == [("JRN-C", "c1")]
    assert set(lost) == {("JRN-D", "k1"), ("JRN-B", "k3")}


def test_gate_rules_in_order():
    journey = _journey("JRN-A", VIEWED, reentry_days=7)
    limits = Limits(total_per_week=3, cooling_off=days(2))
    facts = Facts("JRN-A", "c1", "k")
    assert gate(facts, journey, limits, T0) is None
    assert gate(
        Facts("JRN-A", "c1", "k", ended_here_at=T0 - days(6)), journey, limits, T0
    ).outcome == ("duplicate")
    assert gate(Facts("JRN-A", "c1", "k", ended_here_at=T0 - days(8)), journey, limits, T0) is None
    assert gate(Facts("JRN-A", "c1", "k", touches_week=3), journey, limits, T0).outcome == (
        "suppressed_cap"
    )
    unreachable = Facts("JRN-A", "c1", "k", reachable=False, touches_week=9)
    assert gate(unreachable, journey, limits, T0).outcome == "suppressed_optout"
