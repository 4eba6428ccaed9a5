"""Each trigger type detected set-based on hand-built data, keyed by customer + trigger + date
bucket, enrolled once: on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.db import session_scope
from core.models import JourneyTask, SegmentDefinition
from journeys.triggers_job import scan_job
from scoring import segments
from tests.journeys.runtime_fixtures import db_settings
from tests.journeys.trigger_fixtures import T0, days, hours, make_trigger_world

__all__ = ["db_settings"]


def test_abandoned_cart_fires_for_idle_unconverted_open_carts_once(db_settings):
    world = make_trigger_world(db_settings, customers=6)
    c = world.customers
    world.journey("JRN-CART", {"type": "abandoned_cart", "inactive_hours": 1})
    idle = world.cart(c[0], T0 - hours(2))
    world.cart(c[0], T0 - hours(30))  # an older cart of the same customer: one firing
    world.cart(c[1], T0 - timedelta(minutes=30))  # not idle long enough
    world.cart(c[2], T0 - hours(3))
    world.order(c[2], T0 - hours(2))  # converted after its last update
    world.cart(c[3], T0 - hours(3), status="cleared")
    world.cart(c[4], T0 - days(5))  # idle long before the lookback
    world.cart(c[5], T0 - hours(3))
    world.order(c[5], T0 - hours(4))  # an order before the cart's last update: still abandoned

    report = world.scan(T0)

    assert report.enrolled == 2
    assert sorted(world.enrolled("JRN-CART")) == [c[0], c[5]]
    first = next(e for e in world.enrolments("JRN-CART") if e.customer_id == c[0])
    assert first.trigger_key == f"{c[0]}:abandoned_cart:2026-11-20"
    assert first.entered_at == T0
    assert world.details("JRN-CART", c[0]) == [
        f"cart {idle} (45.00) idle since 2026-11-20 09:00 UTC: enrolled"
    ]
    with session_scope(world.settings) as session:
        tasks = session.scalars(select(JourneyTask.customer_id)).all()
    assert sorted(tasks) == [c[0], c[5]]

    again = world.scan(T0 + timedelta(minutes=10))
    assert again.enrolled == 0 and again.logged == 0 and sum(again.outcomes.values()) == 0
    later = world.scan(T0 + hours(1))  # c1's cart has been idle for an hour and a half now
    assert later.outcomes == {"enrolled": 1} and world.enrolled("JRN-CART")[-1] == c[1]


def test_a_cart_journey_stops_when_an_order_is_created_or_the_cart_is_cleared(db_settings):
    world = make_trigger_world(db_settings, customers=3)
    c = world.customers
    world.journey("JRN-CART", {"type": "abandoned_cart", "inactive_hours": 1})
    world.cart(c[0], T0 - hours(2))
    cleared = world.cart(c[1], T0 - hours(2))
    world.cart(c[2], T0 - hours(2))
    world.scan(T0)
    assert len(world.enrolled("JRN-CART")) == 3

    world.order(c[0], T0 + hours(1), status="pending")  # an order created: recovered
    world.set_cart(cleared, "cleared")
    report = world.scan(T0 + hours(2))

    assert report.cart_exits == 2
    ended = {e.customer_id: e for e in world.enrolments("JRN-CART")}
    assert (ended[c[0]].status, ended[c[0]].exit_id) == ("converted", "cart_order_created")
    assert ended[c[0]].converted_at == T0 + hours(1)
    assert (ended[c[1]].status, ended[c[1]].exit_id) == ("exited", "cart_cleared")
    assert ended[c[2]].status == "active"
    with session_scope(world.settings) as session:
        states = dict(session.execute(select(JourneyTask.customer_id, JourneyTask.status)).all())
    assert states == {c[0]: "cancelled", c[1]: "cancelled", c[2]: "pending"}


def test_cart_idleness_counts_from_the_shoppers_last_activity(db_settings):
    """Inactive over an hour since the shopper's last change (`activity_at`), whatever wrote
    the cart since; an order after that change ends the journey."""
    world = make_trigger_world(db_settings, customers=3)
    c = world.customers
    world.journey("JRN-CART", {"type": "abandoned_cart", "inactive_hours": 1})
    touched = world.cart(c[0], T0 - hours(1) / 6, activity_at=T0 - hours(3))  # system write
    world.cart(c[1], T0 - hours(1) / 6, activity_at=T0 - hours(1) / 2)  # still shopping
    world.cart(c[2], T0 - hours(3), activity_at=T0 - hours(3))

    assert world.scan(T0).enrolled == 2
    assert sorted(world.enrolled("JRN-CART")) == sorted([c[0], c[2]])
    assert world.details("JRN-CART", c[0]) == [
        f"cart {touched} (45.00) idle since 2026-11-20 08:00 UTC: enrolled"
    ]

    world.order(c[0], T0 + hours(1) / 6)  # after the last activity, before a later write
    world.set_cart(touched, "open", updated_at=T0 + hours(1) / 2)
    report = world.scan(T0 + hours(1))
    assert report.cart_exits == 1
    ended = {e.customer_id: e for e in world.enrolments("JRN-CART")}
    assert (ended[c[0]].status, ended[c[0]].converted_at) == ("converted", T0 + hours(1) / 6)
    assert ended[c[2]].status == "active"


def test_churn_risk_fires_for_active_customers_whose_last_order_is_old(db_settings):
    world = make_trigger_world(db_settings, customers=5)
    c = world.customers
    world.journey("JRN-CHURN", {"type": "churn_risk", "days_since_last_order": 45})
    world.order(c[0], T0 - days(50) - hours(2))
    world.stage(c[0], "at_risk")
    world.order(c[1], T0 - days(50))
    world.stage(c[1], "churned")  # not ACTIVE
    world.order(c[2], T0 - days(10))
    world.stage(c[2], "retention")  # ordered recently
    world.order(c[3], T0 - days(60))
    world.order(c[3], T0 - days(5), status="cancelled")  # a cancelled order does not count
    world.stage(c[3], "retention")
    world.stage(c[4], "at_risk")  # never ordered: no last order to measure

    world.scan(T0)

    assert sorted(world.enrolled("JRN-CHURN")) == [c[0], c[3]]
    keys = {e.customer_id: e.trigger_key for e in world.enrolments("JRN-CHURN")}
    # the key is the day the state began (last order + 45 days), so it holds while it lasts
    assert keys[c[0]] == f"{c[0]}:churn_risk:" + (T0 - days(5) - hours(2)).date().isoformat()
    assert world.scan(T0 + days(1)).logged == 0


def test_vip_milestone_fires_when_the_composite_crosses_from_below(db_settings):
    world = make_trigger_world(db_settings, customers=4)
    c = world.customers
    world.journey("JRN-VIP", {"type": "vip_milestone", "composite_gte": 38})
    world.rfm((T0 - days(1)).date(), {c[0]: 30, c[1]: 40, c[3]: 20})
    world.rfm(T0.date(), {c[0]: 40, c[1]: 42, c[2]: 39, c[3]: 30})

    world.scan(T0 + hours(1))

    assert sorted(world.enrolled("JRN-VIP")) == [c[0], c[2]]
    assert world.details("JRN-VIP", c[0]) == [
        "RFM composite 40 on the 2026-11-20 snapshot: enrolled"
    ]


def test_vip_milestone_needs_two_snapshots(db_settings):
    world = make_trigger_world(db_settings, customers=1)
    world.journey("JRN-VIP", {"type": "vip_milestone", "composite_gte": 38})
    world.rfm(T0.date(), {world.customers[0]: 45})
    report = world.scan(T0 + hours(1))
    assert report.enrolled == 0 and "two RFM snapshots" in report.journeys[0].note


def test_post_purchase_fires_per_paid_order_and_finds_orders_paid_late(db_settings):
    world = make_trigger_world(db_settings, customers=4)
    c = world.customers
    world.journey("JRN-POST", {"type": "post_purchase"})
    judged = world.order(c[3], T0 - days(5))
    late = world.order(c[2], T0 - days(5), status="pending")
    world.scan(T0 - days(5) + hours(1))  # the journey's scans judged c3's order back then
    assert world.enrolled("JRN-POST") == [c[3]]
    assert world.enrolments("JRN-POST")[0].trigger_key == f"{c[3]}:post_purchase:{judged}"

    paid = world.order(c[0], T0 - hours(3))
    world.order(c[1], T0 - hours(3), status="pending")
    world.scan(T0)
    assert world.enrolled("JRN-POST") == [c[3], c[0]]
    assert world.enrolments("JRN-POST")[1].trigger_key == f"{c[0]}:post_purchase:{paid}"

    world.set_order(late, "paid")  # paid five days after it was placed
    report = world.scan(T0 + hours(1))
    assert report.outcomes == {"enrolled": 1}
    assert world.enrolments("JRN-POST")[2].trigger_key == f"{c[2]}:post_purchase:{late}"

    assert world.scan(T0 + hours(2)).logged == 0  # nothing fires twice


def test_segment_entry_fires_for_entries_of_recent_runs_still_members(db_settings):
    world = make_trigger_world(db_settings, customers=4)
    c = world.customers
    segment = world.segment("vip")
    world.journey("JRN-SEG", {"type": "segment_entry", "segment": "vip"})
    world.segment_run(segment, T0 - days(5), [c[2]])  # entered before the lookback
    run = world.segment_run(segment, T0 - hours(1), [c[0], c[1]], members=[c[0]])

    world.scan(T0)

    assert world.enrolled("JRN-SEG") == [c[0]]  # c1 left again before the scan
    assert world.enrolments("JRN-SEG")[0].trigger_key == f"{c[0]}:segment_entry:2026-11-20"
    assert world.details("JRN-SEG", c[0])[0].startswith(f"entered the segment in run {run}")


def test_segment_entry_of_an_unknown_segment_fires_nothing(db_settings):
    world = make_trigger_world(db_settings, customers=1)
    # Activation refuses an unknown segment, so the segment goes away after it.
    segment_id = world.segment("nobody")
    world.journey("JRN-SEG", {"type": "segment_entry", "segment": "nobody"})
    with session_scope(world.settings) as session:
        segments.delete(session, session.get(SegmentDefinition, segment_id))
    report = world.scan(T0)
    assert report.enrolled == 0 and report.journeys[0].note == "segment 'nobody' does not exist"


def test_event_trigger_counts_events_in_the_window_with_where_criteria(db_settings):
    world = make_trigger_world(db_settings, customers=5)
    c = world.customers
    world.journey(
        "JRN-PRICING",
        {
            "type": "event",
            "event": "Pricing Page Viewed",
            "count": 3,
            "within_days": 7,
            "where": {"lifecycle.stage": ["retention", "expansion"]},
        },
    )
    for customer in c:
        world.stage(customer, "retention")
    world.stage(c[4], "awareness")
    for n in range(3):
        world.event(c[0], "Pricing Page Viewed", T0 - hours(2 + n * 12))
        world.event(c[2], "Pricing Page Viewed", T0 - days(4) - hours(n))  # latest too old
        world.event(c[3], "Pricing Page Viewed", T0 - days(6 + n))  # two fall out of 7 days
        world.event(c[4], "Pricing Page Viewed", T0 - hours(2 + n))  # not matching `where`
    world.event(c[1], "Pricing Page Viewed", T0 - hours(1))
    world.event(c[1], "Signed Up", T0 - hours(1))
    world.event(c[1], "Pricing Page Viewed", T0 - hours(2))

    world.scan(T0)

    assert world.enrolled("JRN-PRICING") == [c[0]]
    assert world.details("JRN-PRICING", c[0]) == [
        "3 x 'Pricing Page Viewed', the latest at 2026-11-20 09:00 UTC: enrolled"
    ]


def test_inactivity_fires_without_events_or_orders_for_n_days(db_settings):
    world = make_trigger_world(db_settings, customers=3)
    c = world.customers
    world.journey("JRN-IDLE", {"type": "inactivity", "days": 30})
    world.seen(c[0], T0 - days(40))
    world.seen(c[1], T0 - days(40))
    world.order(c[1], T0 - days(10))  # an order counts as activity
    world.seen(c[2], T0 - days(5))

    world.scan(T0)

    assert world.enrolled("JRN-IDLE") == [c[0]]
    assert world.enrolments("JRN-IDLE")[0].trigger_key == (
        f"{c[0]}:inactivity:" + (T0 - days(10)).date().isoformat()
    )


def test_the_worker_job_scans_in_its_own_transaction(db_settings):
    world = make_trigger_world(db_settings, customers=1)
    world.journey("JRN-EV", {"type": "event", "event": "Viewed"})
    world.event(world.customers[0], "Viewed", T0 - hours(1))
    report = scan_job(world.settings, world.workspace_id, T0)
    assert report.enrolled == 1 and world.enrolled("JRN-EV") == [world.customers[0]]
