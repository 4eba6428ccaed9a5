"""The `mcopilot` entry point: assembles the command groups and turns user errors into exit 2."""

from __future__ import annotations

import sys
from typing import Any

import click
import typer
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from typer.core import TyperGroup

from api.cli import (
    approvals,
    audit,
    check,
    contact,
    dashboard,
    data,
    demo,
    experiment,
    gate,
    ingest,
    journey,
    journey_run,
    journey_scan,
    knowledge,
    nba,
    policy,
    score,
    search,
    segment,
    serve,
    suppress,
    workspace,
)
from core.errors import BackendUnavailable, ConfigurationError, McopilotError

EXIT_USER_ERROR = 2


def settings_error(exc: ValidationError) -> ConfigurationError:
    """A settings validation error as one line naming the MCOPILOT_* variable."""
    first = exc.errors()[0]
    name = "MCOPILOT_" + str(first["loc"][0]).upper() if first.get("loc") else "MCOPILOT_*"
    return ConfigurationError(first["msg"], field=name)


class ErrorHandlingGroup(TyperGroup):
    """Every command's McopilotError becomes one line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except McopilotError as exc:
            click.echo(f"error: {exc.one_line()}", err=True)
            ctx.exit(EXIT_USER_ERROR)
        except ValidationError as exc:
            if exc.title != "Settings":
                raise
            click.echo(f"error: {settings_error(exc).one_line()}", err=True)
            ctx.exit(EXIT_USER_ERROR)
        except SQLAlchemyError as exc:  # never echo SQL: it can carry customer data
            problem = BackendUnavailable(
                f"the database failed ({exc.__class__.__name__})",
                field="MCOPILOT_DATABASE_URL",
                fix="try again; if it persists, check the database is up and not locked",
            )
            click.echo(f"error: {problem.one_line()}", err=True)
            ctx.exit(EXIT_USER_ERROR)


app = typer.Typer(
    cls=ErrorHandlingGroup,
    name="mcopilot",
    help="Marketing copilot: brand knowledge, cited copy, journeys and scores; offline by default.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
ingest.register(app)
search.register(app)
app.add_typer(knowledge.app, name="knowledge")
app.add_typer(workspace.app, name="workspace")
app.add_typer(data.app, name="data")
app.add_typer(score.app, name="score")
app.add_typer(segment.app, name="segment")
app.add_typer(audit.app, name="audit")
app.add_typer(approvals.app, name="approvals")
app.add_typer(policy.app, name="policy")
check.register(app)
nba.register(app)
suppress.register(app)
app.add_typer(contact.app, name="contact")
app.add_typer(gate.app, name="gate")
app.add_typer(experiment.app, name="experiment")
journey_scan.register(journey.app)
app.add_typer(journey.app, name="journey")
app.add_typer(dashboard.app, name="dashboard")
demo.register(app)
journey_run.register(app)
serve.register(app)


def run() -> None:
    """Console-script entry point."""
    sys.exit(app())
