"""`mcopilot segment create|list|preview|members|explain|refresh|delete|seed`: saved audiences."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from api.cli.ingest import WorkspaceOption
from api.cli.output import console, err_console, print_json_line
from core import workspaces
from core.db import session_scope
from core.errors import InvalidInput
from core.settings import get_settings

if TYPE_CHECKING:
    from scoring.segment_refresh import RunSummary
    from scoring.segments import Explanation

app = typer.Typer(help="Define, compute and inspect customer segments.", no_args_is_help=True)

NameArgument = Annotated[str, typer.Argument(help="The segment's name.", show_default=False)]
CriteriaOption = Annotated[
    str,
    typer.Option(
        "--criteria",
        help='Criteria JSON, e.g. \'{"rfm.composite": {"gte": 38}}\', or @FILE to read it.',
    ),
]
ChannelOption = Annotated[
    str | None,
    typer.Option(
        "--channel", help="email|sms|push|in_app: customers unsubscribed from it are left out."
    ),
]
IncludeOption = Annotated[
    bool,
    typer.Option("--include-unsubscribed", help="Keep customers who unsubscribed."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON lines.")]


def read_criteria(text: str) -> Any:
    """The --criteria value as data: JSON text, or @FILE holding it."""
    from scoring.criteria import load_criteria_json

    if text.startswith("@"):
        path = Path(text[1:])
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise InvalidInput(f"cannot read {str(path)!r}: {reason}", field="--criteria") from None
    return load_criteria_json(text, field="--criteria")


def _warn(warnings: list[str]) -> None:
    for warning in warnings:
        err_console.print(f"warning: {warning}", markup=False)


def summary_json(summary: RunSummary) -> dict[str, Any]:
    return {
        "segment": summary.segment,
        "segment_id": summary.segment_id,
        "run_id": summary.run_id,
        "as_of": summary.as_of.isoformat(),
        "previous_population": summary.previous_population,
        "population": summary.population,
        "entered": summary.entered,
        "exited": summary.exited,
        "drift_pct": summary.drift_pct,
        "drift_alert": summary.drift_alert,
        "threshold_pct": summary.threshold_pct,
        "warnings": summary.warnings,
    }


def _customers(count: int) -> str:
    return f"{count:,} customer" + ("" if count == 1 else "s")


def summary_line(summary: RunSummary) -> str:
    was = (
        "first compute"
        if summary.previous_population is None
        else (f"was {summary.previous_population:,}")
    )
    line = (
        f"{summary.segment}: {_customers(summary.population)} ({was}; "
        f"+{summary.entered:,} entered, -{summary.exited:,} exited)"
    )
    if summary.drift_alert:
        change = "from none" if summary.drift_pct is None else f"{summary.drift_pct:g}%"
        line += f" DRIFT ALERT: changed {change}, threshold {summary.threshold_pct:g}%"
    elif summary.drift_pct is not None:
        line += f", drift {summary.drift_pct:g}%"
    return line


@app.command("create")
def create(
    name: NameArgument,
    workspace: WorkspaceOption,
    criteria: CriteriaOption,
    channel: ChannelOption = None,
    include_unsubscribed: IncludeOption = False,
    drift_threshold: Annotated[
        float,
        typer.Option(
            "--drift-threshold",
            help="Alert when a refresh changes the population by more than this percentage.",
        ),
    ] = 20.0,
    description: Annotated[str, typer.Option("--description", help="What it is for.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Save a segment and compute its members."""
    from scoring import segments
    from scoring.segment_refresh import refresh

    data = read_criteria(criteria)
    settings = get_settings()
    with session_scope(settings) as session:
        ws = workspaces.get_or_raise(session, workspace)
        segment = segments.create(
            session,
            workspace_id=ws.id,
            name=name,
            criteria=data,
            quota=settings.segment_quota,
            channel=channel,
            include_unsubscribed=include_unsubscribed,
            drift_threshold_pct=drift_threshold,
            description=description,
        )
        summary = refresh(session, segment)
        active = segments.active_customers(session, ws.id)
    if as_json:
        print_json_line(summary_json(summary))
    else:
        console.print(
            f"created segment {summary.segment}: {_customers(summary.population)} "
            f"(of {active:,} active) as of {summary.as_of}",
            markup=False,
        )
    _warn(summary.warnings)


