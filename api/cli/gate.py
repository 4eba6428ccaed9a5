"""`mcopilot gate status|pause|resume|send`: the kill switch, and sending an approved asset to
one customer through the execution gate."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from api.cli.ingest import WorkspaceOption
from api.cli.output import console, print_json_line
from core import members, workspaces
from core.db import session_scope
from core.errors import InvalidInput
from core.settings import get_settings

app = typer.Typer(
    help="The execution gate: kill switch, status, and sending an approved asset.",
    no_args_is_help=True,
)
AsOption = Annotated[str, typer.Option("--as", help="The workspace member acting.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("status")
def show_status(workspace: WorkspaceOption, as_json: JsonOption = False) -> None:
    """Whether sending is paused, and how many actions went out."""
    from guardrails.gate_controls import status

    settings = get_settings()
    with session_scope(settings) as session:
        ws = workspaces.get_or_raise(session, workspace)
        current = status(session, ws.id, settings)
    if as_json:
        print_json_line(
            {
                "paused": current.paused,
                "workspace_paused": current.workspace_paused,
                "global_paused": current.global_paused,
                "reason": current.reason,
                "changed_by": current.changed_by,
                "executions": current.executions,
                "outbox_unpublished": current.outbox_unpublished,
            }
        )
        return
    if current.global_paused:
        state = "PAUSED everywhere (MCOPILOT_KILL_SWITCH)"
    elif current.workspace_paused:
        state = f"PAUSED by {current.changed_by}: {current.reason}"
    else:
        state = "open"
    console.print(
        f"{escape(workspace)}: sending {escape(state)}; {current.executions} actions executed, "
        f"{current.outbox_unpublished} outbox messages unpublished"
    )


def _set(workspace: str, actor: str, *, paused: bool, reason: str) -> None:
    from guardrails.gate_controls import set_paused

    with session_scope(get_settings()) as session:
        ws = workspaces.get_or_raise(session, workspace)
        admin = members.resolve(session, ws, actor)
        set_paused(session, admin, paused=paused, reason=reason)
    console.print(
        f"{escape(workspace)}: sending {'paused' if paused else 'resumed'} by {escape(actor)}"
    )


@app.command("pause")
def pause(
    workspace: WorkspaceOption,
    actor: AsOption,
    reason: Annotated[str, typer.Option("--reason", help="Why; shown with the status.")],
) -> None:
    """Stop every action to this workspace's customers until resumed (admins)."""
    _set(workspace, actor, paused=True, reason=reason)


@app.command("resume")
def resume(workspace: WorkspaceOption, actor: AsOption) -> None:
    """Let approved actions go out again (admins)."""
    _set(workspace, actor, paused=False, reason="")


@app.command("send")
def send(
    item_id: Annotated[str, typer.Argument(metavar="ITEM", help="The approved asset's id.")],
    customer: Annotated[str, typer.Argument(help="The customer: userId, email or id.")],
    workspace: WorkspaceOption,
    actor: AsOption,
    key: Annotated[
        str | None,
        typer.Option("--key", help="Idempotency key; default: item, revision and customer."),
    ] = None,
    trigger: Annotated[str | None, typer.Option("--trigger", help="What fired it.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Send an approved asset to one customer through the gate; exit 1 when it did not go out."""
    from guardrails import approvals
    from guardrails.gate import ExecutionRequest
    from journeys.dispatch import dispatch
    from scoring.segments import resolve_customer

    settings = get_settings()
    with session_scope(settings) as session:
        ws = workspaces.get_or_raise(session, workspace)
        member = members.acting_as(session, ws, actor, needed="marketer", to="send")
        item = approvals.get_or_raise(session, member, item_id)
        channel = item.content.get("channel") if isinstance(item.content, dict) else None
        if not isinstance(channel, str):
            raise InvalidInput(
                f"item {item.id} has no content.channel",
                field="ITEM",
                fix="send an asset whose content names its channel (email, sms, push, in_app)",
            )
        target, _ = resolve_customer(session, ws.id, customer)
        request = ExecutionRequest(
            workspace_id=ws.id,
            actor=member.handle,
            customer_id=target.id,
            channel=channel,
            recipient="",
            content=item.content,
            approval_item_id=item.id,
            idempotency_key=key or f"manual/{item.id}/r{item.revision}/{target.id}",
            trigger_id=trigger,
        )
        result = dispatch(session, request, settings=settings)
    if as_json:
        print_json_line(
            {
                "status": result.status,
                "rule": result.rule,
                "detail": result.detail,
                "execution_id": result.execution_id,
                "retry_at": result.retry_at.isoformat() if result.retry_at else None,
                "audit_seq": result.audit_seq,
            }
        )
    else:
        retry = f"; retry at {result.retry_at.isoformat()}" if result.retry_at else ""
        console.print(f"{result.status}: {escape(result.rule)}: {escape(result.detail)}{retry}")
    if not result.executed:
        raise typer.Exit(1)
