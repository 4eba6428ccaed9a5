"""`mcopilot search "QUERY" --workspace W`: hybrid search with citations; many queries at once."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from api.cli.ingest import WorkspaceOption
from api.cli.output import console, print_json_line
from core.db import session_scope
from core.errors import InvalidInput
from core.settings import get_settings

if TYPE_CHECKING:
    from retrieval.search import SearchResult


def register(app: typer.Typer) -> None:
    app.command("search")(search)


def _read_queries(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InvalidInput(f"cannot read {str(path)!r}: {exc.strerror}", field="--queries") from exc
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{str(path)!r} is not UTF-8 text", field="--queries") from exc
    queries = [line.strip() for line in lines if line.strip()]
    if not queries:
        raise InvalidInput(
            f"{str(path)!r} holds no queries", field="--queries", fix="write one query per line"
        )
    return queries


def search(
    workspace: WorkspaceOption,
    query: Annotated[str | None, typer.Argument(help="A question or keywords.")] = None,
    k: Annotated[int, typer.Option("--k", "-k", help="How many results.")] = 5,
    queries: Annotated[
        Path | None,
        typer.Option("--queries", help="A file of queries, one a line; prints one JSON line each."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    exclude_flagged: Annotated[
        bool,
        typer.Option(
            "--exclude-flagged",
            help="Leave out quarantined chunks (flagged at ingest, not released).",
        ),
    ] = False,
) -> None:
    """Search the workspace's knowledge: BM25 and dense retrieval fused by reciprocal rank."""
    from retrieval.citations import format_citation
    from retrieval.search import SearchEngine, normalise_query, validate_k

    if (query is None) == (queries is None):
        raise InvalidInput("pass either QUERY or --queries FILE", field="query")
    validate_k(k)
    batch = _read_queries(queries) if queries else [normalise_query(query or "")]
    settings = get_settings()
    engine = SearchEngine(settings)
    with session_scope(settings) as session:
        for text in batch:
            results = engine.search(session, workspace, text, k=k, exclude_flagged=exclude_flagged)
            if queries or as_json:
                print_json_line(
                    {
                        "query": text,
                        "results": [
                            {**r.to_dict(), "citation": format_citation(r)} for r in results
                        ],
                    }
                )
                continue
            _print_results(text, results)


def _print_results(query: str, results: list[SearchResult]) -> None:
    from retrieval.citations import format_citation

    if not results:
        console.print(f"no results for {query!r}")
        return
    table = Table(show_lines=True, title=escape(query), title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("score", justify="right")
    table.add_column("found by")
    table.add_column("citation / text", overflow="fold")
    for rank, r in enumerate(results, start=1):
        snippet = " ".join(r.text.split())
        if len(snippet) > 280:
            snippet = snippet[:277] + "..."
        flag = " [bold red](flagged)[/]" if r.flagged else ""
        table.add_row(
            str(rank),
            f"{r.score:.4f}",
            "+".join(r.retrievers),
            f"[bold]{escape(format_citation(r))}[/]{flag}\n[dim]{escape(r.source)}[/]\n{escape(snippet)}",
        )
    console.print(table)
