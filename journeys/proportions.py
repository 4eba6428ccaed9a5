"""Two-proportion statistics: z-test, Wald interval, power, sample size, MDE, Holm (no scipy).

    z-test     pooled rate p = (x_a + x_b) / (n_a + n_b), SE = sqrt(p (1 - p) (1/n_a + 1/n_b)),
               z = (r_b - r_a) / SE, two-sided p-value = erfc(|z| / sqrt 2). Both arms at 0% or
               both at 100% give SE = 0 and a difference of exactly 0: z = 0, p = 1.
    interval   unpooled (Wald) for the difference r_b - r_a: diff +/- z_(1 - alpha/2) x
               sqrt(r_a (1 - r_a) / n_a + r_b (1 - r_b) / n_b).
    power      two-sided test, the far tail ignored:
               Phi((|d| - z_(1-alpha/2) SE_pooled) / SE_unpooled), with the pooled rate
               (n_a p_a + n_b p_b) / (n_a + n_b).
    sample     per arm, equal arms (the same power formula solved for n, Fleiss without
               continuity correction):
               n = (z_(1-alpha/2) sqrt(2 pbar qbar) + z_power sqrt(p_a q_a + p_b q_b))^2 / d^2.
    MDE        the smallest lift d > 0 over the baseline that the arms as they are detect with
               the given power (the power formula solved for d by bisection).
    Holm       step-down adjusted p-values: sort ascending, p_(i) x (m - i + 1), running
               maximum, capped at 1.

Pure functions of numbers; they never divide by zero (a case with no answer returns None).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

from core.errors import InvalidInput

_STANDARD = NormalDist()
_SQRT2 = math.sqrt(2.0)


def normal_cdf(x: float) -> float:
    """Phi(x), the standard normal distribution function (via erfc, accurate in the tails)."""
    return 0.5 * math.erfc(-x / _SQRT2)


def two_sided_p(z: float) -> float:
    """P(|Z| >= |z|) for a standard normal Z."""
    return math.erfc(abs(z) / _SQRT2)


def z_quantile(probability: float) -> float:
    """The standard normal quantile: z with Phi(z) = probability."""
    return _STANDARD.inv_cdf(probability)


@dataclass(frozen=True, slots=True)
class ZTest:
    """Arm b against arm a. `lift` is (r_b - r_a) / r_a, None when r_a is 0."""

    rate_a: float
    rate_b: float
    diff: float
    z: float
    p_value: float
    ci_low: float
    ci_high: float
    confidence: float
    lift: float | None


def z_test(
    converted_a: int, enrolled_a: int, converted_b: int, enrolled_b: int, *, alpha: float = 0.05
) -> ZTest:
    """The pooled two-proportion z-test of b against a, with a 1 - alpha Wald interval."""
    _check_count(converted_a, enrolled_a, "a")
    _check_count(converted_b, enrolled_b, "b")
    check_alpha(alpha)
    rate_a = converted_a / enrolled_a
    rate_b = converted_b / enrolled_b
    diff = rate_b - rate_a
    pooled = (converted_a + converted_b) / (enrolled_a + enrolled_b)
    se_pooled = math.sqrt(pooled * (1.0 - pooled) * (1.0 / enrolled_a + 1.0 / enrolled_b))
    z = diff / se_pooled if se_pooled > 0.0 else 0.0
    se = math.sqrt(rate_a * (1.0 - rate_a) / enrolled_a + rate_b * (1.0 - rate_b) / enrolled_b)
    margin = z_quantile(1.0 - alpha / 2.0) * se
    return ZTest(
        rate_a=rate_a,
        rate_b=rate_b,
        diff=diff,
        z=z,
        p_value=two_sided_p(z) if se_pooled > 0.0 else 1.0,
        ci_low=diff - margin,
        ci_high=diff + margin,
        confidence=1.0 - alpha,
        lift=diff / rate_a if rate_a > 0.0 else None,
    )


def detection_power(
    rate_a: float, rate_b: float, enrolled_a: int, enrolled_b: int, *, alpha: float = 0.05
) -> float:
    """The chance the two-sided z-test at alpha finds a difference between true rates a and b."""
    check_rate(rate_a, "rate_a")
    check_rate(rate_b, "rate_b")
    check_alpha(alpha)
    if enrolled_a <= 0 or enrolled_b <= 0:
        return 0.0
    diff = abs(rate_b - rate_a)
    pooled = (enrolled_a * rate_a + enrolled_b * rate_b) / (enrolled_a + enrolled_b)
    se_pooled = math.sqrt(pooled * (1.0 - pooled) * (1.0 / enrolled_a + 1.0 / enrolled_b))
    se = math.sqrt(rate_a * (1 - rate_a) / enrolled_a + rate_b * (1 - rate_b) / enrolled_b)
    threshold = z_quantile(1.0 - alpha / 2.0) * se_pooled
    if se == 0.0:  # both rates are 0 or 1: the outcome is certain
        return 1.0 if diff > threshold else 0.0
    return normal_cdf((diff - threshold) / se)


def sample_size_per_arm(
    rate_a: float, rate_b: float, *, alpha: float = 0.05, power: float = 0.8
) -> int | None:
    """Customers per arm (equal arms) to detect true rates a vs b; None when they are equal."""
    check_rate(rate_a, "rate_a")
    check_rate(rate_b, "rate_b")
    check_alpha(alpha)
    check_power(power)
    diff = rate_b - rate_a
    if diff == 0.0:
        return None
    mean = (rate_a + rate_b) / 2.0
    spread = z_quantile(1.0 - alpha / 2.0) * math.sqrt(2.0 * mean * (1.0 - mean)) + z_quantile(
        power
    ) * math.sqrt(rate_a * (1 - rate_a) + rate_b * (1 - rate_b))
    # 1e-9 absorbs float noise: an exact integer answer must not round up to the next one
    return max(1, math.ceil(spread * spread / (diff * diff) - 1e-9))


def minimum_detectable_effect(
    baseline: float,
    enrolled_a: int,
    enrolled_b: int,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
) -> float | None:
    """The smallest absolute lift over the baseline detected with the given power, or None.

    None when an arm is empty or not even a lift to 100% would be detected that often.
    """
    check_rate(baseline, "baseline")
    check_power(power)

    def detects(lift: float) -> bool:
        chance = detection_power(baseline, baseline + lift, enrolled_a, enrolled_b, alpha=alpha)
        return chance >= power

    high = 1.0 - baseline
    if enrolled_a <= 0 or enrolled_b <= 0 or high <= 0.0 or not detects(high):
        return None
    low = 0.0
    while high - low > 1e-10:
        middle = (low + high) / 2.0
        if detects(middle):
            high = middle
        else:
            low = middle
    return high


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values, in the order given (reject where adjusted <= alpha)."""
    m = len(p_values)
    adjusted = [1.0] * m
    running = 0.0
    for rank, index in enumerate(sorted(range(m), key=lambda i: p_values[i])):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def check_alpha(alpha: float) -> None:
    """Refuse a significance level outside (0, 0.5]."""
    if not _is_number(alpha) or not 0.0 < alpha <= 0.5:
        raise InvalidInput(
            f"alpha is {alpha!r}", field="alpha", fix="give a significance level such as 0.05"
        )


