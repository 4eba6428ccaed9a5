"""Draw a `Dashboard` as seed 000's terminal live view (box-drawing pipeline table) or as JSON.

Pure: plain data in, text or a JSON-ready dict out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from journeys.dashboard_data import Alert, Dashboard, Kpi, Trend, channel_label

TITLE = "JOURNEY ORCHESTRATION DASHBOARD — Live View"
HEADERS = ("Journey", "Active", "Completed", "Converted", "Conv. Rate")
MIN_WIDTHS = (22, 10, 9, 10, 12)
#: Changes smaller than these read as "stable" (they round to 0.0 in the display).
STABLE = {"share": 0.0005, "touches": 0.05}
NOTE = "Conv. rate = converted / ended (completed, exited or removed); holdout not counted."


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def box_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A table drawn with box-drawing characters, one space of padding, columns as wide as
    their widest cell (at least the seed's widths)."""
    widths = [
        max(
            len(headers[i]), MIN_WIDTHS[i] if i < len(MIN_WIDTHS) else 0, *(len(r[i]) for r in rows)
        )
        for i in range(len(headers))
    ]

    def rule(left: str, middle: str, right: str) -> str:
        return left + middle.join("─" * (w + 2) for w in widths) + right

    def line(cells: Sequence[str]) -> str:
        return "│" + "│".join(f" {c:<{w}} " for c, w in zip(cells, widths, strict=True)) + "│"

    body = [line(r) for r in rows] or [line(["(no journeys)", *[""] * (len(headers) - 1)])]
    return [rule("┌", "┬", "┐"), line(headers), rule("├", "┼", "┤"), *body, rule("└", "┴", "┘")]


def trend_text(trend: Trend) -> str:
    """`↑ 61.2% (+3.1 pts from 58.1%)`, `4.2 touches (↑ 0.3 from 3.9)`, `2.1% (stable)`."""
    if trend.current is None:
        return "n/a (nothing in the last 30 days)"
    shown = pct if trend.unit == "share" else (lambda v: f"{v:.1f}")
    value = shown(trend.current) + (" touches" if trend.unit == "touches" else "")
    delta = trend.delta
    if delta is None:
        return f"{value} (no data for the 30 days before)"
    if abs(delta) < STABLE[trend.unit]:
        return f"{value} (stable)"
    arrow = "↑" if delta > 0 else "↓"
    if trend.unit == "share":
        return f"{arrow} {value} ({delta * 100:+.1f} pts from {shown(trend.previous)})"
    return f"{value} ({arrow} {abs(delta):.1f} from {shown(trend.previous)})"


def kpi_text(kpi: Kpi) -> str:
    if kpi.key == "segment_conversion_uplift":
        value = "n/a" if kpi.value is None else f"{kpi.value * 100:+.1f} pts"
    elif kpi.key == "promotion_attribution":
        value = "n/a" if kpi.value is None else f"{pct(kpi.value)} of promoted revenue"
    else:
        value = pct(kpi.value)
    return f"{kpi.label}: {value} ({kpi.detail})"


def alert_text(alert: Alert) -> str:
    return ("⚠ " if alert.level == "warning" else "✓ ") + alert.message


def render_text(d: Dashboard) -> list[str]:
    """The dashboard as lines of text, in seed 000's layout."""
    a, n = d.activity, d.nba
    rows = [
        (
            r.name,
            f"{r.active:,}",
            f"{r.completed:,}",
            f"{r.converted:,}",
            pct(r.conversion_rate),
        )
        for r in d.journeys
    ]
    failed = ", ".join(
        f"{channel_label(ch)}: {k:,}" for ch, k in sorted(a.failed_by_channel.items())
    )
    lines = [
        TITLE,
        "=" * len(TITLE),
        f"Workspace: {d.workspace}",
        f"As of: {d.as_of.strftime('%Y-%m-%d %H:%M')} UTC",
        "",
        f"ACTIVE JOURNEYS: {d.active_journeys:,} | Total customers in journeys: "
        f"{d.customers_in_journeys:,}",
        "",
        "JOURNEY PIPELINE:",
        *box_table(HEADERS, rows),
        f"  {NOTE}",
        "",
        "REAL-TIME TRIGGER ACTIVITY (Last 1 Hour):",
        f"  Triggers fired: {a.fired:,}",
        f"  Actions executed: {a.executed:,} ({pct(a.delivery_rate)} delivery rate)",
        f"  Failed deliveries: {a.failed:,}" + (f" ({failed})" if failed else ""),
        f"  Suppressed (frequency cap): {a.suppressed_cap:,}",
        f"  Suppressed (opt-out): {a.suppressed_optout:,}",
        "",
        "NEXT BEST ACTION STATS (Last 1 Hour):",
        f"  NBA decisions: {n.decisions:,} | Avg confidence score: {pct(n.avg_confidence)}",
    ]
    if n.top_actions:
        lines.append("  Top recommended actions:")
        lines += [
            f"    {i}. {s.title} ({channel_label(s.channel)}): {s.count:,} [{pct(s.share)}]"
            for i, s in enumerate(n.top_actions, start=1)
        ]
    if n.no_action:
        lines.append(f"  No action passed the constraints: {n.no_action:,}")
    lines += ["", "PERFORMANCE TRENDS (Last 30 Days vs the 30 Before):"]
    lines += [f"  {t.label}: {trend_text(t)}" for t in d.trends]
    lines += ["", "KPIs (Last 30 Days):"]
    lines += [f"  {kpi_text(k)}" for k in d.kpis]
    lines += ["", "ALERTS:"]
    lines += [f"  {alert_text(x)}" for x in d.alerts] or ["  ✓ No alerts"]
    return lines


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def render_json(d: Dashboard) -> dict[str, Any]:
    """The dashboard as JSON-ready data: every count, every rate (shares, 0..1) and alert."""
    a = d.activity
    return _rounded(
        {
            "workspace": d.workspace,
            "as_of": d.as_of.isoformat(),
            "active_journeys": d.active_journeys,
            "customers_in_journeys": d.customers_in_journeys,
            "journeys": [{**asdict(r), "conversion_rate": r.conversion_rate} for r in d.journeys],
            "trigger_activity": {
                "start": a.start.isoformat(),
                "end": a.end.isoformat(),
                "fired": a.fired,
                "executed": a.executed,
                "delivery_rate": a.delivery_rate,
                "failed": a.failed,
                "failed_by_channel": dict(sorted(a.failed_by_channel.items())),
                "suppressed_cap": a.suppressed_cap,
                "suppressed_optout": a.suppressed_optout,
            },
            "nba": {
                "start": d.nba.start.isoformat(),
                "end": d.nba.end.isoformat(),
                "decisions": d.nba.decisions,
                "avg_confidence": d.nba.avg_confidence,
                "no_action": d.nba.no_action,
                "top_actions": [asdict(s) for s in d.nba.top_actions],
            },
            "trends": [{**asdict(t), "delta": t.delta} for t in d.trends],
            "kpis": [asdict(k) for k in d.kpis],
            "alerts": [asdict(x) for x in d.alerts],
        }
    )
