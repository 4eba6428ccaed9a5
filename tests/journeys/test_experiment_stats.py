"""Experiment readout: verdicts, Holm across variants, sample sizes and days, the guard rails."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from core.errors import InvalidInput
from journeys.experiment_stats import (
    KEEP_CONTROL,
    LOSER,
    MIN_ENROLLED,
    NO_DIFFERENCE,
    TOO_FEW,
    WINNER,
    Arm,
    readout,
)
from journeys.proportions import holm, minimum_detectable_effect, sample_size_per_arm

CONTROL = Arm("control", 10_000, 500)


def _chi2_p(a: Arm, b: Arm) -> float:
    table = [[a.converted, a.enrolled - a.converted], [b.converted, b.enrolled - b.converted]]
    return stats.chi2_contingency(table, correction=False).pvalue


def test_a_clear_lift_is_a_winner_to_adopt() -> None:
    variant = Arm("b", 10_000, 580)
    result = readout(CONTROL, [variant])
    (c,) = result.comparisons
    assert (c.control_rate, c.variant_rate) == (0.05, 0.058)
    assert c.diff == pytest.approx(0.008)
    assert c.lift == pytest.approx(0.16)
    assert c.p_value == pytest.approx(_chi2_p(CONTROL, variant), rel=1e-9)
    assert c.adjusted_p == c.p_value
    half = stats.norm.ppf(0.975) * math.sqrt(0.05 * 0.95 / 10_000 + 0.058 * 0.942 / 10_000)
    assert (c.ci_low, c.ci_high) == pytest.approx((0.008 - half, 0.008 + half))
    assert c.significant and c.verdict == WINNER
    assert c.needed_per_arm is None and c.more_days is None
    assert c.mde == pytest.approx(minimum_detectable_effect(0.05, 10_000, 10_000))
    assert (result.verdict, result.winner, result.correction) == (WINNER, "b", "none")
    assert result.confidence == pytest.approx(0.95)
    assert result.advice[0] == "Adopt b as a new journey version."


def test_a_clear_drop_is_a_loser_and_control_is_kept() -> None:
    result = readout(CONTROL, [Arm("b", 10_000, 420)])
    assert result.comparisons[0].verdict == LOSER
    assert result.comparisons[0].significant
    assert (result.verdict, result.winner) == (KEEP_CONTROL, None)
    assert "stop it" in result.advice[-1]


def test_no_significant_difference_says_how_many_customers_and_days() -> None:
    variant = Arm("b", 9_000, 470)
    result = readout(CONTROL, [variant], daily_enrolments=1_200)
    (c,) = result.comparisons
    assert c.verdict == NO_DIFFERENCE and not c.significant
    observed = 470 / 9_000
    assert c.sized_for == pytest.approx(observed - 0.05)
    assert c.needed_per_arm == sample_size_per_arm(0.05, observed)
    assert not c.sample_reached
    # enrolment keeps splitting as so far (10,000 : 9,000); the slower arm to reach n decides
    needed = c.needed_per_arm
    days = [(needed - arm.enrolled) / (1_200 * arm.enrolled / 19_000) for arm in (CONTROL, variant)]
    assert c.more_days == math.ceil(max(days))
    assert result.verdict == NO_DIFFERENCE and result.winner is None
    text = " ".join(result.advice)
    for step in ("Extend the test duration", "Increase the sample size", "Analyze sub-segments"):
        assert step in text
    assert f"{needed:,} per arm" in text and f"{c.more_days:,} " in text


def test_a_target_effect_sizes_the_test_instead_of_the_observed_one() -> None:
    result = readout(CONTROL, [Arm("b", 10_000, 510)], min_effect=0.01, daily_enrolments=500)
    (c,) = result.comparisons
    assert c.sized_for == 0.01
    assert c.needed_per_arm == sample_size_per_arm(0.05, 0.06)
    assert "(the target)" in c.advice


def test_when_the_planned_sample_is_reached_the_advice_is_to_keep_control() -> None:
    control = Arm("control", 50_000, 2_500)
    result = readout(control, [Arm("b", 50_000, 2_520)], min_effect=0.01, daily_enrolments=1_000)
    (c,) = result.comparisons
    assert c.verdict == NO_DIFFERENCE and c.sample_reached
    assert c.needed_per_arm is not None and c.needed_per_arm <= 50_000
    assert c.more_days == 0
    assert result.advice[0] == "No significant difference at the planned sample size."
    assert "Keep control, or test a bolder change." in result.advice


def test_a_target_above_the_ceiling_is_sized_downwards() -> None:
    control = Arm("control", 1_000, 995)
    result = readout(control, [Arm("b", 1_000, 990)], min_effect=0.05)
    assert result.comparisons[0].needed_per_arm == sample_size_per_arm(0.995, 0.945)


def test_an_identical_variant_asks_for_a_target_effect() -> None:
    result = readout(CONTROL, [Arm("b", 10_000, 500)], daily_enrolments=1_000)
    (c,) = result.comparisons
    assert c.verdict == NO_DIFFERENCE and c.needed_per_arm is None and c.more_days is None
    assert "min_effect" in c.advice


def test_holm_corrects_across_variants() -> None:
    # b alone would pass at 0.05; with c in the family its adjusted p is above it
    b, c = Arm("b", 10_000, 570), Arm("c", 10_000, 530)
    alone = readout(CONTROL, [b])
    assert alone.comparisons[0].p_value < 0.05 and alone.verdict == WINNER
    result = readout(CONTROL, [b, c], daily_enrolments=3_000)
    raw = [_chi2_p(CONTROL, b), _chi2_p(CONTROL, c)]
    assert [x.p_value for x in result.comparisons] == pytest.approx(raw, rel=1e-9)
    assert [x.adjusted_p for x in result.comparisons] == pytest.approx(holm(raw))
    assert result.comparisons[0].adjusted_p > 0.05
    assert result.verdict == NO_DIFFERENCE and result.correction == "holm"
    # the intervals and the planning use alpha / m
    assert result.confidence == pytest.approx(0.975)
    first = result.comparisons[0]
    half = stats.norm.ppf(1 - 0.025 / 2) * math.sqrt(0.05 * 0.95 / 1e4 + 0.057 * 0.943 / 1e4)
    assert first.ci_high - first.diff == pytest.approx(half)
    assert first.needed_per_arm == sample_size_per_arm(0.05, 0.057, alpha=0.025)
    assert "for b," in result.advice[1]  # the variant that looks best leads the advice


def test_the_best_of_several_winners_is_adopted() -> None:
    result = readout(CONTROL, [Arm("b", 10_000, 700), Arm("c", 10_000, 800), Arm("d", 10_000, 400)])
    assert [c.verdict for c in result.comparisons] == [WINNER, WINNER, LOSER]
    assert result.verdict == WINNER and result.winner == "c"
    assert any(line.startswith("d:") and "stop it" in line for line in result.advice)


def test_tiny_samples_are_too_few_even_when_they_look_clear() -> None:
    result = readout(Arm("control", 20, 0), [Arm("b", 20, 15)], daily_enrolments=40)
    (c,) = result.comparisons
    assert c.verdict == TOO_FEW and not c.significant
    assert c.needed_per_arm == MIN_ENROLLED
    assert c.more_days == math.ceil(10 / 20)
    assert result.verdict == TOO_FEW
    assert result.advice == ("b: " + c.advice + ".",)
    assert c.advice.startswith("too few: need 30 per arm (control has 20, b has 20)")


def test_too_few_conversions_need_five_expected_each_way() -> None:
    result = readout(Arm("control", 400, 2), [Arm("b", 400, 4)])
    (c,) = result.comparisons
    assert c.verdict == TOO_FEW
    assert c.needed_per_arm == math.ceil(5 / (6 / 800))
    assert c.p_value is not None  # the figures are still shown


def test_too_few_with_a_target_takes_the_larger_need() -> None:
    result = readout(Arm("control", 100, 1), [Arm("b", 100, 3)], min_effect=0.01)
    assert result.comparisons[0].needed_per_arm == max(250, sample_size_per_arm(0.01, 0.02))


@pytest.mark.parametrize(("converted", "word"), [(0, "nobody converted"), (600, "everybody")])
def test_the_same_outcome_for_everyone_cannot_be_sized(converted: int, word: str) -> None:
    result = readout(Arm("control", 600, converted), [Arm("b", 600, converted)], min_effect=0.01)
    (c,) = result.comparisons
    assert c.verdict == TOO_FEW and c.needed_per_arm is None and c.p_value == 1.0
    assert word in c.advice and "conversion event" in c.advice


def test_empty_arms_have_no_figures_and_need_the_minimum() -> None:
    result = readout(Arm("control", 0, 0), [Arm("b", 0, 0), Arm("c", 12, 1)])
    for c in result.comparisons:
        assert c.verdict == TOO_FEW
        assert None in (c.control_rate, c.variant_rate)
        assert c.diff is None and c.p_value is None and c.mde is None
        assert c.adjusted_p == 1.0
    assert result.comparisons[0].needed_per_arm == MIN_ENROLLED
    assert result.comparisons[1].needed_per_arm == math.ceil(5 / (1 / 12))


def test_no_count_makes_the_readout_divide_by_zero() -> None:
    sizes = (0, 1, 5, 30, 31, 200)
    for n1 in sizes:
        for n2 in sizes:
            for x1 in sorted({0, 1, n1 // 2, n1}):
                for x2 in sorted({0, 1, n2 // 2, n2}):
                    if x1 > n1 or x2 > n2:
                        continue
                    for effect in (None, 0.02):
                        result = readout(
                            Arm("control", n1, x1),
                            [Arm("b", n2, x2), Arm("c", n1, x1)],
                            min_effect=effect,
                            daily_enrolments=10,
                        )
                        for c in result.comparisons:
                            for value in (c.diff, c.ci_low, c.ci_high, c.z, c.p_value, c.mde):
                                assert value is None or math.isfinite(value)
                            assert c.advice
                        assert result.advice


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Arm("", 10, 1), "arm.name"),
        (lambda: Arm("b", -1, 0), "b.enrolled"),
        (lambda: Arm("b", 10, 11), "b.converted"),
        (lambda: Arm("b", 10.0, 1), "b.enrolled"),  # type: ignore[arg-type]
        (lambda: readout(CONTROL, []), "variants"),
        (lambda: readout(CONTROL, [Arm("control", 10, 1)]), "variants[0]"),
        (lambda: readout(CONTROL, [Arm("b", 10, 1), Arm("b", 10, 1)]), "variants[1]"),
        (lambda: readout(CONTROL, [("b", 10, 1)]), "variants[0]"),  # type: ignore[list-item]
        (lambda: readout(CONTROL, [Arm("b", 10, 1)], alpha=1.5), "alpha"),
        (lambda: readout(CONTROL, [Arm("b", 10, 1)], power=0), "power"),
        (lambda: readout(CONTROL, [Arm("b", 10, 1)], min_effect=0), "min_effect"),
        (lambda: readout(CONTROL, [Arm("b", 10, 1)], min_effect=1.5), "min_effect"),
        (lambda: readout(CONTROL, [Arm("b", 10, 1)], daily_enrolments=0), "daily_enrolments"),
    ],
)
def test_bad_input_names_the_field(make: object, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        make()  # type: ignore[operator]
    assert caught.value.field == field
    assert caught.value.fix
