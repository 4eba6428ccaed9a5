"""Experiment assignment: deterministic, the promised shares, a stable holdout, independence."""

from __future__ import annotations

import hashlib
import math
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from scipy import stats

from core.errors import InvalidInput
from journeys.assignment import HOLDOUT, assign, unit_point

REPO = Path(__file__).resolve().parents[2]
N = 100_000
IDS = [f"cust-{i}" for i in range(N)]
# A deviation this many binomial standard deviations from the expected count has probability
# below 1e-6; the ids are fixed, so the counts (and the outcome) are the same on every run.
SIGMAS = 5.0


def _within_binomial(count: int, n: int, share: float) -> bool:
    return abs(count - n * share) <= SIGMAS * math.sqrt(n * share * (1 - share))


def test_the_point_is_sha256_of_experiment_and_customer() -> None:
    for customer in ("c1", "cust-42", "ünïcode@example.com"):
        digest = hashlib.sha256(f"exp-7:{customer}".encode()).hexdigest()
        assert unit_point(customer, "exp-7") == (int(digest, 16) >> (256 - 53)) / 2**53
        salted = hashlib.sha256(f"s1:exp-7:{customer}".encode()).hexdigest()
        assert unit_point(customer, "exp-7", salt="s1") == (int(salted, 16) >> (256 - 53)) / 2**53


def test_assignment_is_the_same_in_another_process_with_another_hash_seed() -> None:
    variants = [("control", 1), ("b", 1), ("c", 2)]
    here = [assign(c, "exp-1", variants, holdout=0.2) for c in IDS[:200]]
    code = (
        "from journeys.assignment import assign\n"
        f"print(','.join(assign(f'cust-{{i}}', 'exp-1', {variants!r}, holdout=0.2)"
        " for i in range(200)))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().split(",") == here
    assert [assign(c, "exp-1", variants, holdout=0.2) for c in IDS[:200]] == here


def test_shares_follow_the_weights_and_the_holdout() -> None:
    variants = [("a", 1), ("b", 2), ("c", 1)]
    counts = Counter(assign(c, "exp-shares", variants, holdout=0.1) for c in IDS)
    expected = {HOLDOUT: 0.1, "a": 0.9 * 0.25, "b": 0.9 * 0.5, "c": 0.9 * 0.25}
    assert set(counts) == set(expected)
    for arm, share in expected.items():
        assert _within_binomial(counts[arm], N, share), (arm, counts[arm], N * share)


def test_uneven_float_weights_and_no_holdout() -> None:
    variants = [("a", 0.05), ("b", 0.95)]
    counts = Counter(assign(c, "exp-uneven", variants) for c in IDS)
    assert HOLDOUT not in counts
    assert _within_binomial(counts["a"], N, 0.05)
    assert counts["a"] + counts["b"] == N


def test_the_binomial_bound_catches_a_wrong_share() -> None:
    counts = Counter(assign(c, "exp-shares", [("a", 1), ("b", 1)]) for c in IDS)
    assert _within_binomial(counts["a"], N, 0.5)
    assert not _within_binomial(counts["a"], N, 0.49)


def test_one_variant_gets_everyone_outside_the_holdout() -> None:
    arms = {assign(c, "exp-one", [("only", 3)], holdout=0.3) for c in IDS[:2000]}
    assert arms == {"only", HOLDOUT}


def test_adding_or_reweighting_variants_keeps_the_holdout() -> None:
    def held(variants: list[tuple[str, float]]) -> set[str]:
        return {c for c in IDS if assign(c, "exp-grow", variants, holdout=0.15) == HOLDOUT}

    before = held([("control", 1), ("b", 1)])
    assert _within_binomial(len(before), N, 0.15)
    assert held([("control", 1), ("b", 1), ("c", 1)]) == before
    assert held([("control", 5), ("b", 1), ("c", 0.5), ("d", 2)]) == before


def test_a_larger_holdout_only_adds_customers_to_it() -> None:
    small = {c for c in IDS[:20000] if assign(c, "exp-h", [("a", 1)], holdout=0.05) == HOLDOUT}
    large = {c for c in IDS[:20000] if assign(c, "exp-h", [("a", 1)], holdout=0.2) == HOLDOUT}
    assert small < large


def _independence_p(first: list[str], second: list[str]) -> float:
    table = Counter(zip(first, second, strict=True))
    rows = sorted(set(first))
    cols = sorted(set(second))
    observed = [[table[(r, c)] for c in cols] for r in rows]
    return stats.chi2_contingency(observed, correction=False).pvalue


def test_different_experiments_assign_independently() -> None:
    first = [assign(c, "exp-a", [("a1", 1), ("a2", 1)], holdout=0.1) for c in IDS]
    second = [assign(c, "exp-b", [("b1", 1), ("b2", 1), ("b3", 2)]) for c in IDS]
    salted = [assign(c, "exp-a", [("a1", 1), ("a2", 1)], holdout=0.1, salt="r2") for c in IDS]
    # Independent assignments give a p-value spread uniformly; below 1e-6 would be a dependence.
    assert _independence_p(first, second) > 1e-6
    assert _independence_p(first, salted) > 1e-6
    # The check can fail: the same experiment against itself is as dependent as it gets.
    assert _independence_p(first, first) < 1e-6


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"variants": []}, "variants"),
        ({"variants": "ab"}, "variants"),
        ({"variants": [("a",)]}, "variants[0]"),
        ({"variants": [("", 1)]}, "variants[0]"),
        ({"variants": [("holdout", 1)]}, "variants[0]"),
        ({"variants": [("a", 1), ("a", 2)]}, "variants[1]"),
        ({"variants": [("a", 0)]}, "variants[0].weight"),
        ({"variants": [("a", -1)]}, "variants[0].weight"),
        ({"variants": [("a", float("nan"))]}, "variants[0].weight"),
        ({"variants": [("a", float("inf"))]}, "variants[0].weight"),
        ({"variants": [("a", True)]}, "variants[0].weight"),
        ({"variants": [("a", "1")]}, "variants[0].weight"),
        ({"holdout": 1.0}, "holdout"),
        ({"holdout": -0.1}, "holdout"),
        ({"holdout": float("nan")}, "holdout"),
        ({"experiment_id": ""}, "experiment_id"),
        ({"experiment_id": "a:b"}, "experiment_id"),
        ({"customer_id": ""}, "customer_id"),
        ({"salt": "x:y"}, "salt"),
    ],
)
def test_bad_input_names_the_field(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {
        "customer_id": "c1",
        "experiment_id": "exp",
        "variants": [("a", 1), ("b", 1)],
        **kwargs,
    }
    customer_id = args.pop("customer_id")
    experiment_id = args.pop("experiment_id")
    variants = args.pop("variants")
    with pytest.raises(InvalidInput) as caught:
        assign(customer_id, experiment_id, variants, **args)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert caught.value.fix
