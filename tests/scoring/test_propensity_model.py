"""The calibrated logistic regression: fitted by scikit-learn, scored by numpy from stored
numbers alone; metrics equal scikit-learn's; inputs against their direction are dropped."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score

from scoring.propensity_model import auc, brier, fit, score, sigmoid


def synthetic(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three inputs: a strong positive one, a weak negative one, pure noise; some unknown."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)) * [2.0, 1.0, 1.0] + [5.0, 0.0, 0.0]
    logit = -1.0 + 1.2 * (x[:, 0] - 5.0) - 0.5 * x[:, 1]
    y = (rng.random(n) < sigmoid(logit)).astype(int)
    x[rng.random(n) < 0.05, 1] = np.nan
    return x, y


def test_parameters_are_plain_numbers_and_score_the_same_after_json():
    x, y = synthetic()
    codes = ["strong", "weak", "noise"]
    parameters = fit(x, y, codes, {"strong": 1, "weak": -1, "noise": 0})
    again = json.loads(json.dumps(parameters))
    first, second = score(parameters, x), score(again, x)
    assert np.array_equal(first.probability, second.probability)
    assert parameters["inputs"] == codes and parameters["dropped"] == []
    coef = dict(zip(parameters["inputs"], parameters["coef"], strict=True))
    assert coef["strong"] > 0 > coef["weak"]
    assert abs(coef["noise"]) < 0.1


def test_contributions_add_up_to_the_calibrated_log_odds():
    x, y = synthetic()
    parameters = fit(x, y, ["a", "b", "c"], {})
    scored = score(parameters, x)
    calibration = parameters["calibration"]
    base = calibration["slope"] * parameters["intercept"] + calibration["offset"]
    assert np.allclose(sigmoid(base + scored.contributions.sum(axis=1)), scored.probability)
    # an unknown value is filled with the training mean: it contributes nothing
    unknown = np.isnan(x[:, 1])
    assert unknown.any() and np.allclose(scored.contributions[unknown, 1], 0.0)


def test_calibrated_on_fresh_data():
    x, y = synthetic(seed=1)
    parameters = fit(x, y, ["a", "b", "c"], {})
    fresh_x, fresh_y = synthetic(seed=2)
    p = score(parameters, fresh_x).probability
    assert abs(p.mean() - fresh_y.mean()) < 0.02
    assert brier(fresh_y, p) < brier(fresh_y, np.full(len(p), y.mean())) * 0.8
    # the probabilities mean what they say: in each fifth by score, observed ~ predicted
    order = np.argsort(p)
    for part in np.array_split(order, 5):
        assert abs(p[part].mean() - fresh_y[part].mean()) < 0.05


def test_an_input_against_its_direction_is_dropped_and_the_rest_refitted():
    x, y = synthetic()
    parameters = fit(x, y, ["strong", "weak", "noise"], {"strong": 1, "weak": 1})
    assert parameters["dropped"] == ["weak"]
    assert parameters["inputs"] == ["strong", "noise"]
    assert score(parameters, x[:, [0, 2]]).contributions.shape == (len(y), 2)


def test_values_beyond_the_training_range_are_clipped():
    x, y = synthetic()
    parameters = fit(x, y, ["a", "b", "c"], {})
    extreme = np.array([[1e9, 0.0, 0.0], [parameters["high"][0], 0.0, 0.0]])
    scored = score(parameters, extreme)
    assert scored.probability[0] == scored.probability[1]


def test_fitting_is_deterministic():
    x, y = synthetic()
    assert fit(x, y, ["a", "b", "c"], {}) == fit(x, y, ["a", "b", "c"], {})


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_and_brier_equal_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 500)
    p = np.round(rng.random(500) * 0.5 + y * 0.3, 1)  # many ties
    assert auc(y, p) == pytest.approx(roc_auc_score(y, p))
    assert brier(y, p) == pytest.approx(brier_score_loss(y, p))


def test_metrics_without_both_classes_or_rows():
    assert auc(np.ones(5), np.linspace(0, 1, 5)) is None
    assert brier(np.zeros(0), np.zeros(0)) is None