@app.command("list")
def list_segments(workspace: WorkspaceOption, as_json: JsonOption = False) -> None:
    """The workspace's segments with their populations."""
    from scoring import segments

    with session_scope(get_settings()) as session:
        ws = workspaces.get_or_raise(session, workspace)
        rows = [
            {
                "name": s.name,
                "id": s.id,
                "population": s.population,
                "computed_at": s.computed_at.isoformat() if s.computed_at else None,
                "channel": s.channel,
                "include_unsubscribed": s.include_unsubscribed,
                "drift_threshold_pct": s.drift_threshold_pct,
                "criteria": s.criteria,
                "description": s.description,
            }
            for s in segments.list_all(session, ws.id)
        ]
    if as_json:
        for row in rows:
            print_json_line(row)
        return
    table = Table(title=f"{len(rows)} segments", title_justify="left")
    for column in ("name", "population", "channel", "computed", "criteria"):
        table.add_column(column, justify="right" if column == "population" else "left")
    for row in rows:
        table.add_row(
            escape(row["name"]),
            "-" if row["population"] is None else f"{row['population']:,}",
            (row["channel"] or "any") + (" +unsubscribed" if row["include_unsubscribed"] else ""),
            (row["computed_at"] or "never")[:19],
            escape(json.dumps(row["criteria"], ensure_ascii=False)),
        )
    console.print(table)


@app.command("preview")
def preview(
    workspace: WorkspaceOption,
    criteria: CriteriaOption,
    channel: ChannelOption = None,
    include_unsubscribed: IncludeOption = False,
    limit: Annotated[int, typer.Option("--limit", help="How many customers to show.")] = 10,
    as_json: JsonOption = False,
) -> None:
    """How many customers criteria select now, and a few of them; nothing is saved."""
    from scoring import segments

    data = read_criteria(criteria)
    with session_scope(get_settings()) as session:
        ws = workspaces.get_or_raise(session, workspace)
        result = segments.preview(
            session,
            workspace_id=ws.id,
            criteria=data,
            channel=channel,
            include_unsubscribed=include_unsubscribed,
            limit=limit,
        )
    if as_json:
        print_json_line(
            {
                "population": result.population,
                "active_customers": result.active_customers,
                "sample": [
                    {"customer_id": c.id, "user_id": c.user_id, "email": c.email}
                    for c in result.sample
                ],
                "warnings": result.warnings,
            }
        )
    else:
        console.print(
            f"{result.population:,} of {result.active_customers:,} active customers match",
            markup=False,
        )
        for customer in result.sample:
            console.print(f"  {customer.label}  {customer.id}", markup=False)
    _warn(result.warnings)


