"""`mcopilot knowledge list|delete|reindex --workspace W`: the documents a workspace knows."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from api.cli import quarantine
from api.cli.ingest import WorkspaceOption
from api.cli.output import console, err_console, print_json_line
from core.settings import get_settings

app = typer.Typer(help="List, delete and reindex a workspace's documents.", no_args_is_help=True)
app.add_typer(quarantine.app, name="quarantine")


@app.command("list")
def list_documents(
    workspace: WorkspaceOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
) -> None:
    """Every document of the workspace with its chunks and flags."""
    from retrieval.knowledge import list_documents as list_docs

    documents = list_docs(get_settings(), workspace)
    if as_json:
        for d in documents:
            print_json_line(
                {
                    "doc_id": d.id,
                    "source": d.source,
                    "title": d.title,
                    "media_type": d.media_type,
                    "chunks": d.chunk_count,
                    "flagged_chunks": d.flagged_chunks,
                    "content_hash": d.content_hash,
                    "ingested_at": d.ingested_at.isoformat(),
                }
            )
        return
    if not documents:
        console.print(
            f"workspace {escape(workspace)!r} has no documents yet; "
            f"add some with `mcopilot ingest PATH --workspace {escape(workspace)}`"
        )
        return
    table = Table(show_edge=False)
    table.add_column("doc id", no_wrap=True, min_width=20)
    for column in ("source", "title", "type", "chunks", "flagged", "ingested"):
        table.add_column(column)
    for d in documents:
        table.add_row(
            d.id,
            escape(d.source),
            escape(d.title),
            d.media_type,
            str(d.chunk_count),
            f"[bold red]{d.flagged_chunks}[/]" if d.flagged_chunks else "0",
            d.ingested_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)
    console.print(f"{len(documents)} documents, {sum(d.chunk_count for d in documents)} chunks")


@app.command("delete")
def delete(
    doc: Annotated[str, typer.Argument(help="Document id or source path.")],
    workspace: WorkspaceOption,
) -> None:
    """Delete a document from the database, the vector store and the keyword index."""
    from retrieval.knowledge import delete_document

    deleted = delete_document(get_settings(), workspace, doc)
    console.print(f"deleted {escape(deleted.source)} ({deleted.doc_id}, {deleted.chunks} chunks)")
    for warning in deleted.warnings:
        err_console.print(f"warning: {warning}", markup=False)


@app.command("reindex")
def reindex(workspace: WorkspaceOption) -> None:
    """Rebuild the workspace's vector and keyword indexes from the database."""
    from retrieval.knowledge import reindex as rebuild

    result = rebuild(get_settings(), workspace)
    console.print(f"reindexed {result.chunks} chunks ({result.embedded} embedded, the rest cached)")
