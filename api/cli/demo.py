"""`mcopilot demo`: the main job on the embedded default; ingest the demo brand, then search it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from api.cli.output import BarProgress, console
from core.errors import Conflict
from core.settings import Settings, get_settings

DEMO_QUERIES = (
    "What is the most we may discount a SaaS plan in a win-back offer?",
    "fintech customer case study results",
    "what must every SMS include so people can opt out?",
)


def _refuse_a_workspace_with_other_documents(
    settings: Settings, workspace: str, corpus: Path
) -> None:
    """The demo loads its brand into a workspace of its own, never into a real one."""
    from core import workspaces
    from core.db import session_scope
    from retrieval import knowledge_store
    from retrieval.ingest import discover

    with session_scope(settings) as session:
        existing = workspaces.get(session, workspaces.validate_slug(workspace))
        if existing is None:
            return
        sources = set(knowledge_store.documents_by_source(session, existing.id))
    others = sources - {source for _, source in discover(corpus)}
    if others:
        raise Conflict(
            f"workspace {workspace!r} holds {len(others)} documents of its own",
            field="--workspace",
            fix="run the demo in a workspace of its own (the default is 'demo')",
        )


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    workspace: Annotated[str, typer.Option("--workspace", "-w", help="Workspace to use.")] = "demo",
    k: Annotated[int, typer.Option("--k", "-k", help="Results per query.")] = 3,
) -> None:
    """Ingest the bundled demo brand (Brightloop) into a workspace and answer sample searches."""
    from knowledge import DEMO_BRAND_DIR
    from retrieval.citations import format_citation
    from retrieval.ingest import ingest_path
    from retrieval.search import search

    settings = get_settings()
    _refuse_a_workspace_with_other_documents(settings, workspace, DEMO_BRAND_DIR)
    console.print(f"data dir: {escape(str(settings.data_dir))}")
    with BarProgress() as progress:
        report = ingest_path(
            settings,
            workspace,
            DEMO_BRAND_DIR,
            create_workspace=True,
            progress=progress,
        )
    flagged = sum(f.flagged for f in report.files)
    console.print(
        f"ingested {len(report.files)} documents into {escape(workspace)!r}: "
        f"{report.count('added')} added, {report.count('updated')} updated, "
        f"{report.count('unchanged')} unchanged; {flagged} chunk(s) flagged as instruction-like"
    )
    for query in DEMO_QUERIES:
        console.rule(escape(query))
        for rank, result in enumerate(search(workspace, query, k=k, settings=settings), start=1):
            snippet = " ".join(result.text.split())
            snippet = snippet if len(snippet) <= 240 else snippet[:237] + "..."
            console.print(
                f"{rank}. [bold]{escape(format_citation(result))}[/]  "
                f"[dim]{result.score:.4f} via {'+'.join(result.retrievers)}[/]\n"
                f"   {escape(snippet)}"
            )
