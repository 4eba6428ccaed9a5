"""Experiment readout: each variant against control, Holm-corrected, with a verdict and advice.

Each variant is compared with control by the pooled two-proportion z-test (journeys.proportions).
With m variants the p-values are Holm-adjusted, and the intervals, the minimum detectable
effect and the sample sizes use alpha / m (Bonferroni), so the m intervals hold together at
1 - alpha. A variant's verdict:

    too few                   an arm is empty, has fewer than MIN_ENROLLED customers, or fewer
                              than MIN_EXPECTED expected conversions or non-conversions at the
                              pooled rate (the normal approximation does not hold yet); says
                              how many per arm are needed
    winner / loser            adjusted p <= alpha and the variant converts better / worse
    no significant difference the sample size per arm to detect the target effect (min_effect,
                              absolute) or else the observed one, and the days left at the
                              daily enrolment rate when it is given

The readout's verdict is "winner" (the significant winner with the largest lift), else "too
few" when any comparison lacks data, else "keep control" when every variant lost, else "no
significant difference", with seed 000's advice for that case: extend the test duration,
increase the sample size, analyze sub-segments. The test uses the pooled standard error and
the interval the unpooled one, so at the margin they can disagree; the verdict follows the
test. Looking at a running test again and again inflates false winners: decide the sample size
first and read the verdict once it is reached. A holdout readout is the same call with the
holdout group as control and the journey's recipients as the variant: the journey's lift.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from core.errors import InvalidInput
from journeys.proportions import (
    ZTest,
    check_alpha,
    check_power,
    holm,
    minimum_detectable_effect,
    sample_size_per_arm,
    z_test,
)

MIN_ENROLLED = 30
MIN_EXPECTED = 5
WINNER = "winner"
LOSER = "loser"
NO_DIFFERENCE = "no significant difference"
TOO_FEW = "too few"
KEEP_CONTROL = "keep control"


@dataclass(frozen=True, slots=True)
class Arm:
    """One arm of a test: how many customers entered it and how many of them converted."""

    name: str
    enrolled: int
    converted: int

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise InvalidInput("an arm needs a name", field="arm.name", fix="name the variant")
        for field, value in (("enrolled", self.enrolled), ("converted", self.converted)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InvalidInput(
                    f"arm {self.name!r} has {field}={value!r}",
                    field=f"{self.name}.{field}",
                    fix="give a whole number of customers, 0 or more",
                )
        if self.converted > self.enrolled:
            raise InvalidInput(
                f"arm {self.name!r} has {self.converted} conversions of {self.enrolled} enrolled",
                field=f"{self.name}.converted",
                fix="count only conversions of customers enrolled in the arm",
            )

    @property
    def rate(self) -> float | None:
        return self.converted / self.enrolled if self.enrolled else None


@dataclass(frozen=True, slots=True)
class Comparison:
    """One variant against control. Figures are None where the data cannot give them."""

    variant: str
    control_rate: float | None
    variant_rate: float | None
    diff: float | None
    ci_low: float | None
    ci_high: float | None
    lift: float | None
    z: float | None
    p_value: float | None
    adjusted_p: float
    significant: bool
    verdict: str
    mde: float | None
    needed_per_arm: int | None
    sized_for: float | None
    sample_reached: bool
    more_days: int | None
    advice: str


@dataclass(frozen=True, slots=True)
class Readout:
    control: Arm
    variants: tuple[Arm, ...]
    alpha: float
    power: float
    confidence: float
    correction: str
    comparisons: tuple[Comparison, ...]
    verdict: str
    winner: str | None
    advice: tuple[str, ...]


def readout(
    control: Arm,
    variants: Sequence[Arm],
    alpha: float = 0.05,
    power: float = 0.8,
    min_effect: float | None = None,
    *,
    daily_enrolments: float | None = None,
) -> Readout:
    """Compare every variant with control and say what to do next."""
    _check(control, variants, alpha, power, min_effect, daily_enrolments)
    family = len(variants)
    plan_alpha = alpha / family
    tests = [
        z_test(control.converted, control.enrolled, v.converted, v.enrolled, alpha=plan_alpha)
        if control.enrolled and v.enrolled
        else None
        for v in variants
    ]
    adjusted = holm([t.p_value if t else 1.0 for t in tests])
    arms = (control, *variants)
    comparisons = tuple(
        _compare(
            control,
            variant,
            test,
            adjusted_p,
            alpha=alpha,
            plan_alpha=plan_alpha,
            power=power,
            min_effect=min_effect,
            daily_enrolments=daily_enrolments,
            arms=arms,
        )
        for variant, test, adjusted_p in zip(variants, tests, adjusted, strict=True)
    )
    verdict, winner, advice = _summarise(comparisons)
    return Readout(
        control=control,
        variants=tuple(variants),
        alpha=alpha,
        power=power,
        confidence=1.0 - plan_alpha,
        correction="holm" if family > 1 else "none",
        comparisons=comparisons,
        verdict=verdict,
        winner=winner,
        advice=advice,
    )


def _compare(
    control: Arm,
    variant: Arm,
    test: ZTest | None,
    adjusted_p: float,
    *,
    alpha: float,
    plan_alpha: float,
    power: float,
    min_effect: float | None,
    daily_enrolments: float | None,
    arms: tuple[Arm, ...],
) -> Comparison:
    enough = _enough_data(control, variant)
    diff = test.diff if test else None
    significant = enough and test is not None and adjusted_p <= alpha
    mde = None
    if control.rate is not None and variant.enrolled:
        mde = minimum_detectable_effect(
            control.rate, control.enrolled, variant.enrolled, alpha=plan_alpha, power=power
        )
    sized_for: float | None = None
    if not enough:
        verdict = TOO_FEW
        needed = _shortfall(control, variant, plan_alpha, power, min_effect)
    elif significant and diff is not None:
        verdict = WINNER if diff > 0 else LOSER
        needed = None
    else:
        verdict = NO_DIFFERENCE
        needed = _needed(control.rate, variant.rate, plan_alpha, power, min_effect)
        if needed is not None:
            sized_for = min_effect if min_effect is not None else abs(diff or 0.0)
    reached = needed is not None and needed <= min(control.enrolled, variant.enrolled)
    more_days = _more_days(needed, (control, variant), arms, daily_enrolments)
    return Comparison(
        variant=variant.name,
        control_rate=control.rate,
        variant_rate=variant.rate,
        diff=diff,
        ci_low=test.ci_low if test else None,
        ci_high=test.ci_high if test else None,
        lift=test.lift if test else None,
        z=test.z if test else None,
        p_value=test.p_value if test else None,
        adjusted_p=adjusted_p,
        significant=significant,
        verdict=verdict,
        mde=mde,
        needed_per_arm=needed,
        sized_for=sized_for,
        sample_reached=reached,
        more_days=more_days,
        advice=_advice(
            control,
            variant,
            verdict,
            diff=diff,
            needed=needed,
            sized_for=sized_for,
            reached=reached,
            target=min_effect is not None,
            days=_days_text(more_days, daily_enrolments),
        ),
    )


def _enough_data(control: Arm, variant: Arm) -> bool:
    """Whether the normal approximation holds: enough customers and expected outcomes each way."""
    smaller = min(control.enrolled, variant.enrolled)
    if smaller < MIN_ENROLLED:
        return False
    pooled = (control.converted + variant.converted) / (control.enrolled + variant.enrolled)
    return smaller * pooled >= MIN_EXPECTED and smaller * (1.0 - pooled) >= MIN_EXPECTED


def _shortfall(
    control: Arm, variant: Arm, alpha: float, power: float, min_effect: float | None
) -> int | None:
    """Customers per arm the test needs before it can say anything; None when unknowable.

    The largest of MIN_ENROLLED, what the normal approximation needs at the pooled rate so far
    (MIN_EXPECTED conversions and non-conversions per arm) and, with a min_effect, the sample
    size to detect it. Unknowable when both arms are past MIN_ENROLLED and every customer has
    the same outcome (nobody converted, or everybody did).
    """
    total = control.enrolled + variant.enrolled
    converted = control.converted + variant.converted
    same_outcome = converted in (0, total)
    if same_outcome and min(control.enrolled, variant.enrolled) >= MIN_ENROLLED:
        return None
    need = MIN_ENROLLED
    if not same_outcome:
        pooled = converted / total
        need = max(need, math.ceil(MIN_EXPECTED / pooled), math.ceil(MIN_EXPECTED / (1 - pooled)))
    if min_effect is not None:
        need = max(need, _needed(control.rate, None, alpha, power, min_effect) or 0)
    return need


def _needed(
    control_rate: float | None,
    variant_rate: float | None,
    alpha: float,
    power: float,
    min_effect: float | None,
) -> int | None:
    """Customers per arm to detect the target effect, else the observed one (None: no effect)."""
    if control_rate is None:
        return None
    if min_effect is not None:
        target = control_rate + min_effect
        if target > 1.0:
            target = control_rate - min_effect
        if target < 0.0:
            return None
        return sample_size_per_arm(control_rate, target, alpha=alpha, power=power)
    if variant_rate is None:
        return None
    return sample_size_per_arm(control_rate, variant_rate, alpha=alpha, power=power)


def _more_days(
    needed: int | None,
    pair: tuple[Arm, Arm],
    arms: tuple[Arm, ...],
    daily_enrolments: float | None,
) -> int | None:
    """Days until both arms of the pair reach `needed`, enrolment split as observed so far."""
    if needed is None or daily_enrolments is None:
        return None
    total = sum(arm.enrolled for arm in arms)
    days = 0
    for arm in pair:
        share = arm.enrolled / total if total and arm.enrolled else 1.0 / len(arms)
        days = max(days, math.ceil(max(0, needed - arm.enrolled) / (daily_enrolments * share)))
    return days


def _advice(
    control: Arm,
    variant: Arm,
    verdict: str,
    *,
    diff: float | None,
    needed: int | None,
    sized_for: float | None,
    reached: bool,
    target: bool,
    days: str,
) -> str:
    """What to do about the variant, as a phrase that follows its name."""
    if verdict == WINNER:
        return f"converts better than {control.name} by {_pp(diff)}: adopt it"
    if verdict == LOSER:
        return f"converts worse than {control.name} by {_pp(-(diff or 0.0))}: stop it"
    if verdict == TOO_FEW and needed is not None:
        return (
            f"too few: need {needed:,} per arm ({control.name} has {control.enrolled:,}, "
            f"{variant.name} has {variant.enrolled:,}){days}"
        )
    if verdict == TOO_FEW:
        outcome = "everybody in both arms converted" if variant.converted else "nobody converted"
        return (
            f"too few: {outcome} so far, so the arms cannot be "
            "told apart yet; check how the conversion event is recorded, and keep the test running"
        )
    if needed is None:
        return (
            f"converts the same as {control.name} so far: set the smallest lift that matters "
            "(min_effect) to size the test"
        )
    basis = "the target" if target else "as observed"
    if reached:
        return (
            f"has the {needed:,} per arm needed to detect {_pp(sized_for)} ({basis}) and found "
            "no such lift"
        )
    return f"detecting {_pp(sized_for)} ({basis}) needs {needed:,} per arm{days}"


def _days_text(days: int | None, daily_enrolments: float | None) -> str:
    if not days or daily_enrolments is None:
        return ""
    rate = f"{daily_enrolments:,.0f} enrolments a day"
    if days > 365:
        return f", more than a year ({days:,} days) at {rate}"
    return f", about {days:,} more day{'s' if days != 1 else ''} at {rate}"


def _summarise(comparisons: Sequence[Comparison]) -> tuple[str, str | None, tuple[str, ...]]:
    """The readout's verdict, its winner and the advice, one sentence a line."""
    by_verdict: dict[str, list[Comparison]] = {}
    for comparison in comparisons:
        by_verdict.setdefault(comparison.verdict, []).append(comparison)
    stop = tuple(f"{c.variant}: {c.advice}." for c in by_verdict.get(LOSER, []))
    if winners := by_verdict.get(WINNER):
        best = max(winners, key=lambda c: (c.diff or 0.0, -c.adjusted_p, c.variant))
        return (
            WINNER,
            best.variant,
            (
                f"Adopt {best.variant} as a new journey version.",
                f"{best.variant}: {best.advice}.",
                *stop,
            ),
        )
    if short := by_verdict.get(TOO_FEW):
        return TOO_FEW, None, (*(f"{c.variant}: {c.advice}." for c in short), *stop)
    if not (open_ := by_verdict.get(NO_DIFFERENCE)):
        return KEEP_CONTROL, None, ("Keep control: every variant converts worse.", *stop)
    if all(c.sample_reached for c in open_):
        advice = (
            "No significant difference at the planned sample size.",
            *(f"{c.variant}: {c.advice}." for c in open_),
            "Keep control, or test a bolder change.",
            "Analyze sub-segments (lifecycle stage, channel, RFM): treat what one shows as the "
            "hypothesis of the next test, not as a winner.",
        )
        return NO_DIFFERENCE, None, (*advice, *stop)
    lead = max((c for c in open_ if not c.sample_reached), key=lambda c: (c.diff or 0.0, c.variant))
    extend = (
        f"Extend the test duration: for {lead.variant}, {lead.advice}."
        if lead.needed_per_arm is not None
        else f"Extend the test duration: {lead.variant} {lead.advice}."
    )
    advice = (
        "No significant difference yet.",
        extend,
        "Increase the sample size: widen the audience or give the test a larger share.",
        "Analyze sub-segments (lifecycle stage, channel, RFM): treat what one shows as the "
        "hypothesis of the next test, not as a winner.",
    )
    return NO_DIFFERENCE, None, (*advice, *stop)


