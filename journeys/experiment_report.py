"""The experiment readout as text for the terminal: one table row per arm, then the advice."""

from __future__ import annotations

from collections.abc import Sequence

from journeys.experiment_stats import Comparison, Readout

HEADERS = ("arm", "enrolled", "converted", "rate", "diff", "{level} CI", "lift", "z", "p")
ADJUSTED = "adj. p"


def render_readout(result: Readout, *, title: str = "") -> str:
    """The readout as aligned text: settings, a row per arm, the MDE, the verdict and advice."""
    family = len(result.comparisons)
    level = _percent(result.confidence)
    setting = (
        f"alpha {result.alpha:g}, power {_percent(result.power)}, "
        + (f"Holm-adjusted over {family} variants, " if family > 1 else "")
        + f"{level} intervals"
        + (" (Bonferroni)" if family > 1 else "")
    )
    lines = [f"{title or 'Experiment readout'} ({setting})", ""]
    headers = [h.format(level=level) for h in HEADERS]
    headers += [ADJUSTED, "verdict"] if family > 1 else ["verdict"]
    control = result.control
    rows = [[control.name, f"{control.enrolled:,}", f"{control.converted:,}", _rate(control.rate)]]
    for arm, comparison in zip(result.variants, result.comparisons, strict=True):
        rows.append(_row(arm.name, arm.enrolled, arm.converted, comparison, family > 1))
    lines += _table(headers, rows)
    mdes = [f"{c.variant} {_points(c.mde)}" for c in result.comparisons if c.mde is not None]
    if mdes:
        lines += [
            "",
            f"Smallest lift detected with {_percent(result.power)} power at this size: "
            + ", ".join(mdes),
        ]
    lines += ["", f"Verdict: {result.verdict}" + (f" ({result.winner})" if result.winner else "")]
    lines += [f"  - {line}" for line in result.advice]
    return "\n".join(lines)


def _row(name: str, enrolled: int, converted: int, c: Comparison, adjusted: bool) -> list[str]:
    interval = (
        f"[{_signed(c.ci_low)}, {_signed(c.ci_high)}]"
        if c.ci_low is not None and c.ci_high is not None
        else "-"
    )
    row = [
        name,
        f"{enrolled:,}",
        f"{converted:,}",
        _rate(c.variant_rate),
        _signed(c.diff),
        interval,
        "-" if c.lift is None else f"{c.lift * 100:+.1f}%",
        "-" if c.z is None else f"{c.z:+.2f}",
        _p(c.p_value),
    ]
    if adjusted:
        row.append(_p(c.adjusted_p))
    row.append(c.verdict)
    return row


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [len(h) for h in headers]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))
    last = len(headers) - 1

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.ljust(widths[i]) if i in (0, last) else cell.rjust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return "  ".join(padded).rstrip()

    return [line(headers), *(line(row) for row in rows)]


def _rate(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.2f}%"


def _signed(points: float | None) -> str:
    """An absolute difference in percentage points, signed."""
    return "-" if points is None else f"{points * 100:+.2f} pp"


def _points(points: float) -> str:
    return f"+{points * 100:.2f} pp"


def _p(p: float | None) -> str:
    if p is None:
        return "-"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _percent(share: float) -> str:
    return f"{share * 100:.1f}".rstrip("0").rstrip(".") + "%"