@app.command("members")
def members(
    name: NameArgument,
    workspace: WorkspaceOption,
    limit: Annotated[int, typer.Option("--limit", help="How many members to show.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """The stored members of a segment, longest-standing first."""
    from scoring import segments

    with session_scope(get_settings()) as session:
        ws = workspaces.get_or_raise(session, workspace)
        segment = segments.get_or_raise(session, ws.id, name)
        rows = segments.members(session, segment, limit=limit)
        population, computed = segment.population, segment.computed_at
    if as_json:
        for row in rows:
            print_json_line(
                {
                    "customer_id": row.customer.id,
                    "user_id": row.customer.user_id,
                    "email": row.customer.email,
                    "entered_at": row.entered_at.isoformat(),
                }
            )
        return
    if computed is None:
        console.print(f"{name}: not computed yet", markup=False)
        return
    for row in rows:
        console.print(
            f"{row.customer.label}  {row.customer.id}  since {row.entered_at:%Y-%m-%d %H:%M}",
            markup=False,
        )
    console.print(f"{len(rows):,} of {population or 0:,} members shown", markup=False)


def _explanation_json(result: Explanation) -> dict[str, Any]:
    return {
        "segment": result.segment,
        "customer": {
            "customer_id": result.customer.id,
            "user_id": result.customer.user_id,
            "email": result.customer.email,
        },
        "in_segment": result.in_segment,
        "criteria_met": result.check.passed,
        "excluded": result.excluded,
        "computed": result.computed,
        "member": result.member_since is not None,
        "member_since": result.member_since.isoformat() if result.member_since else None,
        "agrees": result.agrees,
        "checks": [
            {
                "depth": depth,
                "path": check.path,
                "kind": check.kind,
                "label": check.label,
                "field": check.field,
                "op": check.op,
                "expected": check.expected,
                "actual": check.actual,
                "passed": check.passed,
            }
            for depth, check in result.check.flatten()
        ],
        "notes": result.notes,
    }


def _actual(field: str | None, value: Any) -> str:
    from scoring.criteria_eval import LAST_ORDER_MISSING

    if field == LAST_ORDER_MISSING:
        if value is None:
            return "no order yet"
        return f"last order held: {json.dumps(value, ensure_ascii=False)}"
    return "actual: " + ("missing" if value is None else json.dumps(value, ensure_ascii=False))


def _print_explanation(result: Explanation) -> None:
    verdict = "IN" if result.in_segment else "OUT"
    who = result.customer
    print_line = console.print
    print_line(f"{result.segment}: customer {who.label} ({who.id}) is {verdict}", markup=False)
    for depth, check in result.check.flatten():
        mark = "pass" if check.passed else "FAIL"
        if check.kind == "condition":
            text = f"{check.label}  ({_actual(check.field, check.actual)})"
        else:
            text = check.label
        print_line(f"  {'  ' * depth}{mark}  {text}", markup=False)
    if result.excluded:
        print_line(f"  FAIL  consent: {result.excluded}", markup=False)
    else:
        print_line("  pass  consent: not excluded", markup=False)
    if not result.computed:
        stored = "not computed yet"
    elif result.member_since is not None:
        stored = f"member since {result.member_since:%Y-%m-%d %H:%M}"
    else:
        stored = "not a member"
    agreement = {None: "", True: "; agrees", False: "; DISAGREES with the live check"}
    print_line(f"  stored membership: {stored}{agreement[result.agrees]}", markup=False)
    for note in result.notes:
        print_line(f"  note: {note}", markup=False)


@app.command("explain")
def explain(
    name: NameArgument,
    customer: Annotated[
        str, typer.Argument(help="The customer's userId, email or id.", show_default=False)
    ],
    workspace: WorkspaceOption,
    as_json: JsonOption = False,
) -> None:
    """Why a customer is in or out of a segment, criterion by criterion."""
    from scoring import segments

    with session_scope(get_settings()) as session:
        ws = workspaces.get_or_raise(session, workspace)
        segment = segments.get_or_raise(session, ws.id, name)
        result = segments.explain(session, segment, customer)
    if as_json:
        print_json_line(_explanation_json(result))
    else:
        _print_explanation(result)


@app.command("refresh")
def refresh(
    workspace: WorkspaceOption,
    name: Annotated[
        str | None, typer.Argument(help="One segment; default every segment.", show_default=False)
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Recompute membership: who entered, who exited, drift alerts."""
    from scoring.segment_refresh import refresh_segments

    summaries = refresh_segments(get_settings(), workspace, [name] if name else None)
    for summary in summaries:
        if as_json:
            print_json_line(summary_json(summary))
        else:
            console.print(summary_line(summary), markup=False)
    if not summaries and not as_json:
        console.print("no segments; create one with `mcopilot segment create`", markup=False)
    warnings = list(dict.fromkeys(w for s in summaries for w in s.warnings))
    _warn(warnings)


@app.command("delete")
def delete(name: NameArgument, workspace: WorkspaceOption) -> None:
    """Delete a segment with its members and run history."""
    from scoring import segments

    with session_scope(get_settings()) as session:
        ws = workspaces.get_or_raise(session, workspace)
        segment = segments.get_or_raise(session, ws.id, name)
        deleted = segment.name
        segments.delete(session, segment)
    console.print(f"deleted segment {deleted}", markup=False)


@app.command("seed")
def seed(workspace: WorkspaceOption, as_json: JsonOption = False) -> None:
    """Create the five example segments (VIP, Churn Risk, ...) where missing and compute them."""
    from scoring import segments
    from scoring.segment_refresh import refresh_segments

    settings = get_settings()
    with session_scope(settings) as session:
        ws = workspaces.get_or_raise(session, workspace)
        segments.require_features(session, ws.id)
        created = [
            s.name
            for s in segments.ensure_seed_segments(session, ws.id, quota=settings.segment_quota)
        ]
    summaries = refresh_segments(settings, workspace, created) if created else []
    for summary in summaries:
        if as_json:
            print_json_line(summary_json(summary))
        else:
            console.print(summary_line(summary), markup=False)
    if not created and not as_json:
        console.print("the example segments exist already", markup=False)
    _warn(list(dict.fromkeys(w for s in summaries for w in s.warnings)))
