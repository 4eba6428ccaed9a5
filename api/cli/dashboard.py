"""`mcopilot dashboard`: the journey dashboard in the terminal (or JSON), and journey targets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from api.cli.ingest import WorkspaceOption
from api.cli.output import console, print_json_line
from core.errors import InvalidInput
from core.settings import get_settings

app = typer.Typer(
    help="The journey dashboard: pipeline, trigger activity, NBA, trends, KPIs and alerts.",
    invoke_without_command=True,
)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="ISO time (UTC unless it has an offset); default: now."),
]


def parse_as_of(text: str | None) -> datetime:
    from core.clock import utcnow

    if text is None:
        return utcnow()
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"not an ISO time: {text!r}", field="--as-of", fix="e.g. 2026-11-26T14:30 or 2026-11-26"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@app.callback()
def dashboard(
    ctx: typer.Context,
    workspace: Annotated[
        str | None, typer.Option("--workspace", "-w", help="Workspace (tenant) to show.")
    ] = None,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
) -> None:
    """Seed 000's live view from the workspace's records; `dashboard target` sets targets."""
    if ctx.invoked_subcommand is not None:
        return
    if workspace is None:
        raise InvalidInput("is required", field="--workspace", fix="name the workspace to show")
    from core import workspaces
    from core.db import session_scope
    from journeys.analytics import build_dashboard
    from journeys.dashboard import render_json, render_text

    moment = parse_as_of(as_of)
    settings = get_settings()
    with session_scope(settings) as session:
        ws = workspaces.get_or_raise(session, workspace)
        board = build_dashboard(session, ws.id, ws.slug, moment, settings)
    if as_json:
        print_json_line(render_json(board))
        return
    for line in render_text(board):
        console.print(line, markup=False)


@app.command("target")
def target(
    journey: Annotated[str, typer.Argument(help="The journey id.")],
    workspace: WorkspaceOption,
    actor: Annotated[str, typer.Option("--as", help="The workspace member acting.")],
    conversion: Annotated[
        str | None,
        typer.Option("--conversion", help="Target conversion rate: 35% or 0.35."),
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the target.")] = False,
) -> None:
    """Set (or --clear) a journey's conversion-rate target; the dashboard alerts below it."""
    from core import members, workspaces
    from core.db import session_scope
    from journeys.targets import parse_share, set_target

    if clear == (conversion is not None):
        raise InvalidInput(
            "give --conversion or --clear (one of them)", field="--conversion", fix="e.g. 35%"
        )
    value = None if clear else parse_share(conversion or "", field="--conversion")
    settings = get_settings()
    with session_scope(settings) as session:
        ws = workspaces.get_or_raise(session, workspace)
        member = members.resolve(session, ws, actor)
        set_target(session, member, journey, value, settings=settings)
    shown = "cleared" if value is None else f"set to {value * 100:.1f}%"
    console.print(f"{journey}: conversion target {shown} by {actor}", markup=False)
