"""Two-proportion statistics against scipy as the oracle, simulations and textbook rules."""

from __future__ import annotations

import itertools
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from core.errors import InvalidInput
from journeys.proportions import (
    detection_power,
    holm,
    minimum_detectable_effect,
    normal_cdf,
    sample_size_per_arm,
    two_sided_p,
    z_quantile,
    z_test,
)

REPO = Path(__file__).resolve().parents[2]
CASES = [
    (500, 10_000, 580, 10_000),
    (120, 2_400, 95, 2_300),
    (3, 40, 11, 45),
    (0, 500, 7, 500),
    (990, 1_000, 1_000, 1_000),
    (48, 1_000, 48, 1_000),
]


def _oracle_power(p1: float, p2: float, n1: int, n2: int, alpha: float) -> float:
    """The same two-sided power approximation, written with scipy's normal distribution."""
    pbar = (n1 * p1 + n2 * p2) / (n1 + n2)
    se0 = math.sqrt(pbar * (1 - pbar) * (1 / n1 + 1 / n2))
    se1 = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    return stats.norm.cdf((abs(p2 - p1) - stats.norm.ppf(1 - alpha / 2) * se0) / se1)


def test_normal_helpers_match_scipy() -> None:
    for x in (-8.0, -3.2, -1.0, 0.0, 0.5, 1.96, 4.0):
        assert normal_cdf(x) == pytest.approx(stats.norm.cdf(x), rel=1e-12, abs=1e-300)
        assert two_sided_p(x) == pytest.approx(2 * stats.norm.sf(abs(x)), rel=1e-12)
    assert two_sided_p(10.0) == pytest.approx(2 * stats.norm.sf(10.0), rel=1e-9)  # far tail
    for q in (0.001, 0.025, 0.2, 0.5, 0.8, 0.975, 0.999):
        assert z_quantile(q) == pytest.approx(stats.norm.ppf(q), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(("xa", "na", "xb", "nb"), CASES)
def test_z_test_p_value_is_the_chi_square_test_of_the_two_by_two_table(
    xa: int, na: int, xb: int, nb: int
) -> None:
    result = z_test(xa, na, xb, nb)
    table = [[xa, na - xa], [xb, nb - xb]]
    chi2 = stats.chi2_contingency(table, correction=False)
    assert result.z**2 == pytest.approx(chi2.statistic, rel=1e-9)
    assert result.p_value == pytest.approx(chi2.pvalue, rel=1e-9)
    assert math.copysign(1, result.z) == math.copysign(1, xb / nb - xa / na) or result.z == 0


@pytest.mark.parametrize(("xa", "na", "xb", "nb"), CASES)
@pytest.mark.parametrize("alpha", [0.05, 0.01, 0.1])
def test_wald_interval_and_lift(xa: int, na: int, xb: int, nb: int, alpha: float) -> None:
    result = z_test(xa, na, xb, nb, alpha=alpha)
    ra, rb = xa / na, xb / nb
    se = math.sqrt(ra * (1 - ra) / na + rb * (1 - rb) / nb)
    half = stats.norm.ppf(1 - alpha / 2) * se
    assert result.diff == pytest.approx(rb - ra)
    assert result.ci_low == pytest.approx(rb - ra - half, abs=1e-12)
    assert result.ci_high == pytest.approx(rb - ra + half, abs=1e-12)
    assert result.confidence == pytest.approx(1 - alpha)
    assert result.lift == (pytest.approx((rb - ra) / ra) if ra else None)


def test_swapping_the_arms_mirrors_the_result() -> None:
    ab = z_test(120, 2_400, 95, 2_300)
    ba = z_test(95, 2_300, 120, 2_400)
    assert ba.diff == pytest.approx(-ab.diff)
    assert ba.z == pytest.approx(-ab.z)
    assert ba.p_value == pytest.approx(ab.p_value)
    assert (ba.ci_low, ba.ci_high) == pytest.approx((-ab.ci_high, -ab.ci_low))


@pytest.mark.parametrize(("x", "n"), [(0, 400), (400, 400), (37, 400)])
def test_identical_arms_give_no_evidence(x: int, n: int) -> None:
    result = z_test(x, n, x, n)
    assert (result.diff, result.z, result.p_value) == (0.0, 0.0, 1.0)


def test_under_the_null_the_test_rejects_about_alpha_of_the_time() -> None:
    rng = np.random.default_rng(6)
    runs, n, rate = 4_000, 2_000, 0.05
    a, b = rng.binomial(n, rate, runs), rng.binomial(n, rate, runs)
    rejected = sum(z_test(int(x), n, int(y), n).p_value <= 0.05 for x, y in zip(a, b, strict=True))
    assert abs(rejected / runs - 0.05) <= 5 * math.sqrt(0.05 * 0.95 / runs)


def test_the_interval_covers_the_true_difference_at_its_level() -> None:
    rng = np.random.default_rng(7)
    runs, n, pa, pb = 4_000, 1_500, 0.10, 0.13
    a, b = rng.binomial(n, pa, runs), rng.binomial(n, pb, runs)
    covered = 0
    for x, y in zip(a, b, strict=True):
        result = z_test(int(x), n, int(y), n)
        covered += result.ci_low <= pb - pa <= result.ci_high
    assert abs(covered / runs - 0.95) <= 5 * math.sqrt(0.95 * 0.05 / runs)


@pytest.mark.parametrize(
    ("p1", "p2", "alpha", "wanted"),
    [
        (0.05, 0.06, 0.05, 0.8),
        (0.10, 0.12, 0.05, 0.9),
        (0.30, 0.25, 0.01, 0.8),
        (0.02, 0.03, 0.025, 0.8),
        (0.0, 0.01, 0.05, 0.8),
    ],
)
def test_sample_size_is_the_smallest_n_with_the_power(
    p1: float, p2: float, alpha: float, wanted: float
) -> None:
    n = sample_size_per_arm(p1, p2, alpha=alpha, power=wanted)
    assert n is not None
    assert _oracle_power(p1, p2, n, n, alpha) >= wanted - 1e-9
    assert _oracle_power(p1, p2, n - 1, n - 1, alpha) < wanted
    assert detection_power(p1, p2, n, n, alpha=alpha) == pytest.approx(
        _oracle_power(p1, p2, n, n, alpha), rel=1e-9
    )


def test_sample_size_agrees_with_lehrs_rule() -> None:
    # van Belle, Statistical Rules of Thumb (2nd ed.), rule 2.3 (Lehr): at alpha 0.05 and 80%
    # power, n per group = 16 / delta^2 with delta the difference over its standard deviation.
    for p1, p2 in [(0.05, 0.06), (0.2, 0.25), (0.5, 0.45)]:
        pbar = (p1 + p2) / 2
        lehr = 16 * pbar * (1 - pbar) / (p2 - p1) ** 2
        assert sample_size_per_arm(p1, p2) == pytest.approx(lehr, rel=0.04)


def test_the_sample_size_delivers_its_power_in_simulation() -> None:
    p1, p2 = 0.10, 0.13
    n = sample_size_per_arm(p1, p2)
    assert n is not None
    rng = np.random.default_rng(8)
    runs = 4_000
    a, b = rng.binomial(n, p1, runs), rng.binomial(n, p2, runs)
    pooled = (a + b) / (2 * n)
    z = (b - a) / n / np.sqrt(pooled * (1 - pooled) * 2 / n)
    rejected = np.mean(np.abs(z) >= stats.norm.ppf(0.975))
    assert abs(rejected - 0.8) <= 5 * math.sqrt(0.8 * 0.2 / runs)


def test_no_sample_size_for_no_difference() -> None:
    assert sample_size_per_arm(0.05, 0.05) is None


@pytest.mark.parametrize(
    ("baseline", "n1", "n2", "alpha", "wanted"),
    [
        (0.05, 10_000, 10_000, 0.05, 0.8),
        (0.2, 800, 800, 0.05, 0.9),
        (0.05, 5_000, 15_000, 0.01, 0.8),
        (0.0, 2_000, 2_000, 0.05, 0.8),
    ],
)
def test_minimum_detectable_effect_is_where_the_power_is_reached(
    baseline: float, n1: int, n2: int, alpha: float, wanted: float
) -> None:
    mde = minimum_detectable_effect(baseline, n1, n2, alpha=alpha, power=wanted)
    assert mde is not None and mde > 0
    assert _oracle_power(baseline, baseline + mde, n1, n2, alpha) == pytest.approx(wanted, abs=1e-6)
    if n1 == n2:  # back through the sample size formula: about the same n
        n = sample_size_per_arm(baseline, baseline + mde, alpha=alpha, power=wanted)
        assert n is not None and abs(n - n1) <= 1


def test_the_mde_shrinks_with_the_square_root_of_the_sample() -> None:
    small = minimum_detectable_effect(0.1, 1_000, 1_000)
    large = minimum_detectable_effect(0.1, 4_000, 4_000)
    assert small is not None and large is not None
    assert small / large == pytest.approx(2.0, rel=0.05)


@pytest.mark.parametrize(("baseline", "n1", "n2"), [(0.1, 0, 100), (0.1, 100, 0), (1.0, 500, 500)])
def test_no_mde_without_customers_or_room_above_the_baseline(
    baseline: float, n1: int, n2: int
) -> None:
    assert minimum_detectable_effect(baseline, n1, n2) is None


def test_no_mde_when_even_a_jump_to_everyone_is_not_detected_often_enough() -> None:
    assert minimum_detectable_effect(0.5, 2, 2) is None


def _closed_testing(p: list[float]) -> list[float]:
    """Holm as the closed test of Bonferroni local tests: the worst subset containing i."""
    m = len(p)
    adjusted = []
    for i in range(m):
        others = [j for j in range(m) if j != i]
        worst = 0.0
        for size in range(m):
            for subset in itertools.combinations(others, size):
                members = (i, *subset)
                worst = max(worst, min(1.0, len(members) * min(p[j] for j in members)))
        adjusted.append(worst)
    return adjusted


def test_holm_equals_closed_testing_with_bonferroni() -> None:
    rng = np.random.default_rng(9)
    for m in range(1, 7):
        for _ in range(30):
            p = [float(x) for x in rng.uniform(0, 0.2, m)]
            assert holm(p) == pytest.approx(_closed_testing(p))
    assert holm([0.01, 0.04, 0.03]) == pytest.approx(_closed_testing([0.01, 0.04, 0.03]))
    assert holm([]) == []


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: z_test(1, 0, 1, 10), "enrolled_a"),
        (lambda: z_test(11, 10, 1, 10), "converted_a"),
        (lambda: z_test(1, 10, -1, 10), "converted_b"),
        (lambda: z_test(1, 10, 1.5, 10), "converted_b"),
        (lambda: z_test(1, 10, 1, 10, alpha=0), "alpha"),
        (lambda: z_test(1, 10, 1, 10, alpha=0.7), "alpha"),
        (lambda: sample_size_per_arm(0.1, 1.2), "rate_b"),
        (lambda: sample_size_per_arm(float("nan"), 0.2), "rate_a"),
        (lambda: sample_size_per_arm(0.1, 0.2, power=1.0), "power"),
        (lambda: minimum_detectable_effect(-0.1, 10, 10), "baseline"),
    ],
)
def test_bad_input_names_the_field(call: object, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        call()  # type: ignore[operator]
    assert caught.value.field == field


def test_the_experiment_modules_run_without_scipy_or_numpy() -> None:
    modules = [
        "journeys.assignment",
        "journeys.proportions",
        "journeys.experiment_stats",
        "journeys.experiment_report",
        "journeys.experiment_adoption",
    ]
    code = (
        "import sys\n"
        + "".join(f"import {name}\n" for name in modules)
        + "print(sorted(m for m in ('scipy', 'numpy') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
