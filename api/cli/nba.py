"""`mcopilot nba CUSTOMER`, `mcopilot recommend CUSTOMER` and `mcopilot actions ...`: next best
action, product recommendations and the action inventory they choose from."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from api.cli.ingest import WorkspaceOption
from api.cli.output import console, print_json_line
from core.errors import InvalidInput
from core.settings import get_settings

CustomerArgument = Annotated[str, typer.Argument(help="The customer's userId, email or id.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
actions_app = typer.Typer(
    help="The action inventory next best action chooses from.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.command("nba")(nba)
    app.command("recommend")(recommend)
    app.add_typer(actions_app, name="actions")


def _workspace_id(session: Any, slug: str) -> str:
    from core import workspaces

    return workspaces.get_or_raise(session, slug).id


def outcome_json(outcome: Any) -> dict[str, Any]:
    context, decision = outcome.context, outcome.decision
    return {
        "customer_id": outcome.user_id or outcome.customer_id,
        "decided_at": decision.decided_at.isoformat(),
        "inventory_version": decision.inventory_version,
        "stage": context.stage,
        "churn_risk": context.churn_risk,
        "upgrade_propensity": context.upgrade_propensity,
        "actions": [asdict(a) for a in decision.actions],
        "blocked": [asdict(b) for b in decision.blocked],
    }


def print_outcome(outcome: Any, *, show_blocked: bool = True) -> None:
    context, decision = outcome.context, outcome.decision

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.0%}"

    console.print(
        f"Next best action for {escape(outcome.user_id or outcome.customer_id)}: stage "
        f"{context.stage or 'unscored'}, churn risk {pct(context.churn_risk)}, upgrade "
        f"probability {pct(context.upgrade_propensity)}"
    )
    if not decision.actions:
        console.print("  no action passes the constraints today")
    for rank, action in enumerate(decision.actions, start=1):
        console.print(
            f"  {rank}. [CONFIDENCE: {action.confidence:.0%} | expected value {action.score:.1f}] "
            f"{action.channel} — "
            f"{escape(action.title)} ({action.action_id})"
        )
        console.print(f"     {escape(action.rationale)}")
    if show_blocked and decision.blocked:
        console.print(f"  blocked ({len(decision.blocked)}):")
        for blocked in decision.blocked:
            console.print(
                f"    {blocked.action_id}: {blocked.constraint} — {escape(blocked.detail)}"
            )


def nba(
    customer: CustomerArgument,
    workspace: WorkspaceOption,
    as_json: JsonOption = False,
) -> None:
    """The customer's top 3 actions with confidence and rationale, and why others are blocked."""
    from core.db import session_scope
    from scoring.nba_context import next_best_action

    with session_scope(get_settings()) as session:
        outcome = next_best_action(session, _workspace_id(session, workspace), customer)
    if as_json:
        print_json_line(outcome_json(outcome))
    else:
        print_outcome(outcome)


def recommend(
    customer: CustomerArgument,
    workspace: WorkspaceOption,
    product: Annotated[
        str | None, typer.Option("--product", help="Context product SKU; default: their last.")
    ] = None,
    k: Annotated[int, typer.Option("--k", "-k", help="How many products.")] = 5,
    exclude_days: Annotated[
        int, typer.Option("--exclude-days", help="Leave out products bought in these days.")
    ] = 30,
    as_json: JsonOption = False,
) -> None:
    """Products to recommend, each with why; cached per product context for the day."""
    from core.db import session_scope
    from scoring.recommendations_job import recommend as run
    from scoring.segments import resolve_customer

    if not 1 <= k <= 50:
        raise InvalidInput(f"must be between 1 and 50, got {k}", field="--k")
    if not 0 <= exclude_days <= 3650:
        raise InvalidInput(
            f"must be between 0 and 3650, got {exclude_days}", field="--exclude-days"
        )
    with session_scope(get_settings()) as session:
        workspace_id = _workspace_id(session, workspace)
        found, _ = resolve_customer(session, workspace_id, customer)
        result = run(
            session, workspace_id, found.id, product_id=product, k=k, exclude_days=exclude_days
        )
    if as_json:
        print_json_line(
            {
                "customer_id": found.user_id or found.id,
                "context": result.context,
                "cached": result.cached,
                "items": [asdict(item) for item in result.items],
            }
        )
        return
    console.print(f"recommended for {escape(found.user_id or found.id)} ({result.context}):")
    for item in result.items:
        console.print(
            f"  {item.product_id} {escape(item.name)} [{item.category}] — {escape(item.why)}"
        )


@actions_app.command("list")
def list_actions(workspace: WorkspaceOption, as_json: JsonOption = False) -> None:
    """The workspace's actions (the default inventory until one is set) and its caps."""
    from core.db import session_scope
    from scoring.action_store import inventory_of

    with session_scope(get_settings()) as session:
        inventory = inventory_of(session, _workspace_id(session, workspace))
    if as_json:
        print_json_line({"version": inventory.version, **inventory.model_dump(mode="json")})
        return
    table = Table(title=f"actions (inventory {inventory.version})", title_justify="left")
    for column in ("id", "channel", "type", "goal", "value", "cooldown", "eligibility"):
        table.add_column(column)
    import json

    for a in inventory.actions:
        table.add_row(
            a.id, a.channel, a.type, a.goal, f"{a.value:g}", f"{a.cooldown_days} d",
            escape(json.dumps(a.eligibility)),
        )  # fmt: skip
    console.print(table)
    caps = inventory.caps
    console.print(
        "caps per week: "
        + ", ".join(f"{k} {v}" for k, v in caps.per_week.items())
        + f", total {caps.total_per_week}; high-value offer cooldown "
        f"{caps.high_value_cooldown_days} days"
    )


@actions_app.command("set")
def set_actions(
    file: Annotated[Path, typer.Argument(help="The inventory, YAML or JSON.")],
    workspace: WorkspaceOption,
) -> None:
    """Validate an inventory file and make it the workspace's."""
    from core.db import session_scope
    from scoring.action_store import set_inventory

    with session_scope(get_settings()) as session:
        inventory = set_inventory(session, _workspace_id(session, workspace), file)
    console.print(f"inventory {inventory.version}: {len(inventory.actions)} actions")


@actions_app.command("reset")
def reset_actions(workspace: WorkspaceOption) -> None:
    """Go back to the default inventory."""
    from core.db import session_scope
    from scoring.action_store import reset_inventory

    with session_scope(get_settings()) as session:
        inventory = reset_inventory(session, _workspace_id(session, workspace))
    console.print(f"default inventory {inventory.version}: {len(inventory.actions)} actions")
