"""The pure simulation: entries, holdout, splits, experiments, caps, suppressions, exits and
expected conversions over hand-built customer rows."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from core.contact_rules import DAY, WEEK, Caps, Touch, in_window
from guardrails.contact_policy import ContactPolicy
from journeys.assignment import assign
from journeys.simulate import (
    BaseRate,
    CustomerRow,
    Setting,
    experiment_key,
    in_holdout,
    simulate,
)
from journeys.simulate_report import report_json, report_text
from journeys.spec import Journey, parse_journey

START = datetime(2026, 11, 1, tzinfo=UTC)


def email(node_id: str, day: int, nxt: str | None = None, **extra: Any) -> dict[str, Any]:
    node = {"id": node_id, "day": day, "channel": "email", "asset": {"title": node_id}, **extra}
    return {**node, "next": nxt} if nxt else node


def journey(**changes: Any) -> Journey:
    body: dict[str, Any] = {
        "id": "JRN-SIM-001",
        "name": "Sim",
        "trigger": {"type": "churn_risk", "days_since_last_order": 45},
        "target": {"exclusion": {"churn.risk": {"gte": 0.9}}},
        "start": "first",
        "nodes": [
            email("first", 0, "second"),
            email("second", 2, "third"),
            email("third", 4, "split"),
            {
                "kind": "split",
                "id": "split",
                "branches": [
                    {"label": "engaged", "when": {"engagement.trend": {"gt": 0}}, "next": "push"},
                    {"label": "otherwise"},
                ],
            },
            {"id": "push", "day": 5, "channel": "push", "asset": {"title": "push"}},
        ],
        "holdout": 0.2,
        "goal": {"kind": "order", "within_days": 14},
    }
    body.update(changes)
    return parse_journey(body)


def row(i: int, **extra: Any) -> CustomerRow:
    values = {
        "lifecycle.stage": "retention" if i % 5 else "churned",
        "daysSinceLastOrder": 40 + i % 20,
        "churn.risk": (i % 10) / 10,
        "engagement.trend": 0.5 if i % 2 else -0.5,
    }
    defaults: dict[str, Any] = {
        "values": values,
        "consent": {"email": "granted", "push": "granted"},
        "recency": "31-90 days",
    }
    defaults.update(extra)
    return CustomerRow(f"cus_{i:04d}", **defaults)


def matching(rows: list[CustomerRow]) -> list[CustomerRow]:
    return [
        r
        for r in rows
        if r.values["lifecycle.stage"] != "churned"
        and r.values["daysSinceLastOrder"] >= 45
        and r.values["churn.risk"] < 0.9
    ]


def setting(**extra: Any) -> Setting:
    defaults: dict[str, Any] = {"start": START, "days": 30, "keep_touches": True}
    defaults.update(extra)
    return Setting(**defaults)


def test_entries_are_the_matching_customers_less_the_holdout() -> None:
    rows = [row(i) for i in range(600)]
    flow = journey()
    report = simulate(flow, rows, setting())
    expected = matching(rows)
    held = [r for r in expected if in_holdout(flow, r.customer_id)]
    assert report.customers == 600
    assert report.matching == len(expected) > 100
    assert report.holdout == len(held) and 0.1 < len(held) / len(expected) < 0.3
    assert report.entries == report.matching - report.holdout
    assert set(report.sent) <= {r.customer_id for r in expected} - {r.customer_id for r in held}
    assert sum(report.touches_per_customer.values()) == report.entries
    assert sum(report.exits.values()) == report.entries


def test_caps_delay_or_drop_and_touches_never_exceed_them() -> None:
    rows = [row(i) for i in range(200)]
    history = Touch("email", "campaign:x", START - timedelta(days=6))
    rows += [row(i, touches=(history,)) for i in range(200, 300)]
    caps = Caps(per_day={"email": 1}, per_week={"email": 2}, total_per_week=8)
    report = simulate(journey(), rows, setting(policy=ContactPolicy(caps=caps)))
    assert report.cap_hits["the workspace's email cap 2/week"] > 0
    third = report.steps["third"]
    assert third.delayed > 0
    short = simulate(journey(), rows, setting(days=6, policy=ContactPolicy(caps=caps)))
    assert short.steps["third"].dropped_by_caps > 0
    assert short.steps["third"].sent < short.steps["third"].reached
    by_id = {r.customer_id: r for r in rows}
    for customer_id, sent in report.sent.items():
        every = sorted([*by_id[customer_id].touches, *sent], key=lambda t: t.occurred_at)
        for touch in sent:
            for window, limit in ((DAY, 1), (WEEK, 2)):
                end = touch.occurred_at + timedelta(microseconds=1)
                counted = [
                    t
                    for t in every
                    if t.channel == "email"
                    and t.occurred_at <= touch.occurred_at
                    and in_window(t, end, window)
                ]
                assert len(counted) <= limit, (customer_id, window, counted)


def test_the_journeys_own_caps_count_its_own_touches() -> None:
    flow = journey(caps={"email": {"week": 1}}, holdout=0.0)
    report = simulate(flow, [row(i) for i in range(50)], setting())
    assert report.cap_hits["the journey's email cap 1/week"] > 0
    for sent in report.sent.values():
        emails = [t.occurred_at for t in sent if t.channel == "email"]
        assert all(b - a >= WEEK for a, b in pairwise(emails))


def test_suppressed_and_unconsented_customers_get_no_touches() -> None:
    rows = [row(i) for i in range(100)]
    rows += [row(i, suppressions=(("all", "complaint"),)) for i in range(100, 140)]
    rows += [row(i, consent={"email": "revoked"}) for i in range(140, 180)]
    rows += [row(i, suppressions=(("push", "unsubscribe"),)) for i in range(180, 220)]
    flow = journey(holdout=0.0)
    report = simulate(flow, rows, setting())
    blocked = {r.customer_id for r in rows[100:180]}
    assert not blocked & set(report.sent)
    no_push = {r.customer_id for r in rows[180:]}
    assert all(t.channel == "email" for cid in no_push for t in report.sent.get(cid, []))
    assert report.suppressions["email: suppressed"] == 3 * len(matching(rows[100:140]))
    assert report.suppressions["email: consent"] == 3 * len(matching(rows[140:180]))

    def pushers(group: list[CustomerRow]) -> int:
        return len([r for r in matching(group) if r.values["engagement.trend"] > 0])

    assert report.suppressions["push: suppressed"] == pushers(rows[100:140]) + pushers(rows[180:])
    assert report.suppressions["push: consent"] == pushers(rows[140:180]) > 0


def test_splits_read_the_values_and_experiments_assign_like_the_runtime() -> None:
    flow = journey(
        holdout=0.0,
        start="ab",
        nodes=[
            {
                "kind": "experiment",
                "id": "ab",
                "variants": [
                    {"id": "a", "weight": 3, "next": "first"},
                    {"id": "b", "next": "push"},
                ],
            },
            email("first", 0, "split"),
            {
                "kind": "split",
                "id": "split",
                "branches": [
                    {"label": "engaged", "when": {"engagement.trend": {"gt": 0}}, "next": "push"},
                    {"label": "otherwise"},
                ],
            },
            {"id": "push", "day": 1, "channel": "push", "asset": {"title": "push"}},
        ],
    )
    rows = [row(i) for i in range(400)]
    report = simulate(flow, rows, setting())
    entrants = matching(rows)
    node = flow.node("ab")
    arms = Counter(
        assign(r.customer_id, experiment_key(flow, node), [("a", 3.0), ("b", 1.0)])
        for r in entrants
    )
    assert report.branches["ab"] == arms
    engaged = [
        r
        for r in entrants
        if assign(r.customer_id, experiment_key(flow, node), [("a", 3.0), ("b", 1.0)]) == "a"
        and r.values["engagement.trend"] > 0
    ]
    assert report.branches["split"]["engaged"] == len(engaged)
    assert report.steps["push"].sent == arms["b"] + len(engaged)


def test_exits_when_at_entry_after_days_and_the_horizon() -> None:
    flow = journey(
        holdout=0.0,
        exits=[
            {"id": "risky", "when": {"churn.risk": {"gte": 0.8}}, "outcome": "exited"},
            {"id": "three-days", "after_days": 3},
        ],
    )
    rows = [row(i) for i in range(100)]
    report = simulate(flow, rows, setting())
    entrants = matching(rows)
    risky = [r for r in entrants if r.values["churn.risk"] >= 0.8]
    assert report.exits["risky"] == len(risky) > 0
    assert report.exits["three-days"] == len(entrants) - len(risky)
    assert report.steps["third"].reached == 0
    short = simulate(journey(holdout=0.0), rows, setting(days=3))
    assert short.exits["in journey at the horizon"] == len(entrants)
    assert short.steps["third"].after_horizon == len(entrants)


def test_expected_conversions_come_from_the_history_rates() -> None:
    rows = [row(i, recency="0-30 days" if i % 3 else "no order") for i in range(300)]
    rates = {"0-30 days": BaseRate("0-30 days", 200, 50), "no order": BaseRate("no order", 100, 5)}
    report = simulate(journey(holdout=0.0), rows, setting(rates=rates))
    entrants = Counter(r.recency for r in matching(rows))
    expected = entrants["0-30 days"] * 0.25 + entrants["no order"] * 0.05
    assert report.expected is not None
    assert report.expected.conversions == pytest.approx(expected)
    assert "same recency bucket" in report.expected.method
    text = report_text(report)
    assert "EXPECTED CONVERSIONS (from history):" in text
    assert "last order 0-30 days" in text and "50 of 200 converted (25.0%)" in text
    data = report_json(report)
    assert data["entries"] == report.entries
    assert data["expected_conversions"]["conversions"] == round(expected, 2)
    assert data["expected_conversions"]["history"]["0-30 days"]["rate"] == 0.25


def test_loader_triggers_need_the_loader_answer() -> None:
    flow = journey(trigger={"type": "event", "event": "Pricing", "count": 2}, holdout=0.0)
    rows = [row(i, trigger_hit=i % 4 == 0) for i in range(100)]
    report = simulate(flow, rows, setting())
    hit = [r for r in rows if r.trigger_hit and r.values["churn.risk"] < 0.9]
    assert report.matching == len(hit)
    assert any("event trigger" in note for note in report.notes)
