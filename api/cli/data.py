"""`mcopilot data import events|orders FILE --workspace W`: customer data in, bad rows named."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.ingest import WorkspaceOption
from api.cli.output import console, err_console, print_json_line
from core.settings import get_settings

app = typer.Typer(help="Load and generate customer data.", no_args_is_help=True)
import_app = typer.Typer(help="Import customer events or orders.", no_args_is_help=True)
app.add_typer(import_app, name="import")
FileArgument = Annotated[Path, typer.Argument(help="The file to import.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]


def _finish(summary: dict[str, object], errors: list, as_json: bool) -> None:  # type: ignore[type-arg]
    if as_json:
        print_json_line({**summary, "errors": [str(e) for e in errors]})
    else:
        console.print(
            ", ".join(f"{value} {key.replace('_', ' ')}" for key, value in summary.items())
        )
    for error in errors:
        err_console.print(f"error: {error}", markup=False)
    if errors:
        raise typer.Exit(2)


@import_app.command("events")
def import_events(
    file: FileArgument, workspace: WorkspaceOption, as_json: JsonOption = False
) -> None:
    """Segment-spec JSON lines (identify, track, page, batch); idempotent by messageId.
    traits.phone (E.164) and context.device.token address SMS and push. Bounces, complaints
    and unsubscribes then join the suppression list."""
    from core import workspaces
    from core.db import session_scope
    from guardrails.suppressions import import_from_events
    from scoring.event_import import import_events as run

    settings = get_settings()
    report = run(settings, workspace, file)
    with session_scope(settings) as session:
        suppressed = import_from_events(session, workspaces.get_or_raise(session, workspace).id)
    summary = {
        "loaded": report.loaded,
        "duplicates": report.duplicates,
        "customers_created": report.customers_created,
        "customers_merged": report.customers_merged,
        "suppressed": suppressed.bounces + suppressed.complaints + suppressed.unsubscribes,
        "bad_rows": len(report.errors),
    }
    _finish(summary, report.errors, as_json)


@import_app.command("orders")
def import_orders(
    file: FileArgument, workspace: WorkspaceOption, as_json: JsonOption = False
) -> None:
    """CSV with order_id,customer_id,ordered_at,total[,status,currency]; upserts by order_id."""
    from scoring.order_import import import_orders as run

    report = run(get_settings(), workspace, file)
    if report.ignored_columns and not as_json:
        err_console.print(
            f"warning: ignored columns: {', '.join(report.ignored_columns)}", markup=False
        )
    summary = {
        "loaded": report.loaded,
        "customers_created": report.customers_created,
        "bad_rows": len(report.errors),
    }
    _finish(summary, report.errors, as_json)


@app.command("generate")
def generate(
    workspace: WorkspaceOption,
    customers: Annotated[int, typer.Option("--customers", help="How many customers.")] = 10_000,
    orders: Annotated[int, typer.Option("--orders", help="How many orders.")] = 200_000,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same data.")] = 7,
    end: Annotated[
        str | None, typer.Option("--end", help="Last day of history, YYYY-MM-DD (default today).")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Delete the workspace's customer data first.")
    ] = False,
    create_workspace: Annotated[
        bool, typer.Option("--create-workspace", help="Create the workspace if it is missing.")
    ] = False,
) -> None:
    """A realistic deterministic demo data set: customers, orders, carts, promotions, email."""
    from datetime import UTC, datetime

    from core.errors import InvalidInput
    from scoring.demo_loader import generate_into

    end_at = None
    if end is not None:
        try:
            end_at = datetime.strptime(end, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            raise InvalidInput(f"must be YYYY-MM-DD, got {end!r}", field="--end") from None
    report = generate_into(
        get_settings(),
        workspace,
        customers=customers,
        orders=orders,
        seed=seed,
        end=end_at,
        replace=replace,
        create_workspace=create_workspace,
    )
    rows = ", ".join(f"{count:,} {table}" for table, count in report.rows.items() if count)
    console.print(
        f"{rows}\ngenerated in {report.generate_seconds:.1f}s, loaded in {report.load_seconds:.1f}s"
    )
