"""Lifecycle stages: each rule places the customers it describes, a stage is held for the
minimum duration, history records every move, and re-running a day changes nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy import text as sql

from core.db import session_scope
from core.errors import InvalidInput
from core.models import LifecycleRun, LifecycleStage, LifecycleTransition
from core.settings import Settings
from scoring.lifecycle import HELD_RULE, LifecycleConfig
from scoring.lifecycle_job import write_lifecycle
from tests.scoring.feature_rows import add_customer, workspace_id

DAY = date(2026, 10, 1)

# customer id -> (features and scores, expected stage, expected rule)
CASES = {
    "gone": (
        {"orders_count": 4, "days_since_first_order": 400, "days_since_last_order": 200},
        "churned",
        "no_order_over_churn_days",
    ),
    "quiet": (
        {"orders_count": 4, "days_since_first_order": 300, "days_since_last_order": 45},
        "at_risk",
        "no_order_over_risk_days",
    ),
    "risky": (
        {
            "orders_count": 4,
            "days_since_first_order": 300,
            "days_since_last_order": 5,
            "churn_risk": 0.7,
        },
        "at_risk",
        "high_churn_risk",
    ),
    "fading": (
        {
            "orders_count": 9,
            "days_since_first_order": 300,
            "days_since_last_order": 20,
            "orders_90d": 1,
            "orders_prev_90d": 4,
            "engagement_trend": -0.8,
        },
        "at_risk",
        "declining_orders_and_engagement",
    ),
    "fan": (
        {
            "orders_count": 30,
            "days_since_first_order": 500,
            "days_since_last_order": 3,
            "composite": 50,
        },
        "advocacy",
        "loyal_high_value",
    ),
    "shopper": (
        {
            "orders_count": 5,
            "days_since_first_order": 200,
            "days_since_last_order": 10,
            "pricing_views_30d": 3,
        },
        "expansion",
        "pricing_interest",
    ),
    "likely": (
        {
            "orders_count": 5,
            "days_since_first_order": 200,
            "days_since_last_order": 10,
            "upgrade_propensity": 0.8,
        },
        "expansion",
        "upgrade_likely",
    ),
    "growing": (
        {
            "orders_count": 5,
            "days_since_first_order": 200,
            "days_since_last_order": 10,
            "orders_90d": 3,
            "orders_prev_90d": 1,
        },
        "expansion",
        "growing_orders",
    ),
    "newbie": (
        {"orders_count": 1, "days_since_first_order": 3, "days_since_last_order": 3},
        "activation",
        "first_purchase_recent",
    ),
    "once": (
        {"orders_count": 1, "days_since_first_order": 40, "days_since_last_order": 40},
        "activation",
        "single_purchase",
    ),
    "steady": (
        {
            "orders_count": 6,
            "days_since_first_order": 300,
            "days_since_last_order": 12,
            "orders_90d": 2,
            "orders_prev_90d": 2,
        },
        "retention",
        "repeat_buyer",
    ),
    "browser": ({"pricing_views_30d": 1}, "consideration", "shopping_without_purchase"),
    "carted": ({"open_cart_cents": 4900}, "consideration", "shopping_without_purchase"),
    "stranger": ({}, "awareness", "no_purchase_signal"),
}


def _load(session, ws: str, day: date, cases: dict) -> None:
    for customer_id, (values, _, _) in cases.items():
        add_customer(session, ws, customer_id, day, **values)


def _stages(session, ws: str) -> dict[str, tuple[str, str, date]]:
    return {
        s.customer_id: (s.stage, s.rule, s.since)
        for s in session.scalars(select(LifecycleStage).where(LifecycleStage.workspace_id == ws))
    }


def check_rules_and_holds(settings: Settings) -> None:
    with session_scope(settings) as session:
        ws = workspace_id(session)
        _load(session, ws, DAY, CASES)
        summary = write_lifecycle(session, ws, DAY)
        stages = _stages(session, ws)
    for customer_id, (_, stage, rule) in CASES.items():
        assert stages[customer_id] == (stage, rule, DAY), customer_id
    assert summary.changed == len(CASES) and summary.held == 0
    assert sum(summary.stages.values()) == len(CASES)

    # Three days later the quiet customer would move on: held, by the minimum stage duration.
    later = DAY + timedelta(days=3)
    back = {"orders_count": 5, "days_since_first_order": 303, "days_since_last_order": 1}
    with session_scope(settings) as session:
        add_customer(session, ws, "quiet", later, **back)
        summary = write_lifecycle(session, ws, later)
        assert _stages(session, ws)["quiet"] == ("at_risk", HELD_RULE, DAY)
    assert summary.changed == 0 and summary.held == 1

    # A week after entering the stage, the move happens and history records it.
    week = DAY + timedelta(days=7)
    with session_scope(settings) as session:
        add_customer(session, ws, "quiet", week, **back)
        first = write_lifecycle(session, ws, week)
    with session_scope(settings) as session:
        again = write_lifecycle(session, ws, week)  # a re-run of the day changes nothing
        stage = session.get(LifecycleStage, (ws, "quiet"))
        moves = session.execute(
            select(LifecycleTransition.stage, LifecycleTransition.previous_stage)
            .where(LifecycleTransition.customer_id == "quiet")
            .order_by(LifecycleTransition.entered_on)
        ).all()
    assert (stage.stage, stage.previous_stage, stage.since) == ("retention", "at_risk", week)
    assert moves == [("at_risk", None), ("retention", "at_risk")]
    assert first == again and first.changed == 1


def test_rules_holds_and_history_on_sqlite(settings):
    check_rules_and_holds(settings)


@pytest.mark.postgres
def test_rules_holds_and_history_on_postgres(tmp_path, postgres_url):
    check_rules_and_holds(Settings(data_dir=tmp_path / "d", database_url=postgres_url))


def test_thresholds_are_configurable(settings):
    with session_scope(settings) as session:
        ws = workspace_id(session)
        _load(session, ws, DAY, {"quiet": CASES["quiet"]})
        write_lifecycle(session, ws, DAY, LifecycleConfig(at_risk_after_days=60))
        assert _stages(session, ws)["quiet"][0] == "retention"


def test_no_minimum_duration_lets_a_stage_change_the_next_day(settings):
    config = LifecycleConfig(min_stage_days=0)
    with session_scope(settings) as session:
        ws = workspace_id(session)
        _load(session, ws, DAY, {"quiet": CASES["quiet"]})
        write_lifecycle(session, ws, DAY, config)
        add_customer(session, ws, "quiet", DAY, orders_count=5, days_since_last_order=1)
        write_lifecycle(session, ws, DAY + timedelta(days=1), config)
        assert _stages(session, ws)["quiet"][0] == "retention"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"at_risk_after_days": 200}, "lifecycle.at_risk_after_days"),
        ({"at_risk_churn_risk": 1.5}, "lifecycle.at_risk_churn_risk"),
        ({"min_stage_days": -1}, "lifecycle.min_stage_days"),
    ],
)
def test_config_is_validated(change, field):
    with pytest.raises(InvalidInput) as caught:
        LifecycleConfig(**change)
    assert caught.value.field == field


def test_thresholds_load_from_yaml_with_named_errors(tmp_path):
    from scoring.lifecycle import load_lifecycle_config

    good = tmp_path / "lifecycle.yaml"
    good.write_text("at_risk_after_days: 60\nat_risk_churn_risk: 0.7\nmin_stage_days: 14\n")
    config = load_lifecycle_config(good)
    assert (config.at_risk_after_days, config.at_risk_churn_risk, config.min_stage_days) == (
        60,
        0.7,
        14,
    )
    for text, field in [
        ("at_risk_after_dayz: 60\n", "lifecycle.at_risk_after_dayz"),
        ("min_stage_days: soon\n", "lifecycle.min_stage_days"),
        ("min_stage_days: 1.5\n", "lifecycle.min_stage_days"),
        ("at_risk_after_days: 500\n", "lifecycle.at_risk_after_days"),
        ("- a list\n", "--lifecycle"),
    ]:
        bad = tmp_path / "bad.yaml"
        bad.write_text(text)
        with pytest.raises(InvalidInput) as caught:
            load_lifecycle_config(bad)
        assert caught.value.field == field, text


def _record_stage_writes(session) -> None:
    """Note in a table `stage_writes` the customer of every row inserted, updated or deleted
    in lifecycle_stages from now on (this connection on SQLite; this schema on PostgreSQL)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(sql("CREATE TEMP TABLE stage_writes (customer_id TEXT)"))
        for event, row in (("INSERT", "new"), ("UPDATE", "new"), ("DELETE", "old")):
            session.execute(
                sql(
                    f"CREATE TEMP TRIGGER stage_{event.lower()} AFTER {event} ON "
                    f"lifecycle_stages BEGIN INSERT INTO stage_writes VALUES "
                    f"({row}.customer_id); END"
                )
            )
        return
    session.execute(sql("CREATE TABLE stage_writes (customer_id TEXT)"))
    session.execute(
        sql(
            "CREATE FUNCTION note_stage_write() RETURNS trigger AS $$ BEGIN "
            "INSERT INTO stage_writes VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.customer_id "
            "ELSE NEW.customer_id END); RETURN NULL; END $$ LANGUAGE plpgsql"
        )
    )
    session.execute(
        sql(
            "CREATE TRIGGER stage_writes AFTER INSERT OR UPDATE OR DELETE ON lifecycle_stages "
            "FOR EACH ROW EXECUTE FUNCTION note_stage_write()"
        )
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db(request, tmp_path) -> Settings:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    return Settings(data_dir=tmp_path / "data", database_url=url)


def test_a_day_writes_only_the_customers_whose_stage_changed(any_db):
    config = LifecycleConfig(min_stage_days=0)
    next_day = DAY + timedelta(days=1)
    with session_scope(any_db) as session:
        ws = workspace_id(session)
        _load(session, ws, DAY, CASES)
        write_lifecycle(session, ws, DAY, config)
        before = _stages(session, ws)
    with session_scope(any_db) as session:
        _load(session, ws, next_day, CASES)  # the same features, a day later
        add_customer(session, ws, "quiet", next_day, orders_count=5, days_since_last_order=1)
        add_customer(session, ws, "newcomer", next_day, pricing_views_30d=2)
        session.flush()
        _record_stage_writes(session)
        summary = write_lifecycle(session, ws, next_day, config)
        written = set(session.scalars(sql("SELECT customer_id FROM stage_writes")))
        after = _stages(session, ws)
        run = session.get(LifecycleRun, ws)
    assert written == {"quiet", "newcomer"}
    assert after == {
        **before,
        "quiet": ("retention", "repeat_buyer", next_day),
        "newcomer": ("consideration", "shopping_without_purchase", next_day),
    }
    assert summary.changed == 2 and run is not None and run.as_of == next_day


def _history(session, ws: str, customer_id: str) -> list[tuple[str, str | None, date]]:
    return [
        tuple(row)
        for row in session.execute(
            select(
                LifecycleTransition.stage,
                LifecycleTransition.previous_stage,
                LifecycleTransition.entered_on,
            )
            .where(
                LifecycleTransition.workspace_id == ws,
                LifecycleTransition.customer_id == customer_id,
            )
            .order_by(LifecycleTransition.entered_on)
        )
    ]


def test_the_history_stands_in_where_the_stored_stage_cannot(any_db):
    """The previous stage is the stored one where it began before the day; a customer whose
    features were gone for a day (no stored stage) and a re-run of an earlier day (a stored
    stage from a later, forgotten day) are decided from their latest history row instead."""
    config = LifecycleConfig(min_stage_days=0)
    quiet = CASES["quiet"][0]  # at_risk
    steady = CASES["steady"][0]  # retention
    with session_scope(any_db) as session:
        ws = workspace_id(session)
        add_customer(session, ws, "away", DAY, **quiet)
        add_customer(session, ws, "mover", DAY, **quiet)
        write_lifecycle(session, ws, DAY, config)
    with session_scope(any_db) as session:  # away's features are gone for a day
        session.execute(sql("DELETE FROM customer_features WHERE customer_id = 'away'"))
        add_customer(session, ws, "mover", DAY + timedelta(days=1), **quiet)
        write_lifecycle(session, ws, DAY + timedelta(days=1), config)
        assert "away" not in _stages(session, ws)
    with session_scope(any_db) as session:  # back, still at risk: no new stage, no move
        add_customer(session, ws, "away", DAY + timedelta(days=2), **quiet)
        add_customer(session, ws, "mover", DAY + timedelta(days=8), **steady)
        summary = write_lifecycle(session, ws, DAY + timedelta(days=8), config)
        stages = _stages(session, ws)
        assert stages["away"] == ("at_risk", "no_order_over_risk_days", DAY)
        assert stages["mover"] == ("retention", "repeat_buyer", DAY + timedelta(days=8))
        assert summary.changed == 1
    with session_scope(any_db) as session:  # day 4 again: day 8's move is forgotten
        add_customer(session, ws, "mover", DAY + timedelta(days=4), **quiet)
        write_lifecycle(session, ws, DAY + timedelta(days=4), config)
        assert _stages(session, ws)["mover"] == ("at_risk", "no_order_over_risk_days", DAY)
        stored = session.get(LifecycleStage, (ws, "mover"))
        assert stored.previous_stage is None
        assert _history(session, ws, "mover") == [("at_risk", None, DAY)]
        assert _history(session, ws, "away") == [("at_risk", None, DAY)]
