"""`mcopilot score rfm --workspace W --as-of YYYY-MM-DD`: scores, persisted and printed."""

from __future__ import annotations

import csv
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from api.cli.ingest import WorkspaceOption
from api.cli.output import console, print_json_line
from api.cli.segment import summary_json, summary_line
from core.errors import InvalidInput
from core.settings import get_settings

app = typer.Typer(help="Compute and print customer scores.", no_args_is_help=True)
COLUMNS = ("customer_id", "recency_days", "frequency", "monetary", "r", "f", "m", "composite")


def parse_day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"must be YYYY-MM-DD, got {text!r}", field=field) from None


def parse_weights(text: str) -> tuple[int, int, int]:
    parts = text.split(",")
    if len(parts) != 3 or not all(p.strip().isdigit() for p in parts):
        raise InvalidInput(
            f"must be three whole numbers like 4,3,3, got {text!r}", field="--weights"
        )
    r, f, m = (int(p) for p in parts)
    return r, f, m


@app.command("rfm")
def rfm(
    workspace: WorkspaceOption,
    as_of: Annotated[str, typer.Option("--as-of", help="The day scored, YYYY-MM-DD.")],
    window_days: Annotated[
        int, typer.Option("--window-days", help="Frequency and monetary window.")
    ] = 180,
    weights: Annotated[
        str, typer.Option("--weights", help="R,F,M weights of the composite.")
    ] = "4,3,3",
    out: Annotated[
        Path | None, typer.Option("--out", help="Write all rows to this CSV file.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print every row as a JSON line.")
    ] = False,
) -> None:
    """Recency, frequency, monetary and their 1-5 buckets; saved as the day's snapshot."""
    from scoring.rfm import RfmConfig
    from scoring.rfm_job import snapshot_rfm, snapshot_rows

    if out is not None and as_json:
        raise InvalidInput("pass --out or --json, not both", field="--out")
    day = parse_day(as_of, "--as-of")
    config = RfmConfig(window_days=window_days, weights=parse_weights(weights))
    settings = get_settings()
    summary = snapshot_rfm(settings, workspace, day, config)
    rows = snapshot_rows(settings, workspace, day)
    values = [
        (
            r.customer_id,
            r.recency_days,
            r.frequency,
            f"{r.monetary_cents / 100:.2f}",
            r.r,
            r.f,
            r.m,
            r.composite,
        )
        for r in rows
    ]
    if as_json:
        for row in values:
            print_json_line(dict(zip(COLUMNS, row, strict=True)))
        return
    if out is not None:
        try:
            with out.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(COLUMNS)
                writer.writerows(values)
        except OSError as exc:
            raise InvalidInput(
                f"cannot write {str(out)!r}: {exc.strerror}", field="--out"
            ) from None
    table = Table(
        title=f"RFM as of {day} (window {config.window_days} days, weights "
        f"{config.weights_text}); top 10 of {summary.customers:,}",
        title_justify="left",
    )
    for column in COLUMNS:
        table.add_column(column, justify="left" if column == "customer_id" else "right")
    for row in values[:10]:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)
    console.print(
        f"VIP (composite >= {config.vip_threshold}): {summary.vip:,}; customers per bucket 1-5: "
        + "; ".join(f"{k.upper()} {v}" for k, v in summary.buckets.items())
    )
    if out is not None:
        console.print(f"wrote {len(values):,} rows to {out}")
    sys.stdout.flush()


@app.command("run")
def run(
    workspace: WorkspaceOption,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The day scored, YYYY-MM-DD; default today (UTC).")
    ] = None,
    window_days: Annotated[
        int, typer.Option("--window-days", help="RFM frequency and monetary window.")
    ] = 180,
    weights: Annotated[str, typer.Option("--weights", help="RFM R,F,M weights.")] = "4,3,3",
    lifecycle: Annotated[
        Path | None,
        typer.Option(
            "--lifecycle", help="YAML of lifecycle rule thresholds (scoring/lifecycle.py)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Recompute every score as one batch: RFM, features, propensities, lifecycle, segments."""
    from core.clock import utcnow
    from scoring.lifecycle import load_lifecycle_config
    from scoring.rfm import RfmConfig
    from scoring.score_run import run_scores_for

    day = parse_day(as_of, "--as-of") if as_of else utcnow().date()
    rfm_config = RfmConfig(window_days=window_days, weights=parse_weights(weights))
    lifecycle_config = load_lifecycle_config(lifecycle) if lifecycle else None
    report = run_scores_for(
        get_settings(), workspace, day, rfm=rfm_config, lifecycle=lifecycle_config
    )
    stages = report.lifecycle.stages if report.lifecycle else {}
    if as_json:
        print_json_line(
            {
                "as_of": day.isoformat(),
                "customers": report.customers,
                "lifecycle": stages,
                "propensities": report.propensities,
                "segments": [summary_json(s) for s in report.segments],
                "seconds": {k: round(v, 3) for k, v in report.seconds.items()},
            }
        )
        return
    console.print(
        f"scored {report.customers:,} customers as of {day} in "
        f"{sum(report.seconds.values()):.1f} s ("
        + ", ".join(f"{k} {v:.1f} s" for k, v in report.seconds.items())
        + ")"
    )
    table = Table(title="lifecycle stages", title_justify="left")
    table.add_column("stage")
    table.add_column("customers", justify="right")
    for stage, count in stages.items():
        table.add_row(stage, f"{count:,}")
    console.print(table)
    for summary in report.segments:
        console.print(summary_line(summary))


@app.command("show")
def show(
    customer: Annotated[str, typer.Argument(help="The customer's userId, email or id.")],
    workspace: WorkspaceOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """One customer's scores explained: RFM, lifecycle stage and history, churn risk and
    upgrade propensity with their reasons, segments."""
    from dataclasses import asdict

    from core import workspaces
    from core.db import session_scope
    from scoring.customer_scores import customer_scores

    with session_scope(get_settings()) as session:
        workspace_id = workspaces.get_or_raise(session, workspace).id
        scores = customer_scores(session, workspace_id, customer)
    if as_json:
        print_json_line(asdict(scores))
        return
    name = scores.user_id or scores.customer_id
    console.print(f"[bold]{escape(name)}[/]")
    if scores.rfm:
        rfm = scores.rfm
        console.print(
            f"RFM as of {rfm['as_of']}: recency {rfm['recency_days']} days, frequency "
            f"{rfm['frequency']}, monetary {rfm['monetary']:,.2f}; R{rfm['r']} F{rfm['f']} "
            f"M{rfm['m']}, composite {rfm['composite']}"
        )
    if scores.stage:
        console.print(
            f"lifecycle: {scores.stage} since {scores.stage_since} (rule {scores.stage_rule})"
        )
        for move in scores.history:
            came = f" from {move.previous_stage}" if move.previous_stage else ""
            console.print(f"  {move.entered_on}: {move.stage}{came} ({move.rule})")
    p = scores.propensities
    if p is not None:
        console.print(f"{p.headline()} (as of {p.as_of}; {p.churn_source} / {p.upgrade_source})")
        for label, reasons in (("churn", p.churn_reasons), ("upgrade", p.upgrade_reasons)):
            for reason in reasons:
                sign = "+" if reason.direction == "up" else "-"
                console.print(f"  {label} {sign} {escape(reason.text)}")
    if scores.rfm is None and scores.stage is None and p is None:
        console.print(f"not scored yet; run `mcopilot score run -w {escape(workspace)}`")
    console.print("segments: " + (", ".join(scores.segments) or "none"))
