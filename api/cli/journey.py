"""`mcopilot journey validate|show|simulate FILE`: check a journey file, render it as seed 000's
blueprint or a Mermaid chart, and run it over a workspace's customers with no sends.

The `journey` command group is a typer sub-app; the runtime's commands (save, activate, pause,
resume, kill-switch, scan) join it as further commands.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli.output import console, print_json_line
from core import workspaces
from core.config_files import read_yaml_file
from core.db import session_scope
from core.errors import InvalidInput
from core.settings import get_settings

if TYPE_CHECKING:
    from journeys.spec import Journey

app = typer.Typer(help="Validate, render and simulate customer journeys.", no_args_is_help=True)

EXIT_PROBLEMS = 1
FileArgument = Annotated[
    Path, typer.Argument(help="A journey as YAML or JSON.", show_default=False)
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
OptionalWorkspace = Annotated[
    str | None,
    typer.Option(
        "--workspace", "-w", help="Check against this workspace's journeys, segments and caps."
    ),
]


def read_journey_file(path: Path) -> Any:
    """The file's data; InvalidInput (exit 2) when it cannot be read or parsed, or is empty."""
    if not path.is_file():
        raise InvalidInput(f"no file {str(path)!r}", field="FILE", fix="give a journey YAML file")
    data = read_yaml_file(path)
    if data is None:
        raise InvalidInput(f"{path} is empty", field="FILE", fix="give a journey YAML file")
    return data


def load_journey(path: Path) -> Journey:
    from journeys.spec import parse_journey

    return parse_journey(read_journey_file(path))


@app.command("validate")
def validate_command(
    file: FileArgument, workspace: OptionalWorkspace = None, as_json: JsonOption = False
) -> None:
    """Every problem of the journey, one per line with its path and fix (exit 1 on errors)."""
    from journeys.validate import validate_data
    from journeys.validate_context import load_context

    data = read_journey_file(file)
    context = None
    if workspace is not None:
        with session_scope(get_settings()) as session:
            ws = workspaces.get_or_raise(session, workspace)
            context = load_context(session, ws.id, ws.slug)
    journey, problems = validate_data(data, context)
    errors = sum(1 for p in problems if p.is_error)
    warnings = len(problems) - errors
    if as_json:
        print_json_line(
            {
                "file": str(file),
                "journey": journey.id if journey else None,
                "valid": errors == 0,
                "errors": errors,
                "warnings": warnings,
                "problems": [p.as_dict() for p in problems],
            }
        )
    else:
        for problem in problems:
            console.print(problem.line(), markup=False)
        name = journey.id if journey else str(file)
        verdict = "invalid" if errors else "valid"
        console.print(f"{name}: {verdict} ({errors} errors, {warnings} warnings)", markup=False)
    if errors:
        raise typer.Exit(EXIT_PROBLEMS)


@app.command("show")
def show_command(
    file: FileArgument,
    as_mermaid: Annotated[
        bool, typer.Option("--mermaid", help="A Mermaid flowchart instead of the blueprint.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """The journey as seed 000's text blueprint (or a Mermaid chart)."""
    from journeys.render import blueprint, mermaid

    journey = load_journey(file)
    text = mermaid(journey) if as_mermaid else blueprint(journey)
    if as_json:
        print_json_line(
            {
                "journey": journey.model_dump(mode="json"),
                "format": "mermaid" if as_mermaid else "blueprint",
                "text": text,
            }
        )
    else:
        console.print(text, markup=False, end="")


def parse_day(text: str, field: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise InvalidInput(f"must be YYYY-MM-DD, got {text!r}", field=field) from None


@app.command("simulate")
def simulate_command(
    file: FileArgument,
    workspace: Annotated[str, typer.Option("--workspace", "-w", help="Workspace to simulate in.")],
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="First simulated day, YYYY-MM-DD (default: the day after scoring)."
        ),
    ] = None,
    days: Annotated[int, typer.Option("--days", help="How many days to simulate.")] = 30,
    as_json: JsonOption = False,
) -> None:
    """Run the journey over the workspace's customers in simulated time, with no sends."""
    from journeys.simulate_load import check_days, simulate_workspace
    from journeys.simulate_report import report_json, report_text
    from scoring.segments import require_features

    check_days(days)
    start = parse_day(as_of, "--as-of") if as_of is not None else None
    journey = load_journey(file)
    with session_scope(get_settings()) as session:
        ws = workspaces.get_or_raise(session, workspace)
        if start is None:
            scored = require_features(session, ws.id)
            start = (scored + timedelta(days=1)) if scored else date.today()
        report = simulate_workspace(session, ws.id, journey, start, days)
    if as_json:
        print_json_line(report_json(report))
    else:
        console.print(report_text(report), markup=False, end="")
