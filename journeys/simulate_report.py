"""A simulation report as a text table for the terminal and as JSON."""

from __future__ import annotations

from typing import Any

from journeys.render import CHANNEL_NAMES
from journeys.simulate import BUCKET_ORDER, SimulationReport

STEP_COLUMNS = (
    "Step",
    "Channel",
    "Day",
    "Reached",
    "Sent",
    "Delayed",
    "Dropped (caps)",
    "Suppressed",
    "After horizon",
)


def report_json(report: SimulationReport) -> dict[str, Any]:
    expected = report.expected
    return {
        "journey": report.journey_id,
        "version": report.version,
        "start": report.start.isoformat(),
        "days": report.days,
        "customers": report.customers,
        "matching": report.matching,
        "holdout": report.holdout,
        "entries": report.entries,
        "touches": dict(sorted(report.touches.items())),
        "total_touches": report.total_touches,
        "touches_per_customer": {str(k): v for k, v in sorted(report.touches_per_customer.items())},
        "cap_hits": dict(sorted(report.cap_hits.items())),
        "suppressions": dict(sorted(report.suppressions.items())),
        "exits": dict(sorted(report.exits.items())),
        "branches": {node: dict(counts) for node, counts in report.branches.items()},
        "steps": [
            {
                "node": s.node_id,
                "channel": s.channel,
                "day": s.day,
                "reached": s.reached,
                "sent": s.sent,
                "delayed": s.delayed,
                "dropped_by_caps": s.dropped_by_caps,
                "suppressed": s.suppressed,
                "after_horizon": s.after_horizon,
            }
            for s in report.steps.values()
        ],
        "expected_conversions": None
        if expected is None
        else {
            "conversions": round(expected.conversions, 2),
            "rate": round(expected.rate, 4),
            "method": expected.method,
            "entrants_by_bucket": expected.entrants_by_bucket,
            "history": {
                name: {"customers": r.customers, "converted": r.converted, "rate": round(r.rate, 4)}
                for name, r in expected.rates.items()
            },
        },
        "notes": report.notes,
    }


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: tuple[str, ...]) -> str:
        return "│ " + " │ ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " │"

    rule = "─┼─".join("─" * w for w in widths)
    return [
        "┌─" + "─┬─".join("─" * w for w in widths) + "─┐",
        line(header),
        f"├─{rule}─┤",
        *(line(row) for row in rows),
        "└─" + "─┴─".join("─" * w for w in widths) + "─┘",
    ]


def _counts(counts: dict[str, int] | Any) -> str:
    return " | ".join(f"{key}: {value:,}" for key, value in sorted(counts.items())) or "none"


def report_text(report: SimulationReport) -> str:
    title = (
        f"JOURNEY SIMULATION — {report.journey_id} v{report.version}, {report.days} days from "
        f"{report.start.date()} (no sends)"
    )
    out = [title, "=" * len(title)]
    out.append(
        f"Customers: {report.customers:,} | Matching trigger and target: {report.matching:,} | "
        f"Holdout: {report.holdout:,} | Entries: {report.entries:,}"
    )
    per = report.total_touches / report.entries if report.entries else 0.0
    channels = " | ".join(
        f"{CHANNEL_NAMES.get(ch, ch)}: {n:,}" for ch, n in sorted(report.touches.items())
    )
    out += [
        "",
        "TOUCHES:",
        f"  {channels or 'none'} | Total: {report.total_touches:,} | Per entrant: {per:.2f}",
        "  Touches per customer: "
        + " | ".join(f"{k}: {v:,}" for k, v in sorted(report.touches_per_customer.items())),
    ]
    rows = [
        (
            s.node_id,
            CHANNEL_NAMES.get(s.channel, s.channel),
            str(s.day),
            f"{s.reached:,}",
            f"{s.sent:,}",
            f"{s.delayed:,}",
            f"{s.dropped_by_caps:,}",
            f"{s.suppressed:,}",
            f"{s.after_horizon:,}",
        )
        for s in report.steps.values()
    ]
    out += ["", "STEPS:", *(f"  {line}" for line in table(STEP_COLUMNS, rows))]
    out += ["", "CAP HITS:", f"  {_counts(report.cap_hits)}"]
    out += ["", "SUPPRESSIONS:", f"  {_counts(report.suppressions)}"]
    if report.branches:
        out += ["", "BRANCHES AND VARIANTS:"]
        out += [f"  {node}: {_counts(counts)}" for node, counts in report.branches.items()]
    out += ["", "EXITS:", f"  {_counts(report.exits)}"]
    expected = report.expected
    if expected is not None:
        out += [
            "",
            "EXPECTED CONVERSIONS (from history):",
            f"  {expected.conversions:,.1f} of {report.entries:,} entrants ({expected.rate:.1%})",
            f"  Method: {expected.method}",
        ]
        buckets = sorted(
            expected.entrants_by_bucket.items(), key=lambda i: BUCKET_ORDER.index(i[0])
        )
        for name, count in buckets:
            rate = expected.rates.get(name)
            history = (
                f"{rate.converted:,} of {rate.customers:,} converted ({rate.rate:.1%})"
                if rate is not None and rate.customers
                else "no history (counted as 0)"
            )
            out.append(f"  last order {name}: {count:,} entrants; history: {history}")
    if report.notes:
        out += ["", "NOTES:", *(f"  - {note}" for note in report.notes)]
    return "\n".join(out) + "\n"
