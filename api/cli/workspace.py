"""`mcopilot workspace create|list` and `workspace member ...`: the tenants everything else
is scoped to, and who acts in them."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from api.cli import members
from api.cli.output import console, print_json_line
from core import workspaces
from core.db import session_scope
from core.settings import get_settings

app = typer.Typer(help="Create and list workspaces (tenants).", no_args_is_help=True)
app.add_typer(members.app, name="member")


@app.command("create")
def create(
    slug: Annotated[str, typer.Argument(help="2-63 characters: a-z, 0-9, '-' or '_'.")],
    name: Annotated[str | None, typer.Option(help="A display name.")] = None,
) -> None:
    """Create a workspace."""
    with session_scope(get_settings()) as session:
        workspace = workspaces.create(session, slug, name=name)
        console.print(f"created workspace {escape(workspace.slug)} ({workspace.id})")


@app.command("list")
def list_workspaces(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
) -> None:
    """Every workspace."""
    with session_scope(get_settings()) as session:
        for w in workspaces.list_all(session):
            if as_json:
                print_json_line({"slug": w.slug, "id": w.id, "name": w.name})
            else:
                console.print(f"{escape(w.slug)}\t{w.id}\t{escape(w.name)}")
