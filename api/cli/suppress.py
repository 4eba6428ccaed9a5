"""`mcopilot suppress add|remove|list|import` and `mcopilot opt-out CUSTOMER`: the suppression
list and opt-outs, which take effect before the next send."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from api.cli.ingest import WorkspaceOption
from api.cli.output import console, print_json_line
from core.errors import InvalidInput
from core.roles import Role
from core.settings import get_settings

CustomerArgument = Annotated[str, typer.Argument(help="The customer's userId, email or id.")]
ChannelOption = Annotated[
    str, typer.Option("--channel", help="email, sms, push, in_app or all (every channel).")
]
SourceOption = Annotated[
    str, typer.Option("--source", help="Who or what asked for it (kept as provenance).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
app = typer.Typer(
    help="The suppression list: who must not be contacted, where and why.", no_args_is_help=True
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="suppress")
    root.command("opt-out")(opt_out)


AsOption = Annotated[str, typer.Option("--as", help="The workspace member acting.")]


def _audit(session: Session, workspace_id: str, actor: str, action: str, **inputs: object) -> None:
    """The change, in the workspace's audit log, in the same transaction."""
    from guardrails.audit.service import append

    append(session, workspace_id, actor=actor, action=action, inputs=inputs, decision="done")


def _acting(session: Session, workspace: str, actor: str, needed: Role, to: str) -> str:
    """The handle of the member acting, once their role allows it."""
    from core import members, workspaces

    ws = workspaces.get_or_raise(session, workspace)
    return members.acting_as(session, ws, actor, needed=needed, to=to).handle


def _resolve(session: object, workspace: str, customer: str) -> tuple[str, str]:
    """The workspace id and the customer's id."""
    from core import workspaces
    from scoring.segments import resolve_customer

    workspace_id = workspaces.get_or_raise(session, workspace).id  # type: ignore[arg-type]
    found, _ = resolve_customer(session, workspace_id, customer)  # type: ignore[arg-type]
    return workspace_id, found.id


@app.command("add")
def add(
    customer: CustomerArgument,
    workspace: WorkspaceOption,
    source: SourceOption,
    actor: AsOption,
    channel: ChannelOption = "all",
    reason: Annotated[
        str, typer.Option("--reason", help="bounce, complaint, unsubscribe or manual.")
    ] = "manual",
) -> None:
    """Suppress a customer on a channel (or all of them); marketers and up."""
    from core.db import session_scope
    from guardrails import suppressions

    with session_scope(get_settings()) as session:
        handle = _acting(session, workspace, actor, "marketer", "suppress customers")
        workspace_id, customer_id = _resolve(session, workspace, customer)
        added = suppressions.add(
            session, workspace_id, customer_id, channel=channel, reason=reason, source=source
        )
        _audit(
            session,
            workspace_id,
            handle,
            "suppression.add",
            customer_id=customer_id,
            channel=channel,
            reason=reason,
            source=source,
        )
    state = "suppressed" if added else "already suppressed"
    console.print(f"{escape(customer)} {state} on {channel} ({reason})")


@app.command("remove")
def remove(
    customer: CustomerArgument,
    workspace: WorkspaceOption,
    source: SourceOption,
    actor: AsOption,
    channel: ChannelOption = "all",
    reason: Annotated[
        str | None, typer.Option("--reason", help="Only this reason; default: every reason.")
    ] = None,
) -> None:
    """Lift a customer's suppressions on a channel (admins); consent is left as it is."""
    from core.db import session_scope
    from guardrails import suppressions

    with session_scope(get_settings()) as session:
        handle = _acting(session, workspace, actor, "admin", "lift suppressions")
        workspace_id, customer_id = _resolve(session, workspace, customer)
        lifted = suppressions.remove(
            session, workspace_id, customer_id, channel=channel, reason=reason, source=source
        )
        _audit(
            session,
            workspace_id,
            handle,
            "suppression.remove",
            customer_id=customer_id,
            channel=channel,
            reason=reason,
            source=source,
            lifted=lifted,
        )
    console.print(f"lifted {lifted} suppression{'s' if lifted != 1 else ''} of {escape(customer)}")


@app.command("list")
def list_command(
    workspace: WorkspaceOption,
    customer: Annotated[str | None, typer.Option("--customer", help="Only this customer.")] = None,
    channel: Annotated[str | None, typer.Option("--channel", help="Only this channel.")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Only this reason.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many, newest first.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """The suppression list, newest first."""
    from core import workspaces
    from core.db import session_scope
    from guardrails import suppressions

    if not 1 <= limit <= 10_000:
        raise InvalidInput(f"must be between 1 and 10000, got {limit}", field="--limit")
    with session_scope(get_settings()) as session:
        if customer is not None:
            workspace_id, customer_id = _resolve(session, workspace, customer)
        else:
            workspace_id, customer_id = workspaces.get_or_raise(session, workspace).id, None
        rows = suppressions.list_(
            session,
            workspace_id,
            customer_id=customer_id,
            channel=channel,
            reason=reason,
            limit=limit,
        )
    if as_json:
        for row in rows:
            print_json_line(asdict(row))
        return
    table = Table(title=f"suppressions ({len(rows)})", title_justify="left")
    for column in ("customer", "channel", "reason", "source", "since"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            escape(row.user_id or row.customer_id), row.channel, row.reason,
            escape(row.source), row.created_at.isoformat(timespec="seconds"),
        )  # fmt: skip
    console.print(table)


@app.command("import")
def import_command(
    workspace: WorkspaceOption, actor: AsOption, as_json: JsonOption = False
) -> None:
    """Suppress what imported events say: email bounces, complaints and unsubscribes."""
    from core import workspaces
    from core.db import session_scope
    from guardrails import suppressions

    with session_scope(get_settings()) as session:
        handle = _acting(session, workspace, actor, "marketer", "import suppressions")
        workspace_id = workspaces.get_or_raise(session, workspace).id
        report = suppressions.import_from_events(session, workspace_id)
        _audit(session, workspace_id, handle, "suppression.import", **asdict(report))
    if as_json:
        print_json_line(asdict(report))
        return
    console.print(
        f"suppressed {report.bounces} bounced, {report.complaints} complaining and "
        f"{report.unsubscribes} unsubscribed"
    )


def opt_out(
    customer: CustomerArgument,
    workspace: WorkspaceOption,
    source: SourceOption,
    actor: AsOption,
    channel: ChannelOption = "all",
    as_json: JsonOption = False,
) -> None:
    """Opt a customer out: consent revoked, suppressed, and `customer.opted_out` for journeys."""
    from core.db import session_scope
    from guardrails.opt_out import opt_out as run

    with session_scope(get_settings()) as session:
        handle = _acting(session, workspace, actor, "marketer", "opt customers out")
        workspace_id, customer_id = _resolve(session, workspace, customer)
        done = run(session, workspace_id, customer_id, channel, source)
        _audit(
            session,
            workspace_id,
            handle,
            "contact.opt_out",
            customer_id=customer_id,
            channels=list(done.channels),
            source=source,
        )
    if as_json:
        print_json_line(asdict(done))
        return
    console.print(
        f"{escape(customer)} opted out of {', '.join(done.channels)} "
        f"(event {done.event_id}: customer.opted_out)"
    )
