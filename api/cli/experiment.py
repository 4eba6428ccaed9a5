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


@app.command("adopt")
def adopt(
    journey: Annotated[str, typer.Argument(help="The journey id.")],
    workspace: WorkspaceOption,
    actor: Annotated[str, typer.Option("--as", help="The workspace member acting.")],
    variant: Annotated[str, typer.Option("--variant", help="The variant to adopt.")],
    experiment: Annotated[
        str | None,
        typer.Option("--experiment", help="The experiment node; default: the journey's only one."),
    ] = None,
    activate: Annotated[
        bool, typer.Option("--activate", help="Run the new version at once (marketers and up).")
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Adopt even when the readout names no such winner."),
    ] = False,
) -> None:
    """Store the next version of the journey with the experiment replaced by the winner's path."""
    from core import members
    from core.errors import InvalidInput
    from journeys import journey_store
    from journeys.experiment_adoption import adopt_winner
    from journeys.experiment_readout import journey_readout

    with session_scope(get_settings()) as session:
        ws = workspaces.get_or_raise(session, workspace)
        member = members.resolve(session, ws, actor)
        spec, node, result = journey_readout(session, ws.id, journey, experiment=experiment)
        if result.winner != variant and not force:
            raise InvalidInput(
                f"the readout of {node} names "
                + (f"{result.winner!r} the winner" if result.winner else "no winner")
                + f" ({result.verdict})",
                field="--variant",
                fix="wait for a significant winner (`mcopilot experiment readout`), or --force",
            )
        try:
            adopted = adopt_winner(spec, node, variant)
        except InvalidInput as exc:
            flag = {"decision_id": "--experiment", "variant_id": "--variant"}
            field = flag.get(exc.field or "", exc.field)
            raise InvalidInput(str(exc), field=field, fix=exc.fix) from None
        row, _ = journey_store.save(session, member, adopted)
        if activate:
            journey_store.activate(session, member, adopted.id, version=adopted.version)
    console.print(
        f"{spec.id} {row.version} stored with {variant!r} in place of {node}"
        + (" and running" if activate else f"; run it: `mcopilot journey activate {spec.id}`"),
        markup=False,
    )
