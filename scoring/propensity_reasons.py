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
    needed = {column for code in scored.codes for column in INPUTS[code].columns}
    values = {name: columns[name].tolist() for name in needed}
    order_list, chosen_list = order.tolist(), chosen.tolist()
    inputs = [INPUTS[code] for code in scored.codes]
    reasons: list[list[dict[str, Any]]] = []
    for i in range(n):
        mine = []
        for j, weight in zip(order_list[i], chosen_list[i], strict=True):
            if abs(weight) < MIN_WEIGHT:
                break
            spec = inputs[j]
            raw = {name: values[name][i] for name in spec.columns}
            mine.append(
                {
                    "code": spec.code,
                    "text": spec.text(raw, currency),
                    "value": spec.value(raw),
                    "direction": "up" if weight > 0 else "down",
                    "weight": round(abs(weight), 3),
                }
            )
        reasons.append(mine)
    return reasons