def check_power(value: float) -> None:
    """Refuse a power outside (0, 1)."""
    if not _is_number(value) or not 0.0 < value < 1.0:
        raise InvalidInput(
            f"power is {value!r}", field="power", fix="give the wanted power, such as 0.8"
        )


def check_rate(rate: float, field: str) -> None:
    """Refuse a conversion rate outside [0, 1]."""
    if not _is_number(rate) or not 0.0 <= rate <= 1.0:
        raise InvalidInput(
            f"{field} is {rate!r}", field=field, fix="give a rate from 0 to 1, e.g. 0.04 for 4%"
        )


def _check_count(converted: int, enrolled: int, arm: str) -> None:
    if not isinstance(enrolled, int) or isinstance(enrolled, bool) or enrolled <= 0:
        raise InvalidInput(
            f"arm {arm} has {enrolled!r} enrolled",
            field=f"enrolled_{arm}",
            fix="test arms with at least one customer",
        )
    if not isinstance(converted, int) or isinstance(converted, bool):
        raise InvalidInput(
            f"arm {arm} has {converted!r} conversions",
            field=f"converted_{arm}",
            fix="count conversions as a whole number",
        )
    if not 0 <= converted <= enrolled:
        raise InvalidInput(
            f"arm {arm} has {converted} conversions of {enrolled} enrolled",
            field=f"converted_{arm}",
            fix="count from 0 up to the number enrolled",
        )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
