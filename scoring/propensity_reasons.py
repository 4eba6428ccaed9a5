"""Reason codes: each customer's largest score drivers, with direction, size and words.

A reason is `{code, text, value, direction, weight}`: the input or rule, what the customer's
real values are ("no order for 52 days"), the raw value it is about, whether it pushes the
score "up" or "down", and the size of the push on the log-odds scale (model: coefficient x
standardized deviation from the training mean after calibration; rules: the rule's points).
Drivers are ranked by size; those that do not move the score are left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from scoring.propensity_inputs import INPUTS
from scoring.propensity_model import Scored

MIN_WEIGHT = 1e-6


def top_reasons(
    scored: Scored, columns: Mapping[str, np.ndarray], k: int = 3, currency: str = "USD"
) -> list[list[dict[str, Any]]]:
    """Per customer, up to k reasons, largest first (ties: the input's order)."""
    contributions = scored.contributions
    n = contributions.shape[0]
    if not n or not scored.codes:
        return [[] for _ in range(n)]
    size = np.abs(contributions)
    order = np.argsort(-size, axis=1, kind="stable")[:, :k]
    chosen = np.take_along_axis(contributions, order, axis=1)
    inputs = [INPUTS[code] for code in scored.codes]
    lists = {name: columns[name].tolist() for spec in inputs for name in spec.columns}
    inputs_columns = [[lists[name] for name in spec.columns] for spec in inputs]
    # Texts depend on a few counts, so most customers share them: each is made once.
    made: dict[tuple[Any, ...], tuple[str, Any]] = {}
    reasons: list[list[dict[str, Any]]] = []
    for i, (picked, weights) in enumerate(zip(order.tolist(), chosen.tolist(), strict=True)):
        mine = []
        for j, weight in zip(picked, weights, strict=True):
            if abs(weight) < MIN_WEIGHT:
                break
            key = (j, *(values[i] for values in inputs_columns[j]))
            words = made.get(key)
            if words is None:
                spec = inputs[j]
                raw = dict(zip(spec.columns, key[1:], strict=True))
                words = made[key] = (spec.text(raw, currency), spec.value(raw))
            mine.append(
                {
                    "code": scored.codes[j],
                    "text": words[0],
                    "value": words[1],
                    "direction": "up" if weight > 0 else "down",
                    "weight": round(abs(weight), 3),
                }
            )
        reasons.append(mine)
    return reasons
