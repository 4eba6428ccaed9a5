"""`mcopilot workspace member add|list|remove`: who may act in a workspace, and as what."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from api.cli.ingest import WorkspaceOption
from api.cli.output import console, print_json_line
from core import members, workspaces
from core.db import session_scope
from core.settings import get_settings

app = typer.Typer(
    help="Manage a workspace's members and their roles (marketer, reviewer, admin).",
    no_args_is_help=True,
)

UserArgument = Annotated[str, typer.Argument(help="The user's handle, e.g. ana.lopez.")]
AsOption = Annotated[
    str | None,
    typer.Option(
        "--as",
        help="Admin making the change; needed once the workspace has an admin.",
        show_default=False,
    ),
]


@app.command("add")
def add(
    user: UserArgument,
    workspace: WorkspaceOption,
    role: Annotated[str, typer.Option("--role", help="marketer, reviewer or admin.")],
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    acting: AsOption = None,
) -> None:
    """Add a member, or change a member's role."""
    with session_scope(get_settings()) as session:
        ws = workspaces.get_or_raise(session, workspace)
        actor = members.resolve(session, ws, acting) if acting else None
        member, before = members.add(session, ws, user, role=role, actor=actor, name=name)
        if before is None:
            message = f"added {member.handle} to {ws.slug} as {member.role}"
        elif before == member.role:
            message = f"{member.handle} is already {member.role} in {ws.slug}"
        else:
            message = f"{member.handle} in {ws.slug}: {before} -> {member.role}"
        console.print(escape(message))


@app.command("remove")
def remove(user: UserArgument, workspace: WorkspaceOption, acting: AsOption = None) -> None:
    """Remove a member (their past decisions and comments stay)."""
    with session_scope(get_settings()) as session:
        ws = workspaces.get_or_raise(session, workspace)
        actor = members.resolve(session, ws, acting) if acting else None
        role = members.remove(session, ws, user, actor=actor)
        console.print(escape(f"removed {user.strip().lower()} ({role}) from {ws.slug}"))


@app.command("list")
def list_members(
    workspace: WorkspaceOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
) -> None:
    """Every member with their role."""
    with session_scope(get_settings()) as session:
        ws = workspaces.get_or_raise(session, workspace)
        for member in members.list_members(session, ws):
            if as_json:
                print_json_line({"user": member.handle, "role": member.role})
            else:
                console.print(f"{escape(member.handle)}\t{member.role}")
