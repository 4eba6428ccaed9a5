"""Each decision `next_best_action` serves is logged in its caller's transaction, on SQLite and
PostgreSQL: the top action, channel and confidence (or none), and nothing when not asked to."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.db import session_scope
from core.models import ChannelConsent, NbaDecision
from scoring.action_store import set_inventory
from scoring.nba_context import next_best_action
from tests.journeys.analytics_records import DB_PARAMS, D, Records, T, db_settings_for


@pytest.fixture(params=DB_PARAMS)
def db(request, tmp_path):
    return db_settings_for(request, tmp_path)


def _logged(session, workspace_id):
    return session.execute(
        select(
            NbaDecision.customer_id,
            NbaDecision.action_id,
            NbaDecision.channel,
            NbaDecision.confidence,
            NbaDecision.inventory_version,
            NbaDecision.decided_at,
        ).where(NbaDecision.workspace_id == workspace_id)
    ).all()


INVENTORY = """\
actions:
  - id: email-newsletter
    title: "Monthly newsletter"
    channel: email
    type: email
    goal: nurture
    value: 5
    cooldown_days: 7
"""


def test_each_served_decision_is_logged(db, tmp_path):
    inventory = tmp_path / "actions.yaml"
    inventory.write_text(INVENTORY, encoding="utf-8")
    with session_scope(db) as session:
        r = Records.new(session, "acme")
        set_inventory(session, r.workspace_id, inventory)
        reachable, unreachable = r.c("reachable"), r.c("unreachable")
        for channel in ("email", "sms", "push", "in_app"):
            session.add(
                ChannelConsent(
                    workspace_id=r.workspace_id,
                    customer_id=reachable,
                    channel=channel,
                    status="granted",
                    source="test",
                    recorded_at=T - 100 * D,
                )
            )
    with session_scope(db) as session:
        top = next_best_action(session, r.workspace_id, "reachable", T).decision
        none = next_best_action(session, r.workspace_id, "unreachable", T).decision
        next_best_action(session, r.workspace_id, "reachable", T, record=False)
    assert top.primary is not None and none.primary is None  # no opt-in: nothing passes
    with session_scope(db) as session:
        rows = sorted(_logged(session, r.workspace_id), key=lambda row: row.action_id or "")
    assert [tuple(row) for row in rows] == [
        (unreachable, None, None, None, none.inventory_version, T),
        (
            reachable,
            top.primary.action_id,
            top.primary.channel,
            pytest.approx(top.primary.confidence),
            top.inventory_version,
            T,
        ),
    ]


def test_the_log_rolls_back_with_its_transaction(db):
    with session_scope(db) as session:
        r = Records.new(session, "acme")
        r.c("someone")
    with pytest.raises(RuntimeError), session_scope(db) as session:
        next_best_action(session, r.workspace_id, "someone", T)
        raise RuntimeError("the caller fails after deciding")
    with session_scope(db) as session:
        assert session.scalar(select(func.count()).select_from(NbaDecision)) == 0
