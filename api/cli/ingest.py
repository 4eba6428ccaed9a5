"""`mcopilot ingest PATH --workspace W`: load brand knowledge into a workspace, incrementally."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from api.cli.output import BarProgress, console, err_console, print_json_line

if TYPE_CHECKING:
    from retrieval.ingest import IngestReport
from core.settings import get_settings

WorkspaceOption = Annotated[
    str, typer.Option("--workspace", "-w", help="Workspace (tenant) to work in.")
]


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)


def ingest(
    path: Annotated[Path, typer.Argument(help="A file or a folder (read recursively).")],
    workspace: WorkspaceOption,
    prune: Annotated[
        bool, typer.Option("--prune", help="Delete documents no longer under PATH.")
    ] = False,
    create_workspace: Annotated[
        bool, typer.Option("--create-workspace", help="Create the workspace if it is missing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Ingest Markdown, HTML, text and PDF files into a workspace.

    Unchanged files are skipped and changed ones replace their chunks. Files that cannot be
    read are reported and skipped; the rest is ingested and the exit code is 2.
    """
    from retrieval.ingest import ingest_path

    settings = get_settings()
    with BarProgress(enabled=not as_json) as progress:
        report = ingest_path(
            settings,
            workspace,
            path,
            prune=prune,
            create_workspace=create_workspace,
            progress=progress,
        )
    if as_json:
        print_json_line(
            {
                "workspace": report.workspace,
                "seconds": round(report.seconds, 3),
                "embedded": report.embedded,
                "reused_vectors": report.reused_vectors,
                "warnings": report.warnings,
                "files": [
                    {
                        "source": f.source,
                        "status": f.status,
                        "chunks": f.chunks,
                        "flagged": f.flagged,
                        "doc_id": f.doc_id,
                        "message": f.message,
                    }
                    for f in report.files
                ],
            }
        )
    else:
        _print_report(report)
    for warning in report.warnings:
        err_console.print(f"warning: {warning}", markup=False)
    for failed in report.failed:
        err_console.print(f"error: {failed.source}: {failed.message}", markup=False)
    if report.failed:
        raise typer.Exit(2)


def _print_report(report: IngestReport) -> None:
    changed = [f for f in report.files if f.status != "unchanged"]
    if changed:
        table = Table(title=None, show_edge=False, pad_edge=False)
        for column in ("source", "status", "chunks", "flagged"):
            table.add_column(column, justify="right" if column in {"chunks", "flagged"} else "left")
        for f in changed:
            if f.status == "failed":
                continue
            flagged = f"[bold red]{f.flagged}[/]" if f.flagged else "0"
            table.add_row(escape(f.source), f.status, str(f.chunks), flagged)
        if table.row_count:
            console.print(table)
    counts = ", ".join(
        f"{report.count(s)} {s}"
        for s in ("added", "updated", "unchanged", "pruned", "failed")
        if report.count(s)
    )
    console.print(
        f"{escape(report.workspace)}: {counts or 'nothing to ingest'}; "
        f"{report.embedded} chunks embedded, {report.reused_vectors} vectors reused; "
        f"{report.seconds:.2f}s"
    )
    flagged = sum(f.flagged for f in report.files)
    if flagged:
        console.print(
            f"[bold red]{flagged} chunk(s) flagged as instruction-like[/] "
            "(possible prompt injection); they are marked in their metadata."
        )
