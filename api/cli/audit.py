"""`mcopilot audit verify|export|list`: prove the audit trail intact, take it away, read it."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from api.cli.ingest import WorkspaceOption
from api.cli.output import console, print_json_line
from core import workspaces
from core.db import session_scope
from core.errors import InvalidInput
from core.settings import get_settings

EXIT_TAMPERED = 1

app = typer.Typer(
    help="Verify, export and list the tamper-evident audit log.", no_args_is_help=True
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON lines.")]


def parse_since(text: str) -> datetime:
    """--since as an aware UTC datetime: an ISO date (midnight UTC) or date-time."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{text!r} is not a date or date-time",
            field="--since",
            fix="use ISO 8601, e.g. 2026-11-30 or 2026-11-30T14:00:00+00:00",
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@app.command("verify")
def verify(workspace: WorkspaceOption, as_json: JsonOption = False) -> None:
    """Check every record's hash, the chain and the anchored head; exit 1 naming the first bad
    record on any edit, deletion, reordering, insertion or truncation."""
    from guardrails.audit import service

    settings = get_settings()
    with session_scope(settings) as session:
        ws = workspaces.get_or_raise(session, workspace)
        report = service.verify(session, ws.id, settings=settings)
    problem = report.problem
    if as_json:
        print_json_line(
            {
                "workspace": workspace,
                "intact": report.intact,
                "records": report.records,
                "head_seq": report.head_seq,
                "head_hash": report.head_hash,
                "problem": None
                if problem is None
                else {"seq": problem.seq, "kind": problem.kind, "message": problem.message},
            }
        )
    elif problem is None:
        console.print(
            f"audit log of {workspace}: intact, {report.records:,} records, head seq "
            f"{report.head_seq} {report.head_hash[:12]}, anchor verified",
            markup=False,
        )
    else:
        console.print(
            f"audit log of {workspace}: TAMPERED at seq {problem.seq} ({problem.kind}): "
            f"{problem.message}",
            markup=False,
        )
    if problem is not None:
        raise typer.Exit(EXIT_TAMPERED)


def _write_atomically(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write the rows as JSON lines; the file appears whole or not at all. Returns the count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    temporary = Path(name)
    count = 0
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return count


@app.command("export")
def export(
    workspace: WorkspaceOption,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to this .jsonl file instead of stdout.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only records created at or after this ISO time.")
    ] = None,
) -> None:
    """Write the records as JSON lines in seq order, hashes included."""
    from guardrails.audit import service

    start = parse_since(since) if since else None
    if out is not None and out.is_dir():
        raise InvalidInput(f"{str(out)!r} is a directory", field="--out", fix="name a file")
    settings = get_settings()
    with session_scope(settings) as session:
        ws = workspaces.get_or_raise(session, workspace)
        rows = (service.export_row(r) for r in service.stream(session, ws.id, since=start))
        if out is None:
            for row in rows:
                print_json_line(row)
            return
        count = _write_atomically(out, rows)
    console.print(f"wrote {count:,} records to {out}", markup=False)


def _row(record: Any) -> list[str]:
    return [
        str(record.seq),
        record.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        escape(record.actor),
        escape(record.action),
        escape(record.decision),
        ", ".join(escape(e) for e in record.evidence_ids) or "-",
        (record.output_hash or "-")[:12],
        record.record_hash[:12],
    ]


@app.command("list")
def list_records(
    workspace: WorkspaceOption,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="How many.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """The most recent records, newest first."""
    from guardrails.audit import service

    with session_scope(get_settings()) as session:
        ws = workspaces.get_or_raise(session, workspace)
        records = service.recent(session, ws.id, limit=limit)
    if as_json:
        for record in records:
            print_json_line(service.export_row(record))
        return
    if not records:
        console.print(f"no audit records in {workspace}", markup=False)
        return
    table = Table(title=f"audit log of {escape(workspace)}", title_justify="left")
    for column in ("seq", "at (UTC)", "actor", "action", "decision", "evidence", "output", "hash"):
        table.add_column(column)
    for record in records:
        table.add_row(*_row(record))
    console.print(table)
