"""The dashboard drawn from plain data: seed 000's figures give seed 000's table and lines."""

from __future__ import annotations

import json
from dataclasses import replace

from journeys.dashboard import render_json, render_text, trend_text
from journeys.dashboard_data import (
    ActionShare,
    Alert,
    Dashboard,
    JourneyRow,
    Kpi,
    NbaStats,
    Trend,
    TriggerActivity,
)
from tests.journeys.analytics_records import H, T

SEED_TABLE = """\
┌────────────────────────┬────────────┬───────────┬────────────┬──────────────┐
│ Journey                │ Active     │ Completed │ Converted  │ Conv. Rate   │
├────────────────────────┼────────────┼───────────┼────────────┼──────────────┤
│ Activation (New Users) │ 1,247      │ 3,891     │ 2,145      │ 55.1%        │
│ Retention (Active)     │ 4,523      │ 8,234     │ 6,012      │ 73.0%        │
│ Win-back (Churned)     │ 85         │ 178       │ 23         │ 12.9%        │
└────────────────────────┴────────────┴───────────┴────────────┴──────────────┘"""


def _seed_dashboard() -> Dashboard:
    rows = [
        JourneyRow("activation", "Activation (New Users)", "active", 1247, 3891, 3891, 2145),
        JourneyRow("retention", "Retention (Active)", "active", 4523, 8234, 8234, 6012),
        JourneyRow("winback", "Win-back (Churned)", "active", 85, 178, 178, 23),
    ]
    return Dashboard(
        workspace="acme",
        as_of=T,
        active_journeys=23,
        customers_in_journeys=8427,
        journeys=rows,
        activity=TriggerActivity(T - H, T, 347, 289, {"sms": 12}, 34, 12),
        nba=NbaStats(
            T - H,
            T,
            289,
            0.763,
            [
                ActionShare("email-p", "Email (personalized content)", "email", 89, 89 / 289),
                ActionShare("in-app", "In-app message", "in_app", 67, 67 / 289),
            ],
            0,
        ),
        trends=[
            Trend("conversion_rate", "Overall conversion rate", "share", 0.612, 0.581, True),
            Trend("touches_per_customer", "Avg touches per customer", "touches", 4.2, 3.9, True),
            Trend("fatigue_rate", "Channel fatigue rate", "share", 0.021, 0.0212, False),
            Trend("unsubscribe_rate", "Unsubscribe rate", "share", 0.008, 0.011, False),
        ],
        alerts=[
            Alert("warning", "channel_failure", "SMS delivery failure detected (12 messages)"),
            Alert("ok", "conversion_meets_target", "Activation journey conversion meets target"),
        ],
        kpis=[Kpi("cart_recovery_rate", "Cart recovery rate", 1, 8, "1 of 8 recovered", 0.125)],
    )


def test_text_follows_the_seed_layout():
    text = "\n".join(render_text(_seed_dashboard()))
    assert SEED_TABLE in text
    for line in (
        "JOURNEY ORCHESTRATION DASHBOARD — Live View",
        "As of: 2026-11-20 12:00 UTC",
        "ACTIVE JOURNEYS: 23 | Total customers in journeys: 8,427",
        "  Triggers fired: 347",
        "  Actions executed: 289 (83.3% delivery rate)",
        "  Failed deliveries: 12 (SMS: 12)",
        "  Suppressed (frequency cap): 34",
        "  Suppressed (opt-out): 12",
        "  NBA decisions: 289 | Avg confidence score: 76.3%",
        "    1. Email (personalized content) (Email): 89 [30.8%]",
        "    2. In-app message (In-app): 67 [23.2%]",
        "  Overall conversion rate: ↑ 61.2% (+3.1 pts from 58.1%)",
        "  Avg touches per customer: 4.2 touches (↑ 0.3 from 3.9)",
        "  Channel fatigue rate: 2.1% (stable)",
        "  Unsubscribe rate: ↓ 0.8% (-0.3 pts from 1.1%)",
        "  Cart recovery rate: 12.5% (1 of 8 recovered)",
        "  ⚠ SMS delivery failure detected (12 messages)",
        "  ✓ Activation journey conversion meets target",
    ):
        assert line in text.splitlines(), line


def test_trend_without_history_and_without_data():
    assert trend_text(Trend("k", "K", "share", 0.5, None, True)) == (
        "50.0% (no data for the 30 days before)"
    )
    assert trend_text(Trend("k", "K", "share", None, 0.5, True)).startswith("n/a")


def test_json_has_every_figure():
    data = json.loads(json.dumps(render_json(_seed_dashboard())))
    assert data["journeys"][0]["conversion_rate"] == round(2145 / 3891, 6)
    assert data["trigger_activity"]["delivery_rate"] == round(289 / 347, 6)
    assert data["trigger_activity"]["failed_by_channel"] == {"sms": 12}
    assert data["nba"]["top_actions"][0]["count"] == 89
    assert data["trends"][0]["delta"] == round(0.612 - 0.581, 6)
    assert data["alerts"][0]["level"] == "warning"
    assert data["as_of"] == "2026-11-20T12:00:00+00:00"


def test_empty_pipeline_draws_a_placeholder_row():
    lines = render_text(replace(_seed_dashboard(), journeys=[], alerts=[]))
    assert any("(no journeys)" in line for line in lines)
    assert "  ✓ No alerts" in lines
