"""`mcopilot experiment readout JOURNEY`: an experiment's (or the holdout's) readout from the
journey's enrolments, with the verdict and what to do next."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from api.cli.ingest import WorkspaceOption
from api.cli.output import console, print_json_line
from core import workspaces
from core.db import session_scope
from core.settings import get_settings

app = typer.Typer(help="A/B tests and holdouts of journeys: readouts.", no_args_is_help=True)


@app.command("readout")
def show_readout(
    journey: Annotated[str, typer.Argument(help="The journey id, e.g. JRN-ACT-RET-001.")],
    workspace: WorkspaceOption,
    experiment: Annotated[
        str | None,
        typer.Option("--experiment", help="The experiment node; default: the journey's only one."),
    ] = None,
    holdout: Annotated[
        bool, typer.Option("--holdout", help="The journey against its holdout group instead.")
    ] = False,
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level.")] = 0.05,
    power: Annotated[float, typer.Option("--power", help="Power for sample sizes.")] = 0.8,
    min_effect: Annotated[
        float | None,
        typer.Option(
            "--min-effect", help="The smallest lift worth finding (absolute, 0.01 = 1 pt)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Each variant against control: rates, interval, p, verdict, and the sample still needed."""
    from journeys.experiment_readout import journey_readout
    from journeys.experiment_report import render_readout

    with session_scope(get_settings()) as session:
        ws = workspaces.get_or_raise(session, workspace)
        spec, subject, result = journey_readout(
            session,
            ws.id,
            journey,
            experiment=experiment,
            holdout=holdout,
            alpha=alpha,
            power=power,
            min_effect=min_effect,
        )
    if as_json:
        print_json_line(
            {"journey": spec.id, "version": spec.version, "subject": subject, **asdict(result)}
        )
        return
    title = f"{spec.id} v{spec.version}: " + (
        "journey vs holdout" if holdout else f"experiment {subject}"
    )
    console.print(render_readout(result, title=title), markup=False, highlight=False)
