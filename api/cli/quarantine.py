"""`mcopilot knowledge quarantine list|release`: flagged chunks and their release."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from api.cli.ingest import WorkspaceOption
from api.cli.output import console, print_json_line
from core.settings import get_settings

app = typer.Typer(
    help="Chunks flagged at ingest stay out of generation until an admin releases them.",
    no_args_is_help=True,
)
PREVIEW_CHARS = 120


@app.command("list")
def list_quarantine(
    workspace: WorkspaceOption,
    include_released: Annotated[
        bool, typer.Option("--all", help="Show released chunks too.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
) -> None:
    """The workspace's quarantined chunks, with the rules that flagged them."""
    from core import workspaces
    from core.db import session_scope
    from retrieval.quarantine import list_flagged

    with session_scope(get_settings()) as session:
        ws = workspaces.get_or_raise(session, workspace)
        chunks = list_flagged(session, ws.id, include_released=include_released)
    if as_json:
        for chunk in chunks:
            print_json_line(chunk.to_dict())
        return
    if not chunks:
        console.print(f"no quarantined chunks in workspace {escape(workspace)!r}")
        return
    table = Table(show_edge=False)
    for column in ("chunk id", "source", "rules", "status", "text"):
        table.add_column(column, no_wrap=column == "chunk id")
    for chunk in chunks:
        rules = ", ".join(sorted({str(flag.get("rule")) for flag in chunk.flags}))
        status = (
            "[bold red]quarantined[/]"
            if chunk.release is None
            else f"released by {escape(chunk.release.released_by)}"
        )
        preview = " ".join(chunk.text.split())[:PREVIEW_CHARS]
        table.add_row(chunk.chunk_id, escape(chunk.source), rules, status, escape(preview))
    console.print(table)


@app.command("release")
def release(
    chunk_id: Annotated[str, typer.Argument(metavar="CHUNK_ID", help="The chunk to release.")],
    workspace: WorkspaceOption,
    actor: Annotated[str, typer.Option("--as", help="Who releases it (an admin).")],
    reason: Annotated[str, typer.Option("--reason", help="Why the flagged text is safe.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the release as JSON.")] = False,
) -> None:
    """Let one flagged chunk back into generation; who, when and why are stored."""
    from core import members, workspaces
    from core.db import session_scope
    from guardrails.audit.service import append
    from retrieval.quarantine import release as release_chunk

    settings = get_settings()
    with session_scope(settings) as session:
        ws = workspaces.get_or_raise(session, workspace)
        admin = members.acting_as(session, ws, actor, needed="admin", to="release quarantine")
        released = release_chunk(session, ws.id, chunk_id, actor=admin.handle, reason=reason)
        append(
            session,
            ws.id,
            actor=admin.handle,
            action="knowledge.release",
            inputs={"chunk_id": released.chunk_id, "source": released.source, "reason": reason},
            evidence_ids=[released.chunk_id],
            decision="released",
            settings=settings,
        )
    if as_json:
        print_json_line(released.to_dict())
        return
    console.print(
        f"released {released.chunk_id} ({escape(released.source)}) "
        f"by {escape(actor)}: it may be used as evidence again"
    )