def _pp(value: float | None) -> str:
    return "?" if value is None else f"{value * 100:.2f} pp"


def _check(
    control: Arm,
    variants: Sequence[Arm],
    alpha: float,
    power: float,
    min_effect: float | None,
    daily_enrolments: float | None,
) -> None:
    if not isinstance(control, Arm):
        raise InvalidInput("control must be an Arm", field="control", fix="pass Arm(...)")
    if not isinstance(variants, Sequence) or not variants:
        raise InvalidInput(
            "there is no variant to compare with control",
            field="variants",
            fix="pass at least one Arm besides control",
        )
    names = {control.name}
    for index, variant in enumerate(variants):
        if not isinstance(variant, Arm):
            raise InvalidInput(
                "each variant must be an Arm", field=f"variants[{index}]", fix="pass Arm(...)"
            )
        if variant.name in names:
            raise InvalidInput(
                f"arm {variant.name!r} appears twice",
                field=f"variants[{index}]",
                fix="give every arm its own name",
            )
        names.add(variant.name)
    check_alpha(alpha)
    check_power(power)
    if min_effect is not None and not _between(min_effect, 0.0, 1.0):
        raise InvalidInput(
            f"min_effect is {min_effect!r}",
            field="min_effect",
            fix="give the smallest absolute lift that matters, e.g. 0.01 for one point",
        )
    if daily_enrolments is not None and not _between(daily_enrolments, 0.0, math.inf):
        raise InvalidInput(
            f"daily_enrolments is {daily_enrolments!r}",
            field="daily_enrolments",
            fix="give the customers entering the test per day (all arms), above 0",
        )


def _between(value: object, low: float, high: float) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and low < value < high
    )
