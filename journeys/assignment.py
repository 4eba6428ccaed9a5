"""Experiment assignment: a customer's variant (or holdout) from a hash, the same everywhere.

The point in [0, 1) is the first 53 bits of sha256("experiment_id:customer_id") (with the
salt in front when one is given, "salt:experiment_id:customer_id"), so it does not depend on
the workspace, the process, PYTHONHASHSEED or the Python version. A re-run, a second worker and
next year's release all put the customer in the same arm.

The holdout takes the bottom `holdout` share of the interval first: a customer there gets no
messages. That decision reads the point and the share only, so adding, removing or reweighting
variants never moves anyone into or out of the holdout. The rest of the interval is split among
the variants in the order given, in proportion to their weights (changing the variants does
move customers between variants: start a new experiment, or change the salt, to re-randomise).

Experiment ids and salts may not contain ":" so that no two (experiment, customer) pairs hash
the same text.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

from core.errors import InvalidInput

HOLDOUT = "holdout"
_BITS = 53  # a double holds every integer below 2**53 exactly
_SCALE = float(1 << _BITS)


def unit_point(customer_id: str, experiment_id: str, *, salt: str = "") -> float:
    """The customer's point in [0, 1) for the experiment: sha256, first 53 bits over 2**53."""
    _check_name(experiment_id, "experiment_id")
    if not isinstance(customer_id, str) or not customer_id:
        raise InvalidInput(
            "customer_id must be a non-empty string",
            field="customer_id",
            fix="pass the customer's id as text",
        )
    if not isinstance(salt, str):
        raise InvalidInput("salt must be a string", field="salt", fix='pass "" for no salt')
    if salt:
        _check_name(salt, "salt")
    key = f"{salt}:{experiment_id}:{customer_id}" if salt else f"{experiment_id}:{customer_id}"
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return (int.from_bytes(digest[:8], "big") >> (64 - _BITS)) / _SCALE


def assign(
    customer_id: str,
    experiment_id: str,
    variants: Sequence[tuple[str, float]],
    *,
    holdout: float = 0.0,
    salt: str = "",
) -> str:
    """The variant id the customer gets in the experiment, or "holdout" (no messages)."""
    weights = _check_variants(variants)
    share = _check_holdout(holdout)
    point = unit_point(customer_id, experiment_id, salt=salt)
    if point < share:
        return HOLDOUT
    target = (point - share) / (1.0 - share) * math.fsum(weights)
    cumulative = 0.0
    for (variant_id, _), weight in zip(variants, weights, strict=True):
        cumulative += weight
        if target < cumulative:
            return variant_id
    return variants[-1][0]  # rounding can leave the target a hair above the last sum


def _check_name(value: object, field: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field} must be a non-empty string", field=field, fix="name it")
    if ":" in value:
        raise InvalidInput(
            f"{field} {value!r} contains ':'",
            field=field,
            fix="use letters, digits, '-' or '_' (':' separates the hashed parts)",
        )


def _check_variants(variants: Sequence[tuple[str, float]]) -> list[float]:
    if isinstance(variants, str | bytes) or not isinstance(variants, Sequence) or not variants:
        raise InvalidInput(
            "variants must be a non-empty list of (variant_id, weight)",
            field="variants",
            fix='pass e.g. [("control", 1), ("b", 1)]',
        )
    seen: set[str] = set()
    weights: list[float] = []
    for index, item in enumerate(variants):
        field = f"variants[{index}]"
        if not isinstance(item, Sequence) or isinstance(item, str | bytes) or len(item) != 2:
            raise InvalidInput(
                "each variant must be a (variant_id, weight) pair",
                field=field,
                fix='pass e.g. ("b", 1)',
            )
        variant_id, weight = item
        if not isinstance(variant_id, str) or not variant_id.strip():
            raise InvalidInput(
                "a variant id must be a non-empty string", field=field, fix="name the variant"
            )
        if variant_id == HOLDOUT:
            raise InvalidInput(
                f'"{HOLDOUT}" is reserved for the holdout group',
                field=field,
                fix="set holdout= for a holdout, and give the variant another name",
            )
        if variant_id in seen:
            raise InvalidInput(
                f"variant {variant_id!r} is listed twice", field=field, fix="list it once"
            )
        seen.add(variant_id)
        if (
            isinstance(weight, bool)
            or not isinstance(weight, int | float)
            or not math.isfinite(weight)
            or weight <= 0
        ):
            raise InvalidInput(
                f"variant {variant_id!r} has weight {weight!r}",
                field=f"{field}.weight",
                fix="give a finite number above 0 (weights are relative: 1 and 1 split evenly)",
            )
        weights.append(float(weight))
    return weights


def _check_holdout(holdout: float) -> float:
    if (
        isinstance(holdout, bool)
        or not isinstance(holdout, int | float)
        or not math.isfinite(holdout)
        or not 0.0 <= holdout < 1.0
    ):
        raise InvalidInput(
            f"holdout is {holdout!r}",
            field="holdout",
            fix="give the held-out share from 0 up to (not including) 1, e.g. 0.1 for 10%",
        )
    return float(holdout)
