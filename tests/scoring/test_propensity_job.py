"""Training and scoring on the demo data, on SQLite and PostgreSQL: the model beats the rules
and a constant on the held-out window, is calibrated, scores every active customer with
reasons built from their own values, retrains by age, and falls back to the rules on thin
data; the same data gives the same scores."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import delete, func, select

from core import workspaces
from core.db import session_scope
from core.errors import Conflict
from core.models import Customer, CustomerFeatures, PropensityModel, PropensityScore
from core.settings import Settings
from scoring.features_job import write_features
from scoring.propensity_config import PropensityConfig
from scoring.propensity_inputs import FEATURE_COLUMNS, INPUTS
from scoring.propensity_job import propensities_of, write_propensities
from scoring.propensity_training import train_models
from tests.scoring.propensity_helpers import AS_OF, demo


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, str]:
    """1,500 customers and 30,000 orders over two years, loaded once (read-mostly)."""
    path: Path = tmp_path_factory.mktemp("propensity-shop")
    settings = Settings(data_dir=path, database_url=f"sqlite:///{path / 'shop.db'}")
    return settings, demo(settings, "shop", customers=1500, orders=30000)


def score_day(settings: Settings, workspace_id: str, as_of=AS_OF, config=None) -> int:
    with session_scope(settings) as session:
        write_features(session, workspace_id, as_of)
        return write_propensities(session, workspace_id, as_of, config)


def stored_scores(settings: Settings, workspace_id: str) -> dict[str, tuple]:
    with session_scope(settings) as session:
        return {
            user_id: (s.churn_risk, s.upgrade_propensity, s.churn_reasons, s.upgrade_reasons)
            for s, user_id in session.execute(
                select(PropensityScore, Customer.user_id)
                .join(Customer, Customer.id == PropensityScore.customer_id)
                .where(PropensityScore.workspace_id == workspace_id)
            )
        }


def check_held_out(summaries) -> None:
    assert [s.target for s in summaries] == ["churn", "upgrade"]
    for summary in summaries:
        m = summary.metrics
        rules, constant = m["peers"]["rules"], m["peers"]["constant"]
        assert summary.source == "model", m
        assert m["auc"] > 0.8 and m["auc"] > rules["auc"] + 0.01, (summary.target, m)
        assert m["brier"] < constant["brier"] * 0.8 and m["brier"] < rules["brier"], m
        assert abs(m["mean_predicted"] - m["observed_rate"]) < 0.05, m
        assert m["rows"] > 500 and 0 < m["positives"] < m["rows"]
        assert m["holdout_cutoff"] == (AS_OF - timedelta(days=m["horizon_days"])).isoformat()
        assert m["train_cutoff"] == (AS_OF - timedelta(days=2 * m["horizon_days"])).isoformat()


def test_the_model_beats_the_rules_and_a_constant_on_the_held_out_window(shop):
    settings, workspace_id = shop
    with session_scope(settings) as session:
        summaries = train_models(session, workspace_id, AS_OF)
        session.rollback()  # leave the shared workspace untrained
    check_held_out(summaries)
    churn = summaries[0].metrics
    assert "recency" in churn["inputs"] or "overdue" in churn["inputs"]
    assert "pricing_views_7d" in summaries[1].metrics["inputs"]


def _contributions(parameters: dict, features: dict[str, float]) -> dict[str, float]:
    """The reason weights recomputed from the stored numbers, independently of the code."""
    from scoring.propensity_inputs import input_matrix

    columns = {name: np.array([features[name]], dtype=float) for name in FEATURE_COLUMNS}
    x = input_matrix(columns, parameters["inputs"])[0]
    x = np.where(np.isnan(x), parameters["impute"], x)
    x = np.clip(x, parameters["low"], parameters["high"])
    z = (x - np.array(parameters["mean"])) / np.array(parameters["scale"])
    weights = parameters["calibration"]["slope"] * np.array(parameters["coef"]) * z
    return dict(zip(parameters["inputs"], weights.tolist(), strict=True))


def test_every_active_customer_is_scored_with_reasons_from_their_own_values(shop):
    settings, workspace_id = shop
    assert score_day(settings, workspace_id) == 1500
    with session_scope(settings) as session:
        models = {
            m.target: m
            for m in session.scalars(
                select(PropensityModel).where(PropensityModel.workspace_id == workspace_id)
            )
        }
        assert set(models) == {"churn", "upgrade"}
        assert all(m.source == "model" and m.as_of == AS_OF for m in models.values())
        json.dumps([m.parameters for m in models.values()])  # plain numbers only
        features = {
            f.customer_id: {name: getattr(f, name) for name in FEATURE_COLUMNS}
            for f in session.scalars(select(CustomerFeatures))
        }
        scores = session.scalars(select(PropensityScore)).all()
        active = session.scalar(
            select(func.count()).select_from(Customer).where(Customer.merged_into.is_(None))
        )
    assert len(scores) == active == len(features)
    for score in scores:
        assert score.as_of == AS_OF and 0 <= score.churn_risk <= 1
        assert score.churn_source == score.upgrade_source == "model"
        mine = features[score.customer_id]
        for target, reasons in (("churn", score.churn_reasons), ("upgrade", score.upgrade_reasons)):
            weights = _contributions(models[target].parameters, mine)
            largest = sorted(weights, key=lambda code: -abs(weights[code]))[: len(reasons)]
            assert 1 <= len(reasons) <= 3
            assert [r["code"] for r in reasons] == largest
            for reason in reasons:
                weight = weights[reason["code"]]
                assert reason["weight"] == pytest.approx(abs(weight), abs=1e-3)
                assert reason["direction"] == ("up" if weight > 0 else "down")
                raw = {
                    name: np.nan if mine[name] is None else mine[name]
                    for name in INPUTS[reason["code"]].columns
                }
                assert reason["text"] == INPUTS[reason["code"]].text(raw, "USD")
    # the words quote the customer's numbers
    by_code = [
        (r, features[s.customer_id]) for s in scores for r in s.churn_reasons + s.upgrade_reasons
    ]
    views = [(r, f) for r, f in by_code if r["code"] == "pricing_views_7d" and r["value"]]
    assert views, "somebody's pricing-page views drive a score"
    for reason, values in views:
        assert reason["text"].startswith(f"{values['pricing_views_7d']} pricing-page view")
    lapsed = [(r, f) for r, f in by_code if r["text"].startswith("no order for")]
    assert lapsed
    for reason, values in lapsed:
        assert reason["text"].startswith(f"no order for {values['days_since_last_order']} days")


def test_same_data_same_scores_and_models_are_reused_until_they_age(shop):
    settings, workspace_id = shop
    score_day(settings, workspace_id)
    first = stored_scores(settings, workspace_id)
    score_day(settings, workspace_id)
    assert stored_scores(settings, workspace_id) == first

    def models() -> list:
        with session_scope(settings) as session:
            return session.execute(
                select(PropensityModel.target, PropensityModel.as_of, PropensityModel.parameters)
                .where(PropensityModel.workspace_id == workspace_id)
                .order_by(PropensityModel.trained_at)
            ).all()

    count = len(models())
    score_day(settings, workspace_id, AS_OF + timedelta(days=10))
    assert len(models()) == count, "a 10-day-old model is reused"
    score_day(settings, workspace_id, AS_OF + timedelta(days=31))
    newest = models()
    assert len(newest) == count + 2 and {m.as_of for m in newest[-2:]} == {AS_OF + timedelta(31)}
    # retrained on the same data: the same numbers, so the same scores
    with session_scope(settings) as session:
        train_models(session, workspace_id, AS_OF)
    again = models()[-2:]
    assert [m.parameters for m in again] == [m.parameters for m in newest[: len(again)]]
    score_day(settings, workspace_id)
    assert stored_scores(settings, workspace_id) == first


def test_stale_or_missing_features_are_refused(shop):
    settings, workspace_id = shop
    with session_scope(settings) as session:
        write_features(session, workspace_id, AS_OF)
    with (
        pytest.raises(Conflict, match="features are as of") as caught,
        session_scope(settings) as session,
    ):
        write_propensities(session, workspace_id, AS_OF + timedelta(days=1))
    assert caught.value.field == "as_of"
    with (
        pytest.raises(Conflict, match="cover 0 of 1500 active customers"),
        session_scope(settings) as session,
    ):
        session.execute(delete(CustomerFeatures))  # rolled back with the error
        write_propensities(session, workspace_id, AS_OF)


def test_an_empty_workspace_scores_nobody(settings):
    with session_scope(settings) as session:
        workspace, _ = workspaces.get_or_create(session, "empty")
        summaries = train_models(session, workspace.id, AS_OF)
        assert write_propensities(session, workspace.id, AS_OF) == 0
    assert {s.source for s in summaries} == {"rules"}
    assert summaries[0].metrics["rows"] == 0


def test_one_customer_reads_back_with_a_headline_and_a_rationale(shop):
    settings, workspace_id = shop
    score_day(settings, workspace_id)
    with session_scope(settings) as session:
        risky = session.scalars(
            select(PropensityScore.customer_id).order_by(PropensityScore.churn_risk.desc())
        ).first()
        result = propensities_of(session, workspace_id, risky)
        assert propensities_of(session, workspace_id, "cus_nobody") is None
    assert result is not None and result.churn_risk > 0.9
    percent = round(100 * result.upgrade_propensity)
    assert (
        result.headline()
        == f"Churn risk: {round(100 * result.churn_risk)}% | Upgrade probability: {percent}%"
    )
    assert result.rationale("churn").startswith("Because of ")
    assert result.churn_reasons[0].text in result.rationale("churn")
    assert result.churn_reasons[0].direction == "up"


def check_fallback(settings: Settings) -> None:
    workspace_id = demo(settings, "tiny", customers=40, orders=400)
    assert score_day(settings, workspace_id) == 40
    with session_scope(settings) as session:
        models = session.scalars(select(PropensityModel)).all()
        scores = session.scalars(select(PropensityScore)).all()
    assert {(m.target, m.source) for m in models} == {("churn", "rules"), ("upgrade", "rules")}
    for model in models:
        assert model.metrics["reason"].startswith("too little data: ")
        assert "(200 needed)" in model.metrics["reason"]
    assert len(scores) == 40
    assert {(s.churn_source, s.upgrade_source) for s in scores} == {("rules", "rules")}
    assert all(s.churn_reasons and 0 < s.churn_risk < 1 for s in scores)
    assert all(
        {"code", "text", "value", "direction", "weight"} == set(r) for r in scores[0].churn_reasons
    )


def test_too_little_data_falls_back_to_the_rules_on_sqlite(settings):
    check_fallback(settings)


@pytest.mark.postgres
def test_too_little_data_falls_back_to_the_rules_on_postgres(tmp_path, postgres_url):
    check_fallback(Settings(data_dir=tmp_path / "d", database_url=postgres_url))


def test_thresholds_are_configurable(settings):
    workspace_id = demo(settings, "tiny", customers=40, orders=400)
    config = PropensityConfig(min_rows=10, min_class_rows=2)
    with session_scope(settings) as session:
        summaries = train_models(session, workspace_id, AS_OF, config)
    assert {s.source for s in summaries} == {"model"}


@pytest.mark.postgres
def test_postgres_trains_and_scores_like_sqlite(tmp_path, postgres_url):
    """The same data on both databases: the same models and the same scores."""
    postgres = Settings(data_dir=tmp_path / "pg", database_url=postgres_url)
    sqlite = Settings(data_dir=tmp_path / "lite")
    scores = {}
    for name, settings in (("postgres", postgres), ("sqlite", sqlite)):
        workspace_id = demo(settings, "shop", customers=800, orders=16000)
        with session_scope(settings) as session:
            summaries = train_models(session, workspace_id, AS_OF)
        check_held_out(summaries)
        assert score_day(settings, workspace_id) == 800
        scores[name] = stored_scores(settings, workspace_id)
    assert scores["postgres"].keys() == scores["sqlite"].keys()
    for user_id, (churn, upgrade, churn_reasons, upgrade_reasons) in scores["sqlite"].items():
        other = scores["postgres"][user_id]
        assert other[0] == pytest.approx(churn, abs=1e-9)
        assert other[1] == pytest.approx(upgrade, abs=1e-9)
        assert [r["text"] for r in other[2]] == [r["text"] for r in churn_reasons]
        assert [r["text"] for r in other[3]] == [r["text"] for r in upgrade_reasons]
