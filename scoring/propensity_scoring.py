"""Score customers with stored propensity parameters (a fitted model or the rules), numpy only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from scoring import propensity_model, propensity_rules
from scoring.propensity_inputs import INPUTS, input_matrix
from scoring.propensity_model import Scored


def rules_parameters() -> dict[str, Any]:
    """What a rules "model" stores: no numbers, only which rules (and their version)."""
    return {"kind": propensity_rules.KIND, "version": propensity_rules.VERSION}


def usable(parameters: Mapping[str, Any]) -> bool:
    """Whether this code can score with the stored parameters (same kind and version)."""
    kind, version = parameters.get("kind"), parameters.get("version")
    if kind == propensity_rules.KIND:
        return version == propensity_rules.VERSION
    if kind == propensity_model.KIND:
        return version == propensity_model.VERSION and all(
            code in INPUTS for code in parameters.get("inputs", ())
        )
    return False


def score_target(
    parameters: Mapping[str, Any], target: str, columns: Mapping[str, np.ndarray]
) -> Scored:
    """Probabilities and contributions for every customer in the feature columns."""
    if parameters["kind"] == propensity_rules.KIND:
        return propensity_rules.score_rules(target, columns)
    return propensity_model.score(parameters, input_matrix(columns, parameters["inputs"]))
