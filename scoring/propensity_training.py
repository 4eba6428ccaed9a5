"""Train a workspace's churn and upgrade models on its own history with a time split.

Per target with horizon H and data up to day D (the as-of day):
- train at cutoff C1 = D - 2H: features as of C1, labels from the H days after it;
- evaluate on the held-out window C2 = D - H (labels from the H days up to D, the newest
  fully observed): the model fitted at C1, the rules and a constant (C1's positive rate);
- refit at C2 for scoring today, so the stored model has seen the newest labels.
Too few labelled customers, positives or negatives at either cutoff stores the rules instead
(source "rules"), with the reason in its metrics. Nothing is committed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.ids import new_id
from core.models import PropensityModel
from scoring import propensity_model
from scoring.propensity_config import TARGETS, PropensityConfig
from scoring.propensity_inputs import CANDIDATES, FEATURE_COLUMNS, columns_from_rows, input_matrix
from scoring.propensity_labels import training_select
from scoring.propensity_rules import score_rules
from scoring.propensity_scoring import rules_parameters


@dataclass(frozen=True, slots=True)
class Window:
    """The labelled customers at one cutoff: ids (sorted), feature columns and labels."""

    cutoff: date
    customer_ids: np.ndarray
    columns: dict[str, np.ndarray]
    labels: np.ndarray

    @property
    def rows(self) -> int:
        return len(self.labels)

    @property
    def positives(self) -> int:
        return int(self.labels.sum())


@dataclass(frozen=True, slots=True)
class ModelSummary:
    """A stored model: which target, fitted or rules, the data day and held-out metrics."""

    id: str
    target: str
    source: str
    as_of: date
    metrics: dict[str, Any]


def read_window(
    session: Session, workspace_id: str, cutoff: date, target: str, config: PropensityConfig
) -> Window:
    """The training matrix at a cutoff, in one query."""
    statement = training_select(
        workspace_id,
        cutoff,
        target,
        config.horizon(target),
        config.upgrade_ratio,
        columns=FEATURE_COLUMNS,
    )
    rows = session.execute(statement).all()
    rows.sort(key=lambda row: row[0])
    ids = np.array([row[0] for row in rows], dtype=object)
    numbers = [row[1:] for row in rows]
    columns = columns_from_rows(numbers, [*FEATURE_COLUMNS, "label"])
    labels = columns.pop("label").astype(int)
    return Window(cutoff, ids, columns, labels)


def shortage(window: Window, config: PropensityConfig) -> str | None:
    """Why the window is too small to fit on, or None."""
    negatives = window.rows - window.positives
    if window.rows < config.min_rows:
        return f"{window.rows} labelled customers at {window.cutoff} ({config.min_rows} needed)"
    if min(window.positives, negatives) < config.min_class_rows:
        return (
            f"{window.positives} positives and {negatives} negatives at {window.cutoff} "
            f"({config.min_class_rows} of each needed)"
        )
    return None


def _figures(labels: np.ndarray, probability: np.ndarray) -> dict[str, Any]:
    return {
        "auc": propensity_model.auc(labels, probability),
        "brier": propensity_model.brier(labels, probability),
        "mean_predicted": float(probability.mean()) if len(probability) else None,
    }


def _fit(window: Window, target: str, config: PropensityConfig) -> dict[str, Any]:
    codes = list(CANDIDATES[target])
    return propensity_model.fit(
        input_matrix(window.columns, codes),
        window.labels,
        codes,
        CANDIDATES[target],
        regularization=config.regularization,
        folds=config.calibration_folds,
        seed=config.seed,
    )


def evaluate(
    train: Window, holdout: Window, target: str, config: PropensityConfig
) -> dict[str, Any]:
    """Fit at the train cutoff; the model's and its peers' figures on the held-out window."""
    parameters = _fit(train, target, config)
    codes = parameters["inputs"]
    model = propensity_model.score(parameters, input_matrix(holdout.columns, codes))
    rules = score_rules(target, holdout.columns)
    rate = train.positives / train.rows
    constant = np.full(holdout.rows, rate)
    metrics = {
        **_figures(holdout.labels, model.probability),
        "inputs": codes,
        "peers": {
            "rules": _figures(holdout.labels, rules.probability),
            "constant": _figures(holdout.labels, constant),
        },
    }
    return metrics


def train_target(
    session: Session, workspace_id: str, as_of: date, target: str, config: PropensityConfig
) -> PropensityModel:
    """Fit (or fall back to the rules for) one target and add the model to the session."""
    horizon = timedelta(days=config.horizon(target))
    train = read_window(session, workspace_id, as_of - 2 * horizon, target, config)
    holdout = read_window(session, workspace_id, as_of - horizon, target, config)
    metrics: dict[str, Any] = {
        "train_cutoff": train.cutoff.isoformat(),
        "train_rows": train.rows,
        "train_positives": train.positives,
        "holdout_cutoff": holdout.cutoff.isoformat(),
        "rows": holdout.rows,
        "positives": holdout.positives,
        "observed_rate": holdout.positives / holdout.rows if holdout.rows else None,
        "horizon_days": config.horizon(target),
    }
    problem = shortage(train, config) or shortage(holdout, config)
    if problem is None:
        metrics.update(evaluate(train, holdout, target, config))
        parameters = _fit(holdout, target, config)
        metrics.update(fit_cutoff=holdout.cutoff.isoformat(), fit_rows=holdout.rows)
        source = "model"
    else:
        rules = score_rules(target, holdout.columns).probability
        rate = train.positives / train.rows if train.rows else None
        constant = np.full(holdout.rows, rate if rate is not None else 0.0)
        metrics.update(
            **_figures(holdout.labels, rules),
            reason=f"too little data: {problem}",
            peers={"constant": _figures(holdout.labels, constant)} if rate is not None else {},
        )
        parameters = rules_parameters()
        source = "rules"
    model = PropensityModel(
        id=new_id("pm"),
        workspace_id=workspace_id,
        target=target,
        trained_at=utcnow(),
        as_of=as_of,
        source=source,
        parameters=parameters,
        metrics=metrics,
    )
    session.add(model)
    return model


def train_models(
    session: Session, workspace_id: str, as_of: date, config: PropensityConfig | None = None
) -> list[ModelSummary]:
    """Train and store a churn and an upgrade model on the data up to the as-of day."""
    config = config or PropensityConfig()
    summaries = []
    for target in TARGETS:
        model = train_target(session, workspace_id, as_of, target, config)
        summaries.append(ModelSummary(model.id, target, model.source, as_of, dict(model.metrics)))
    session.flush()
    return summaries
