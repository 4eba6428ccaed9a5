"""A calibrated logistic regression, fitted with scikit-learn and scored with numpy alone.

Stored as plain numbers (JSON). Fitting: unknown inputs are filled with the training mean,
inputs are clipped to the training range and standardized; an L2 logistic regression is
fitted; an input whose coefficient comes out against its expected direction is dropped and
the rest refitted, until none is. Calibration is Platt scaling of out-of-fold decision values
(stratified k-fold), so the probabilities are not the overconfident in-sample ones. Each
input's contribution to a customer's log-odds is coefficient x standardized deviation from
the training mean (times calibration's slope), which is what the reason codes rank.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

KIND = "logistic"
VERSION = 1


@dataclass(frozen=True, slots=True)
class Scored:
    """Probabilities (n) and the log-odds contribution of each input (n x inputs)."""

    probability: np.ndarray
    contributions: np.ndarray
    codes: tuple[str, ...]


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -500, 500)))


def _prepare(matrix: np.ndarray) -> tuple[np.ndarray, ...]:
    """Fill, clip and standardize; returns z and (impute, low, high, mean, scale)."""
    with np.errstate(all="ignore"):
        impute = np.nan_to_num(np.nanmean(matrix, axis=0), nan=0.0)
        low = np.nan_to_num(np.nanmin(matrix, axis=0), nan=0.0)
        high = np.nan_to_num(np.nanmax(matrix, axis=0), nan=0.0)
    filled = np.where(np.isnan(matrix), impute, matrix)
    mean = filled.mean(axis=0)
    scale = filled.std(axis=0)
    scale[scale == 0] = 1.0
    return (filled - mean) / scale, impute, low, high, mean, scale


def _logistic(regularization: float, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(
        C=regularization, solver="newton-cholesky", max_iter=200, random_state=seed
    )


def fit(
    matrix: np.ndarray,
    labels: np.ndarray,
    codes: Sequence[str],
    directions: Mapping[str, int],
    *,
    regularization: float = 1.0,
    folds: int = 5,
    seed: int = 0,
) -> dict[str, Any]:
    """The parameters of a calibrated logistic regression on the inputs (customers x codes)."""
    from threadpoolctl import threadpool_limits

    # A dozen inputs: one BLAS thread is faster than waking several, and gives the same bits.
    with threadpool_limits(limits=1):
        return _fit(matrix, labels, codes, directions, regularization, folds, seed)


def _fit(
    matrix: np.ndarray,
    labels: np.ndarray,
    codes: Sequence[str],
    directions: Mapping[str, int],
    regularization: float,
    folds: int,
    seed: int,
) -> dict[str, Any]:
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    y = labels.astype(int)
    z_all, impute, low, high, mean, scale = _prepare(matrix)
    keep = list(range(len(codes)))
    while True:
        model = _logistic(regularization, seed).fit(z_all[:, keep], y)
        coef = model.coef_[0]
        against = [
            (coef[j] * directions.get(codes[k], 0), j)
            for j, k in enumerate(keep)
            if coef[j] * directions.get(codes[k], 0) < 0
        ]
        if not against or len(keep) == 1:
            break
        keep.pop(min(against)[1])
    z = z_all[:, keep]
    folds = max(2, min(folds, int(np.bincount(y, minlength=2).min())))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    decision = cross_val_predict(
        _logistic(regularization, seed), z, y, cv=splitter, method="decision_function"
    )
    platt = _logistic(1e6, seed).fit(decision.reshape(-1, 1), y)
    return {
        "kind": KIND,
        "version": VERSION,
        "inputs": [codes[k] for k in keep],
        "impute": impute[keep].tolist(),
        "low": low[keep].tolist(),
        "high": high[keep].tolist(),
        "mean": mean[keep].tolist(),
        "scale": scale[keep].tolist(),
        "coef": coef.tolist(),
        "intercept": float(model.intercept_[0]),
        "calibration": {
            "method": "platt",
            "slope": float(platt.coef_[0][0]),
            "offset": float(platt.intercept_[0]),
        },
        "dropped": [codes[k] for k in range(len(codes)) if k not in keep],
        "regularization": regularization,
    }


def score(parameters: Mapping[str, Any], matrix: np.ndarray) -> Scored:
    """Calibrated probabilities and contributions for inputs in `parameters["inputs"]` order."""
    impute = np.asarray(parameters["impute"], dtype=float)
    filled = np.where(np.isnan(matrix), impute, matrix)
    clipped = np.clip(filled, parameters["low"], parameters["high"])
    z = (clipped - np.asarray(parameters["mean"])) / np.asarray(parameters["scale"])
    slope = parameters["calibration"]["slope"]
    contributions = slope * z * np.asarray(parameters["coef"], dtype=float)
    logit = slope * parameters["intercept"] + parameters["calibration"]["offset"]
    probability = sigmoid(logit + contributions.sum(axis=1))
    return Scored(probability, contributions, tuple(parameters["inputs"]))


def auc(labels: np.ndarray, probability: np.ndarray) -> float | None:
    """Area under the ROC curve (ties count half); None without both classes."""
    y = labels.astype(bool)
    positives, negatives = int(y.sum()), int((~y).sum())
    if not positives or not negatives:
        return None
    order = np.argsort(probability, kind="stable")
    ranks = np.empty(len(y))
    sorted_p = probability[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_p, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(average, counts)
    return float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def brier(labels: np.ndarray, probability: np.ndarray) -> float | None:
    """Mean squared error of the probabilities; None without rows."""
    if not len(labels):
        return None
    return float(np.mean((probability - labels.astype(float)) ** 2))
