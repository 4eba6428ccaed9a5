"""`mcopilot journey scan`: run the trigger scan of a workspace now (the worker runs it on its
own), added to the `journey` command group by `register`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from api.cli.ingest import WorkspaceOption
from api.cli.output import console, print_json_line
from core import members, workspaces
from core.db import session_scope
from core.errors import InvalidInput
from core.settings import get_settings

if TYPE_CHECKING:
    from journeys.triggers_job import ScanReport

AsOption = Annotated[str, typer.Option("--as", help="The workspace member acting.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _when(text: str | None) -> datetime:
    from core.clock import utcnow

    if text is None:
        return utcnow()
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"not an ISO time: {text!r}", field="--at", fix="use e.g. 2026-11-20T09:00:00Z"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _print(workspace: str, report: ScanReport) -> None:
    outcomes = ", ".join(f"{n} {o}" for o, n in sorted(report.outcomes.items())) or "nothing"
    console.print(
        f"{escape(workspace)}: {len(report.journeys)} journeys scanned at "
        f"{report.at.isoformat()}: {escape(outcomes)}; {report.logged} new log rows"
    )
    for scan in report.journeys:
        parts = ", ".join(f"{n} {o}" for o, n in sorted(scan.outcomes.items())) or "no firing"
        note = f" ({scan.note})" if scan.note else ""
        console.print(
            f"  {escape(scan.journey_id)} {escape(f'[{scan.state}]')} {scan.trigger_type}: "
            f"{escape(parts)}{escape(note)}"
        )
    if report.cart_exits:
        console.print(f"  {report.cart_exits} cart journeys ended (ordered or cleared)")
    for journey_id in report.paused_by_monitor:
        console.print(f"  PAUSED {escape(journey_id)}: unsubscribe rate above the threshold")


def scan(
    workspace: WorkspaceOption,
    actor: AsOption,
    at: Annotated[
        str | None, typer.Option("--at", help="Scan as of this ISO time (default: now).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Detect every running journey's trigger, enrol who may enter, log every firing."""
    from journeys.triggers_job import scan_triggers

    settings = get_settings()
    now = _when(at)
    with session_scope(settings) as session:
        ws = workspaces.get_or_raise(session, workspace)
        members.acting_as(session, ws, actor, needed="marketer", to="run a trigger scan")
        report = scan_triggers(session, ws.id, now, settings=settings)
    if as_json:
        print_json_line(report.to_json())
        return
    _print(workspace, report)


def register(journey_app: typer.Typer) -> None:
    """Add `scan` to the `journey` group."""
    journey_app.command("scan")(scan)
