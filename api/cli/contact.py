"""`mcopilot contact check CUSTOMER --channel C` and `mcopilot contact policy show|set|reset`:
may a customer be contacted now, and the rules that decide it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from api.cli.ingest import WorkspaceOption
from api.cli.output import console, print_json_line
from core.errors import InvalidInput
from core.settings import get_settings

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
EXIT_BLOCKED = 1
app = typer.Typer(help="Consent, suppression, caps and quiet hours.", no_args_is_help=True)
policy_app = typer.Typer(
    help="Quiet hours, flood limit and trigger window (caps: `mcopilot actions`).",
    no_args_is_help=True,
)
app.add_typer(policy_app, name="policy")


def _moment(text: str | None) -> datetime:
    from datetime import UTC

    from core.clock import utcnow

    if text is None:
        return utcnow()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"not an ISO time: {text!r}", field="--at", fix="use e.g. 2026-11-20T21:30:00+01:00"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@app.command("check")
def check(
    customer: Annotated[str, typer.Argument(help="The customer's userId, email or id.")],
    workspace: WorkspaceOption,
    channel: Annotated[str, typer.Option("--channel", help="email, sms, push or in_app.")],
    trigger: Annotated[
        str | None, typer.Option("--trigger", help="The trigger id (once per 24 h).")
    ] = None,
    action: Annotated[str | None, typer.Option("--action", help="The action id.")] = None,
    high_value: Annotated[
        bool, typer.Option("--high-value", help="A high-value offer (14-day cooldown).")
    ] = False,
    at: Annotated[
        str | None, typer.Option("--at", help="ISO time to decide at (UTC if no zone); now.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Whether the customer may be contacted on the channel; exit 1 when blocked."""
    from core import workspaces
    from core.db import session_scope
    from guardrails.contact import ContactAction, contact_decision
    from guardrails.contact_state import load_customer_state, lookback_of
    from guardrails.contact_store import policy_of
    from scoring.segments import resolve_customer

    now = _moment(at)
    with session_scope(get_settings()) as session:
        workspace_id = workspaces.get_or_raise(session, workspace).id
        found, _ = resolve_customer(session, workspace_id, customer)
        policy = policy_of(session, workspace_id)
        state = load_customer_state(
            session, workspace_id, found.id, now, lookback=lookback_of(policy)
        )
        decision = contact_decision(
            state, channel, trigger, ContactAction(action, high_value), policy, now
        )
    retry = decision.retry_at.isoformat() if decision.retry_at else None
    if as_json:
        print_json_line(
            {
                "customer_id": found.user_id or found.id,
                "channel": channel,
                "at": now.isoformat(),
                "allowed": decision.allowed,
                "rule": decision.rule,
                "detail": decision.detail,
                "retry_at": retry,
            }
        )
    else:
        verdict = "allowed" if decision.allowed else f"blocked by {decision.rule}"
        console.print(f"{escape(customer)} on {channel}: {verdict} — {escape(decision.detail)}")
        if not decision.allowed:
            console.print(f"  next allowed: {retry or 'not by waiting'}")
    if not decision.allowed:
        raise typer.Exit(EXIT_BLOCKED)


@policy_app.command("show")
def show(workspace: WorkspaceOption, as_json: JsonOption = False) -> None:
    """The workspace's contact rules and the caps of its action inventory."""
    from core import workspaces
    from core.db import session_scope
    from guardrails.contact_store import policy_of

    with session_scope(get_settings()) as session:
        policy = policy_of(session, workspaces.get_or_raise(session, workspace).id)
    body = {"version": policy.rules.version, **policy.model_dump(mode="json")}
    if as_json:
        print_json_line(body)
        return
    rules, caps = policy.rules, policy.caps
    quiet = rules.quiet_hours
    console.print(f"contact policy {rules.version}")
    console.print(
        "  quiet hours: "
        + (
            f"{quiet.start.strftime('%H:%M')}-{quiet.end.strftime('%H:%M')} local time on "
            f"{', '.join(quiet.channels)}"
            if quiet
            else "none"
        )
    )
    console.print(f"  time zone when unknown: {rules.default_timezone}")
    console.print(f"  flood limit: {rules.flood_per_day} messages per 24 h, all channels")
    console.print(f"  same trigger: once per {rules.trigger_window_hours} h")
    console.print(
        "  caps per week: "
        + ", ".join(f"{k} {v}" for k, v in caps.per_week.items())
        + f", total {caps.total_per_week}; per day: "
        + ", ".join(f"{k} {v}" for k, v in caps.per_day.items())
        + f"; high-value cooldown {caps.high_value_cooldown_days} days"
    )


@policy_app.command("set")
def set_policy(
    file: Annotated[Path, typer.Argument(help="The contact policy, YAML or JSON.")],
    workspace: WorkspaceOption,
    actor: Annotated[str, typer.Option("--as", help="The admin setting it.")],
) -> None:
    """Validate a contact policy file and make it the workspace's (admins)."""
    from core import members, workspaces
    from core.db import session_scope
    from guardrails.audit.service import append
    from guardrails.contact_store import set_rules

    with session_scope(get_settings()) as session:
        ws = workspaces.get_or_raise(session, workspace)
        admin = members.acting_as(session, ws, actor, needed="admin", to="set contact rules")
        rules = set_rules(session, ws.id, file)
        append(
            session,
            ws.id,
            actor=admin.handle,
            action="contact_policy.set",
            inputs={"file": file.name, "version": rules.version},
            decision="set",
        )
    console.print(f"contact policy {rules.version} set")


@policy_app.command("reset")
def reset(
    workspace: WorkspaceOption,
    actor: Annotated[str, typer.Option("--as", help="The admin resetting it.")],
) -> None:
    """Go back to the default contact rules (admins)."""
    from core import members, workspaces
    from core.db import session_scope
    from guardrails.audit.service import append
    from guardrails.contact_store import reset_rules

    with session_scope(get_settings()) as session:
        ws = workspaces.get_or_raise(session, workspace)
        admin = members.acting_as(session, ws, actor, needed="admin", to="set contact rules")
        rules = reset_rules(session, ws.id)
        append(
            session,
            ws.id,
            actor=admin.handle,
            action="contact_policy.reset",
            inputs={"version": rules.version},
            decision="reset",
        )
    console.print(f"default contact policy {rules.version}")
