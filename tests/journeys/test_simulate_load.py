"""A journey simulated over a small generated demo workspace, on SQLite and PostgreSQL: the
numbers add up against independent counts (entries = matching - holdout, touches within the
caps, suppressed customers untouched, history rates recomputed from the orders)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
import yaml
from sqlalchemy import func, select

from core import workspaces
from core.contact_rules import DAY, WEEK, in_window
from core.db import session_scope
from core.models import COMPLETED_STATUSES, Customer, Event, Order, Suppression
from guardrails.contact_state import lookback_of
from guardrails.contact_store import policy_of
from journeys.conversion_history import base_rates
from journeys.simulate import audience, in_holdout, recency_bucket
from journeys.simulate_load import load_rows, simulate_workspace, trigger_hits
from journeys.spec import parse_journey
from knowledge import JOURNEYS_DIR
from scoring.criteria_sql import segment_query
from scoring.demo_loader import generate_into
from scoring.score_run import run_scores_for
from tests.scoring.segment_fixtures import db_settings  # noqa: F401 - fixture

END = datetime(2026, 11, 1, tzinfo=UTC)
AS_OF = date(2026, 11, 1)
START = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def demo(db_settings):  # noqa: F811
    generate_into(
        db_settings, "demo", customers=160, orders=1600, seed=4, end=END, create_workspace=True
    )
    run_scores_for(db_settings, "demo", date(2026, 10, 31))
    with session_scope(db_settings) as session:
        workspace_id = workspaces.get_or_raise(session, "demo").id
        ids = sorted(
            session.scalars(select(Customer.id).where(Customer.workspace_id == workspace_id))
        )
        for customer_id in ids[::7]:
            session.add(
                Suppression(
                    workspace_id=workspace_id,
                    customer_id=customer_id,
                    channel="all",
                    reason="complaint",
                    source="test",
                )
            )
    return db_settings, workspace_id, set(ids[::7])


def winback(**changes):
    data = yaml.safe_load((JOURNEYS_DIR / "churn-winback.yaml").read_text(encoding="utf-8"))
    data.update(changes)
    return parse_journey(data)


def test_the_numbers_add_up(demo):
    settings, workspace_id, suppressed = demo
    journey = winback(holdout=0.25, target={})
    with session_scope(settings) as session:
        report = simulate_workspace(session, workspace_id, journey, AS_OF, 30, keep_touches=True)
        query = segment_query(workspace_id, audience(journey, 30), include_unsubscribed=True)
        matching = set(session.scalars(query))
        rows = {
            r.customer_id: r
            for r in load_rows(
                session,
                workspace_id,
                journey,
                START,
                30,
                lookback_of(policy_of(session, workspace_id)),
            )
        }
        caps = policy_of(session, workspace_id).caps
    held = {cid for cid in matching if in_holdout(journey, cid)}
    assert report.customers == 160
    assert report.matching == len(matching) > 10
    assert report.holdout == len(held) > 0
    assert report.entries == report.matching - report.holdout
    assert set(report.sent) <= matching - held
    assert not suppressed & set(report.sent), "suppressed customers get no touches"
    # a suppressed entrant is stopped at its first email: by consent when it has no email
    # opt-in (that rule comes first), else by its suppression. Which customers are held out
    # depends on their ids, which carry the (random) workspace id, so count both ways.
    entrants = suppressed & (matching - held)
    no_opt_in = {c for c in entrants if rows[c].consent.get("email") != "granted"}
    assert report.suppressions["email: suppressed"] >= len(entrants - no_opt_in)
    assert report.suppressions["email: consent"] >= len(no_opt_in)
    assert sum(report.touches.values()) == sum(len(t) for t in report.sent.values())
    for customer_id, sent in report.sent.items():
        every = sorted([*rows[customer_id].touches, *sent], key=lambda t: t.occurred_at)
        for touch in sent:
            end = touch.occurred_at + timedelta(microseconds=1)
            for window, limit in ((DAY, caps.per_day["email"]), (WEEK, caps.per_week["email"])):
                counted = [
                    t
                    for t in every
                    if t.channel == "email"
                    and t.occurred_at <= touch.occurred_at
                    and in_window(t, end, window)
                ]
                assert len(counted) <= limit, (customer_id, counted)
    assert report.expected is not None and report.expected.conversions > 0
    assert sum(report.expected.entrants_by_bucket.values()) == report.entries


def test_history_rates_match_a_recount_from_the_orders(demo):
    settings, workspace_id, _ = demo
    goal = winback().goal
    reference = AS_OF - timedelta(days=goal.within_days)
    start = datetime(reference.year, reference.month, reference.day, tzinfo=UTC)
    end = start + timedelta(days=goal.within_days)
    with session_scope(settings) as session:
        rates = base_rates(session, workspace_id, goal, reference)
        customers = session.execute(
            select(Customer.id, Customer.first_seen_at).where(
                Customer.workspace_id == workspace_id, Customer.merged_into.is_(None)
            )
        ).all()
        orders = session.execute(
            select(Order.customer_id, Order.ordered_at).where(
                Order.workspace_id == workspace_id, Order.status.in_(COMPLETED_STATUSES)
            )
        ).all()
    by_customer = defaultdict(list)
    for customer_id, at in orders:
        by_customer[customer_id].append(at.replace(tzinfo=UTC) if at.tzinfo is None else at)
    counts: Counter[str] = Counter()
    converted: Counter[str] = Counter()
    for customer_id, seen in customers:
        seen = seen.replace(tzinfo=UTC) if seen.tzinfo is None else seen
        if seen >= start:
            continue
        before = [at for at in by_customer[customer_id] if at < start]
        days = (reference - max(before).date()).days if before else None
        bucket = recency_bucket(days)
        counts[bucket] += 1
        converted[bucket] += any(start <= at < end for at in by_customer[customer_id])
    assert {name: (r.customers, r.converted) for name, r in rates.items()} == {
        name: (counts[name], converted[name]) for name in counts
    }
    assert sum(converted.values()) > 0


def test_event_and_inactivity_triggers_are_read_set_based(demo):
    settings, workspace_id, _ = demo
    pricing = winback(trigger={"type": "event", "event": "Pricing", "count": 2, "within_days": 60})
    idle = winback(trigger={"type": "inactivity", "days": 60})
    since = START - timedelta(days=60)
    with session_scope(settings) as session:
        hits = trigger_hits(session, workspace_id, pricing, START)
        events = session.execute(
            select(Event.customer_id, func.count())
            .where(
                Event.workspace_id == workspace_id,
                Event.name == "Pricing",
                Event.timestamp >= since,
                Event.timestamp < START,
            )
            .group_by(Event.customer_id)
        ).all()
        idle_hits = trigger_hits(session, workspace_id, idle, START)
        active = set(
            session.scalars(
                select(Event.customer_id).where(
                    Event.workspace_id == workspace_id,
                    Event.timestamp >= since,
                    Event.timestamp < START,
                )
            )
        ) | set(
            session.scalars(
                select(Order.customer_id).where(
                    Order.workspace_id == workspace_id,
                    Order.status.in_(COMPLETED_STATUSES),
                    Order.ordered_at >= since,
                    Order.ordered_at < START,
                )
            )
        )
        everyone = set(
            session.scalars(select(Customer.id).where(Customer.workspace_id == workspace_id))
        )
        report = simulate_workspace(session, workspace_id, pricing, AS_OF, 14)
    assert hits == {cid for cid, n in events if n >= 2}
    assert hits, "the demo data has customers viewing pricing twice"
    assert idle_hits == everyone - active and idle_hits
    assert report.matching <= len(hits)
