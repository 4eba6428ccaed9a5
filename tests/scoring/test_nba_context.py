"""Next best action from the database: over a scored demo workspace every ranked action has a
granted opt-in and meets its eligibility in SQL; touches, bounces and a stored inventory are
honoured; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db import session_scope
from core.errors import InvalidInput, NotFound
from core.models import ChannelConsent, Customer, CustomerTouch, EmailEvent, PropensityScore
from core.settings import Settings
from scoring.action_store import inventory_of, reset_inventory, set_inventory
from scoring.criteria_sql import segment_query
from scoring.demo_loader import generate_into
from scoring.nba_context import next_best_action
from scoring.score_run import run_scores

END = datetime(2026, 11, 1, tzinfo=UTC)
NOW = END + timedelta(hours=10)


def _scored(settings: Settings) -> str:
    generate_into(
        settings, "shop", customers=300, orders=5000, seed=9, end=END, create_workspace=True
    )
    with session_scope(settings) as session:
        workspace_id = session.scalars(select(Customer.workspace_id)).first()
        run_scores(session, workspace_id, END.date())
    return workspace_id


def check(settings: Settings) -> None:
    ws = _scored(settings)
    with session_scope(settings) as session:
        inventory = inventory_of(session, ws)
        eligible = {
            a.id: set(session.scalars(segment_query(ws, a.eligibility))) for a in inventory.actions
        }
        granted = set(
            session.execute(
                select(ChannelConsent.customer_id, ChannelConsent.channel).where(
                    ChannelConsent.status == "granted"
                )
            ).all()
        )
        customers = session.scalars(select(Customer.id).order_by(Customer.id)).all()
        decided = 0
        for customer_id in customers:
            decision = next_best_action(session, ws, customer_id, now=NOW).decision
            assert len(decision.actions) <= 3
            assert len(decision.actions) + len(decision.blocked) <= len(inventory.actions)
            for action in decision.actions:
                assert customer_id in eligible[action.action_id], (customer_id, action)
                assert (customer_id, action.channel) in granted, (customer_id, action)
                assert action.rationale.startswith("Because ")
            decided += bool(decision.actions)
        assert decided > len(customers) // 2

        # Pin one customer down: an at-risk buyer with every opt-in and a churn score.
        target = customers[0]
        for channel in ("email", "sms", "push", "in_app"):
            session.merge(
                ChannelConsent(
                    workspace_id=ws,
                    customer_id=target,
                    channel=channel,
                    status="granted",
                    source="test",
                    recorded_at=END - timedelta(days=100),
                )
            )
        session.merge(
            PropensityScore(
                workspace_id=ws,
                customer_id=target,
                as_of=END.date(),
                churn_risk=0.81,
                upgrade_propensity=0.02,
                churn_reasons=[
                    {
                        "code": "no_order",
                        "text": "no order for 52 days",
                        "value": 52,
                        "direction": "up",
                        "weight": 1.4,
                    },
                    {
                        "code": "opens",
                        "text": "opened 4 of 5 emails",
                        "value": 0.8,
                        "direction": "down",
                        "weight": 0.6,
                    },
                ],
                upgrade_reasons=[],
                churn_source="model",
                upgrade_source="model",
            )
        )
        session.flush()
        first = next_best_action(session, ws, target, now=NOW).decision
        offered = [a for a in first.actions if a.action_id == "email-winback-offer"]
        if target in eligible["email-winback-offer"]:
            assert offered and "no order for 52 days" in offered[0].rationale
            assert "opened 4 of 5" not in offered[0].rationale, "only risk-raising reasons"
        # Two touches this week use up the email cap; a bounce suppresses email outright.
        for days in (1, 3):
            session.add(
                CustomerTouch(
                    workspace_id=ws,
                    customer_id=target,
                    channel="email",
                    action_id="newsletter",
                    action_type="email",
                    occurred_at=NOW - timedelta(days=days, hours=1),
                )
            )
        session.flush()
        capped = next_best_action(session, ws, target, now=NOW).decision
        assert all(a.channel != "email" for a in capped.actions)
        reasons = {b.constraint for b in capped.blocked if b.action_id.startswith("email-")}
        assert reasons & {"cap_week", "cap_day"}
        session.add(
            EmailEvent(
                workspace_id=ws,
                customer_id=target,
                campaign_id="c-1",
                type="bounce",
                occurred_at=NOW - timedelta(days=40),
            )
        )
        session.flush()
        bounced = next_best_action(session, ws, target, now=NOW).decision
        assert {b.constraint for b in bounced.blocked if b.action_id == "email-winback-offer"} <= {
            "suppressed",
            "ineligible",
            "blackout",
        }
        with pytest.raises(NotFound):
            next_best_action(session, ws, "nobody", now=NOW)


def test_nba_over_a_scored_workspace_on_sqlite(settings):
    check(settings)


@pytest.mark.postgres
def test_nba_over_a_scored_workspace_on_postgres(tmp_path, postgres_url):
    check(Settings(data_dir=tmp_path / "d", database_url=postgres_url))


def test_a_stored_inventory_replaces_the_default(settings, tmp_path: Path):
    ws = _scored(settings)
    only_sms = tmp_path / "inventory.yaml"
    only_sms.write_text(
        "actions:\n"
        "  - {id: sms-hello, title: Hello, channel: sms, type: sms, goal: retain, value: 5,\n"
        "     eligibility: {orders.count: {gte: 1}}}\n"
        "channel_health: {sms: down}\n",
        encoding="utf-8",
    )
    with session_scope(settings) as session:
        inventory = set_inventory(session, ws, only_sms)
        customer = session.scalars(select(Customer.id)).first()
        decision = next_best_action(session, ws, customer, now=NOW).decision
        assert decision.inventory_version == inventory.version
        assert decision.actions == [] and decision.blocked[0].constraint == "channel_down"
        bad = tmp_path / "bad.yaml"
        bad.write_text(
            "actions:\n  - {id: x1, title: X, channel: sms, type: sms, goal: retain, value: 1,\n"
            "     eligibility: {rfm.composit: {gte: 1}}}\n",
            encoding="utf-8",
        )
        with pytest.raises(InvalidInput) as caught:
            set_inventory(session, ws, bad)
        assert "rfm.composit" in str(caught.value.field) + caught.value.message
        assert len(reset_inventory(session, ws).actions) == 12
