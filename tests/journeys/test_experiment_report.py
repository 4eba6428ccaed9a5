"""The readout as terminal text: settings, aligned rows, the MDE, the verdict and the advice."""

from __future__ import annotations

import math

from scipy import stats

from journeys.experiment_report import render_readout
from journeys.experiment_stats import Arm, readout

CONTROL = Arm("control", 10_000, 500)


def test_a_single_variant_winner() -> None:
    result = readout(CONTROL, [Arm("subject-b", 10_000, 580)])
    text = render_readout(result, title="Winback")
    lines = text.splitlines()
    assert lines[0] == "Winback (alpha 0.05, power 80%, 95% intervals)"
    header = lines[2]
    assert header.split() == [
        "arm", "enrolled", "converted", "rate", "diff", "95%", "CI", "lift", "z", "p", "verdict"
    ]  # fmt: skip
    assert lines[3].split() == ["control", "10,000", "500", "5.00%"]
    # the figures as scipy gives them: the chi-square test of the 2x2 table and a Wald interval
    chi2 = stats.chi2_contingency([[500, 9_500], [580, 9_420]], correction=False)
    half = stats.norm.ppf(0.975) * math.sqrt(0.05 * 0.95 / 1e4 + 0.058 * 0.942 / 1e4)
    low, high = (0.008 - half) * 100, (0.008 + half) * 100
    assert lines[4].split() == [
        "subject-b", "10,000", "580", "5.80%", "+0.80", "pp", f"[{low:+.2f}", "pp,",
        f"{high:+.2f}", "pp]", "+16.0%", f"+{math.sqrt(chi2.statistic):.2f}",
        f"{chi2.pvalue:.3f}", "winner",
    ]  # fmt: skip
    mde = result.comparisons[0].mde
    assert mde is not None
    assert (
        f"Smallest lift detected with 80% power at this size: subject-b +{mde * 100:.2f} pp" in text
    )
    assert "Verdict: winner (subject-b)" in text
    assert "  - Adopt subject-b as a new journey version." in lines


def test_several_variants_show_adjusted_p_and_aligned_columns() -> None:
    result = readout(
        CONTROL, [Arm("b", 10_000, 520), Arm("c", 10_000, 430)], daily_enrolments=1_500
    )
    text = render_readout(result)
    lines = text.splitlines()
    assert lines[0] == (
        "Experiment readout (alpha 0.05, power 80%, Holm-adjusted over 2 variants, "
        "97.5% intervals (Bonferroni))"
    )
    header, rows = lines[2], lines[3:6]
    assert "97.5% CI" in header and "adj. p" in header
    column = header.index("verdict")
    assert rows[1][column:] == "no significant difference"
    assert rows[2][column:] == "loser"
    c = result.comparisons[1]
    assert rows[2].split()[-3:] == [f"{c.p_value:.3f}", f"{c.adjusted_p:.3f}", "loser"]
    assert "Verdict: no significant difference" in lines
    assert "  - No significant difference yet." in lines
    assert any(line.startswith("  - Extend the test duration: for b,") for line in lines)
    assert lines[-1] == "  - c: converts worse than control by 0.70 pp: stop it."


def test_missing_figures_show_as_dashes_and_tiny_p_values_as_a_bound() -> None:
    empty = render_readout(readout(Arm("control", 0, 0), [Arm("b", 10, 1)]))
    row = empty.splitlines()[4]
    assert row.split() == ["b", "10", "1", "10.00%", "-", "-", "-", "-", "-", "too", "few"]
    assert "Smallest lift" not in empty
    assert empty.splitlines()[-1] == "  - b: too few: need 50 per arm (control has 0, b has 10)."
    strong = render_readout(readout(CONTROL, [Arm("b", 10_000, 800)]))
    assert strong.splitlines()[4].split()[-2:] == ["<0.001", "winner"]
