"""Seed 002's KPIs over the last 30 days from hand-built carts, orders, sends, enrolments and
email events, on SQLite and PostgreSQL; each expected figure is worked out in the comments."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from core import workspaces
from core.db import session_scope
from journeys.analytics_kpis import (
    cart_recovery,
    churn_winback,
    conversion_uplift,
    email_engagement,
    promotion_attribution,
)
from scoring.demo_data import DemoData
from tests.journeys.analytics_records import DB_PARAMS, D, H, Records, T, db_settings_for


@pytest.fixture(params=DB_PARAMS)
def db(request, tmp_path):
    return db_settings_for(request, tmp_path)


def test_cart_recovery_rate(db):
    with session_scope(db) as session:
        r = Records.new(session, "acme")
        r.cart("k1", T - 10 * D, updated=T - 10 * D + H / 12)  # open, idle: abandoned
        r.cart("k2", T - 10 * D, status="cleared", updated=T - 9 * D)  # abandoned
        quick = r.order("k3", T - 5 * D + H / 2, 1000)
        r.cart("k3", T - 5 * D, status="converted", updated=T - 5 * D + H / 2, order_id=quick)
        late = r.order("k4", T - 5 * D + 3 * H, 1000)  # an hour idle, then bought: recovered
        r.cart("k4", T - 5 * D, status="converted", updated=T - 5 * D + 3 * H, order_id=late)
        cancelled = r.order("k5", T - 3 * D, 1000, status="cancelled")
        r.cart("k5", T - 5 * D, status="converted", updated=T - 3 * D, order_id=cancelled)
        r.cart("k6", T - H / 2)  # created in the last hour: too early to tell
        r.cart("k7", T - 3 * H, updated=T - H / 6)  # still being filled
        r.cart("k8", T - 40 * D)  # before the period
        after = r.order("k9", T + D, 1000)  # bought after the as-of time: not yet recovered
        r.cart("k9", T - 2 * D, status="converted", updated=T + D, order_id=after)
        Records.new(session, "other").cart("z1", T - 10 * D)
    with session_scope(db) as session:
        kpi = cart_recovery(session, r.workspace_id, T)
    # Abandoned: k1, k2, k4, k5, k9; recovered: k4.
    assert (kpi.numerator, kpi.denominator, kpi.value) == (1, 5, 0.2)


def test_cart_recovery_measures_idleness_from_the_shoppers_last_activity(db):
    """Idle an hour since the shopper's last change to the cart, not since its creation
    (a conversion or a system clear overwrites the cart's last update, not its activity)."""
    with session_scope(db) as session:
        r = Records.new(session, "acme")
        start = T - 5 * D
        order = r.order("k1", start + 3 * H, 1000)  # 3 h after creation, 20 min after the last
        r.cart("k1", start, status="converted", updated=start + 3 * H, order_id=order,
               activity=start + 3 * H - H / 3)  # fmt: skip  # item: a quick checkout
        start = T - 4 * D
        order = r.order("k2", start + 2 * H + H / 2, 1000)  # 2 h after the last item: recovered
        r.cart("k2", start, status="converted", updated=start + 2 * H + H / 2, order_id=order,
               activity=start + H / 2)  # fmt: skip
        start = T - 3 * D
        order = r.order("k3", start + 2 * H, 1000, status="pending")  # abandoned, not paid
        r.cart("k3", start, status="converted", updated=start + 2 * H, order_id=order,
               activity=start + H / 6)  # fmt: skip
        # Cleared by the system ten minutes ago, two days after the shopper left: abandoned.
        r.cart("k4", T - 2 * D, status="cleared", updated=T - H / 6, activity=T - 2 * D)
        order = r.order("k5", T + D, 1000)  # bought tomorrow; 45 min idle at the as-of time
        r.cart("k5", T - 2 * H, status="converted", updated=T + D, order_id=order,
               activity=T - H * 3 / 4)  # fmt: skip
        order = r.order("k6", T + D, 1000)  # bought tomorrow; idle for two days by now
        r.cart("k6", T - 2 * D, status="converted", updated=T + D, order_id=order,
               activity=T - 2 * D)  # fmt: skip
    with session_scope(db) as session:
        kpi = cart_recovery(session, r.workspace_id, T)
    # Abandoned: k2, k3, k4, k6; recovered: k2.
    assert (kpi.numerator, kpi.denominator, kpi.value) == (1, 4, 0.25)


def _recovery_by_hand(data: DemoData, as_of: np.datetime64) -> tuple[int, int, int]:
    """(recovered, abandoned, abandoned as the creation-time approximation counted them):
    cart by cart, in Python, over the generated columns."""
    orders = data.tables["orders"]
    by_id = dict(zip(orders["id"], zip(orders["ordered_at"], orders["status"], strict=True),
                     strict=True))  # fmt: skip
    carts = data.tables["carts"]
    hour, start = np.timedelta64(3600, "s"), as_of - np.timedelta64(30, "D")
    won = total = approximate = 0
    for created, activity, order_id in zip(
        carts["created_at"], carts["activity_at"], carts["converted_order_id"], strict=True
    ):
        if not start < created <= as_of - hour:
            continue
        ordered_at, status = by_id.get(order_id, (None, None))
        if ordered_at is not None and ordered_at <= as_of:
            abandoned = ordered_at - activity > hour
            approximate += bool(ordered_at - created > hour)
            won += bool(abandoned and status in ("paid", "completed"))
        else:
            abandoned = activity <= as_of - hour
            approximate += 1 if ordered_at is not None else bool(abandoned)
        total += bool(abandoned)
    return won, total, approximate


def test_cart_recovery_recounts_the_demo_data_by_hand(db):
    from scoring.demo_data import generate
    from scoring.demo_loader import generate_into

    end = datetime(2026, 11, 1, tzinfo=UTC)
    generate_into(db, "demo", customers=400, orders=12000, seed=7, end=end, create_workspace=True)
    with session_scope(db) as session:
        workspace_id = workspaces.get_or_raise(session, "demo").id
    data = generate(workspace_id, 400, 12000, seed=7, end=end)
    differs = 0
    for months_back in range(0, 12, 2):
        as_of = end - months_back * 30 * D
        with session_scope(db) as session:
            kpi = cart_recovery(session, workspace_id, as_of)
        won, total, approximate = _recovery_by_hand(data, np.datetime64(as_of.replace(tzinfo=None)))
        assert (kpi.numerator, kpi.denominator) == (won, total), as_of
        assert total > 20 and 0 < won < total
        differs += approximate != total
    assert differs, "quick checkouts of carts created over an hour before never came up"


def _churn_send(r: Records, customer: str, at, trigger: str = "churn_risk") -> None:
    enrolment = r.enrol("winback", customer, at - D, trigger_type=trigger)
    execution = r.execution(at, customer=customer)
    r.task(enrolment, at, status="sent", customer=customer, execution_id=execution,
           journey_id="winback")  # fmt: skip


def test_churn_winback_rate(db):
    with session_scope(db) as session:
        r = Records.new(session, "acme")
        _churn_send(r, "c1", T - 20 * D)
        r.order("c1", T - 10 * D, 5000)  # 10 days after: won back
        _churn_send(r, "c2", T - 20 * D)
        r.order("c2", T - 3 * D, 5000)  # 17 days after: too late
        _churn_send(r, "c3", T - 5 * D)  # no order (yet)
        _churn_send(r, "c4", T - 40 * D)  # sent before the period
        r.order("c4", T - 30 * D, 5000)
        _churn_send(r, "c5", T - 10 * D, trigger="abandoned_cart")  # not a churn journey
        r.order("c5", T - 9 * D, 5000)
        _churn_send(r, "c6", T - 10 * D)
        r.order("c6", T - 9 * D, 5000, status="cancelled")  # not a purchase
        r.order("c3", T - 6 * D, 5000)  # before the send: does not count
        r.execution(T - 5 * D, customer="c7")  # a send outside any journey
        r.order("c7", T - 4 * D, 5000)
    with session_scope(db) as session:
        kpi = churn_winback(session, r.workspace_id, T)
    # Recipients c1, c2, c3, c6; won back c1.
    assert (kpi.numerator, kpi.denominator, kpi.value) == (1, 4, 0.25)


def test_segment_conversion_uplift_against_holdout(db):
    with session_scope(db) as session:
        r = Records.new(session, "acme")
        for i, converted in enumerate((True, True, False, False)):
            r.enrol("activation", f"a{i}", T - 5 * D, converted=T - 2 * D if converted else None)
        r.enrol("activation", "ah0", T - 5 * D, holdout=True)
        r.enrol("activation", "ah1", T - 5 * D, holdout=True)
        r.enrol("at-risk", "r0", T - 5 * D, status="converted", ended=T - D)
        r.enrol("at-risk", "r1", T - 5 * D)
        r.enrol("at-risk", "rh0", T - 5 * D, holdout=True, converted=T - D)
        r.enrol("at-risk", "rh1", T - 5 * D, holdout=True)
        for i in range(3):  # no holdout: no baseline, left out
            r.enrol("plain", f"p{i}", T - 5 * D, converted=T - D)
        r.enrol("activation", "early", T - 31 * D, converted=T - 20 * D)  # entered before
        r.enrol("activation", "ah9", T - 5 * D, holdout=True, converted=T + D)  # after as-of
    with session_scope(db) as session:
        kpi = conversion_uplift(session, r.workspace_id, T)
    # Pooled: entrants 3 of 6 (50%) vs holdout 1 of 5 (20%).
    assert kpi.value == pytest.approx(0.5 - 0.2)
    assert kpi.extra["entrant_rate"] == pytest.approx(0.5)
    assert kpi.extra["holdout_rate"] == pytest.approx(0.2)
    journeys = kpi.extra["journeys"]
    assert set(journeys) == {"activation", "at-risk"}
    assert journeys["activation"]["uplift"] == pytest.approx(0.5 - 0)  # 2/4 vs 0/3
    assert journeys["at-risk"]["uplift"] == pytest.approx(0.5 - 0.5)  # 1/2 vs 1/2


def test_no_holdout_means_no_uplift(db):
    with session_scope(db) as session:
        r = Records.new(session, "acme")
        r.enrol("plain", "p0", T - 5 * D, converted=T - D)
    with session_scope(db) as session:
        kpi = conversion_uplift(session, r.workspace_id, T)
    assert kpi.value is None and "no journey with a holdout" in kpi.detail


def test_campaign_open_and_click_rates(db):
    with session_scope(db) as session:
        r = Records.new(session, "acme")
        r.email("c1", "A", "sent", T - 5 * D)
        r.email("c1", "A", "sent", T - 5 * D)  # delivered twice: one send
        r.email("c1", "A", "open", T - 4 * D)
        r.email("c1", "A", "click", T - 4 * D)
        r.email("c2", "A", "sent", T - 5 * D)
        r.email("c2", "A", "open", T - 5 * D)
        r.email("c2", "A", "open", T - 4 * D)  # opened twice: one open
        r.email("c3", "A", "sent", T - 5 * D)
        r.email("c1", "B", "sent", T - 2 * D)
        r.email("c1", "B", "open", T + H)  # after the as-of time
        r.email("c4", "A", "sent", T - 40 * D)  # before the period
        r.email("c4", "A", "open", T - 39 * D)
        r.email("c5", "A", "open", T - 3 * D)  # never sent to c5 in the period
        # Journey emails go out through the gate; their opens come back by feedback webhook.
        r.execution(T - 3 * D, customer="c6", trigger_id="winback/s1")
        r.email("c6", "winback/s1", "open", T - 2 * D)
        r.execution(T - 3 * D, customer="c7")  # no trigger: its approval item is the campaign
        r.email("c7", "apr_test", "click", T - 2 * D)
        r.execution(T - 3 * D, customer="c8", channel="sms", trigger_id="winback/s2")
        r.email("c8", "winback/s2", "open", T - 2 * D)  # not an email send
        other = Records.new(session, "other")
        other.email("z1", "A", "sent", T - D)
        other.email("z1", "A", "open", T - D)
    with session_scope(db) as session:
        opens, clicks = email_engagement(session, r.workspace_id, T)
    # Sends (customer, campaign): A/c1, A/c2, A/c3, B/c1, winback/s1 c6, apr_test c7;
    # opened A/c1, A/c2, winback/s1 c6; clicked A/c1, apr_test c7.
    assert (opens.numerator, opens.denominator, opens.value) == (3, 6, 0.5)
    assert (clicks.numerator, clicks.denominator) == (2, 6)


def test_promotion_attribution(db):
    with session_scope(db) as session:
        r = Records.new(session, "acme")
        r.touch("c1", T - 8 * D)
        r.order("c1", T - 5 * D, 10_000, promo=True)  # touched 3 days before: attributed
        r.email("c2", "A", "sent", T - 14 * D)
        r.order("c2", T - 5 * D, 5_000, promo=True)  # 9 days before: outside the window
        r.touch("c3", T - 6 * D)
        r.order("c3", T - 5 * D, 3_000)  # no promotion
        r.touch("c4", T - 6 * D)
        r.order("c4", T - 5 * D, 7_000, status="cancelled", promo=True)  # not paid
        r.email("c5", "A", "sent", T - 3 * D)
        r.order("c5", T - 2 * D, 2_000, promo=True)  # campaign email the day before
        r.touch("c6", T - D)
        r.order("c6", T - 2 * D, 1_000, promo=True)  # the touch came after the order
        r.touch("c7", T - 45 * D)
        r.order("c7", T - 40 * D, 9_000, promo=True)  # before the period
    with session_scope(db) as session:
        kpi = promotion_attribution(session, r.workspace_id, T)
    # Promoted paid revenue 100 + 50 + 20 + 10 = 180.00; attributed 100 + 20 = 120.00.
    assert (kpi.numerator, kpi.denominator) == (12_000, 18_000)
    assert kpi.value == pytest.approx(2 / 3)
    assert kpi.extra["currencies"] == {
        "USD": {
            "promoted_orders": 4,
            "promoted_cents": 18_000,
            "attributed_orders": 2,
            "attributed_cents": 12_000,
        }
    }
