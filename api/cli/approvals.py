"""`mcopilot approvals list|show|submit|edit|approve|reject|request-changes|comment`: the
review queue, acting `--as` a workspace member."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from sqlalchemy.orm import Session

from api.cli.ingest import WorkspaceOption
from api.cli.output import console, print_json_line
from core import members, workspaces
from core.db import session_scope
from core.roles import Member
from core.settings import get_settings
from guardrails import approval_views, approvals
from guardrails.approval_requests import read_request
from guardrails.approval_rules import ApprovalPolicy

app = typer.Typer(
    help="Review assets and high-impact actions: list, show, approve, reject, request changes.",
    no_args_is_help=True,
)

ItemArgument = Annotated[str, typer.Argument(help="The item id, e.g. apr_3f9a0c1b2d4e5f60.")]
AsOption = Annotated[
    str, typer.Option("--as", help="The workspace member acting.", show_default=False)
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
CommentOption = Annotated[str, typer.Option("--comment", "-m", help="Why; shown to the author.")]
FileOption = Annotated[
    Path,
    typer.Option(
        "--file",
        "-f",
        help="JSON: {kind: asset|journey_activation|large_send|budget_change, title, "
        "content: {...exactly what goes out}, evidence_ids: [chunk ids], findings: [policy "
        "findings], audience_size, expires_in_hours}.",
    ),
]


@contextmanager
def acting(workspace: str, user: str) -> Iterator[tuple[Session, Member]]:
    """One transaction, with the member acting in the workspace."""
    with session_scope(get_settings()) as session:
        ws = workspaces.get_or_raise(session, workspace)
        yield session, members.resolve(session, ws, user)


def _policy() -> ApprovalPolicy:
    return ApprovalPolicy.from_settings(get_settings())


def _state_line(view: dict[str, Any]) -> str:
    return (
        f"{view['id']}  {view['state']}  revision {view['revision']}  "
        f"approvals {view['approvals']}/{view['required_approvals']}  "
        f"content hash {view['content_hash']}"
    )


@app.command("list")
def list_items(
    workspace: WorkspaceOption,
    user: AsOption,
    state: Annotated[
        str | None,
        typer.Option("--state", help="pending, approved, rejected, changes_requested or expired."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many, newest first.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """The queue, newest first."""
    with acting(workspace, user) as (session, member):
        rows = approval_views.list_items(session, member.workspace_id, state=state, limit=limit)
    for row in rows:
        if as_json:
            print_json_line(row)
            continue
        blocks = f"  {row['blocking_findings']} blocking" if row["blocking_findings"] else ""
        console.print(
            escape(
                f"{row['id']}\t{row['state']}\t{row['kind']}\t"
                f"{row['approvals']}/{row['required_approvals']}{blocks}\t{row['title']}"
                f"\tby {row['requested_by']}\texpires {row['expires_at'][:16]}"
            )
        )


def _print_details(view: dict[str, Any]) -> None:
    console.print(escape(f"{view['title']}  ({view['kind']})"))
    console.print(escape(_state_line(view)))
    console.print(
        escape(
            f"requested by {view['requested_by']}, revision by {view['revised_by']}; "
            f"expires {view['expires_at']}"
        )
    )
    if view["audience_size"] is not None:
        console.print(f"audience: {view['audience_size']:,} customers")
    console.print("content:")
    console.print(escape(json.dumps(view["content"], indent=2, ensure_ascii=False)))
    console.print(escape(f"evidence: {', '.join(view['evidence_ids']) or 'none'}"))
    console.print(f"findings: {len(view['findings']) or 'none'}")
    for f in view["findings"]:
        source = f" [{f['source']}]" if f.get("source") else ""
        console.print(escape(f"  {f['severity']}  {f['rule_id']}: {f['message']}{source}"))
    for d in view["decisions"]:
        void = f" (voided: {d['void_reason']})" if d["voided_at"] else ""
        said = f": {d['comment']}" if d["comment"] else ""
        console.print(
            escape(
                f"decision: {d['by']} {d['decision']} revision {d['revision']} "
                f"({d['content_hash'][:12]}) at {d['at'][:16]}{void}{said}"
            )
        )
    for c in view["comments"]:
        console.print(escape(f"comment: {c['by']} on revision {c['revision']}: {c['body']}"))


@app.command("show")
def show(
    item_id: ItemArgument, workspace: WorkspaceOption, user: AsOption, as_json: JsonOption = False
) -> None:
    """One item: content, content hash, evidence, findings, decisions and comments."""
    with acting(workspace, user) as (session, member):
        view = approval_views.details(session, approvals.get_or_raise(session, member, item_id))
    if as_json:
        print_json_line(view)
    else:
        _print_details(view)


@app.command("submit")
def submit(
    workspace: WorkspaceOption, user: AsOption, file: FileOption, as_json: JsonOption = False
) -> None:
    """Put an item in the queue (agents do this; the command is for testing and admins)."""
    request = read_request(file)
    with acting(workspace, user) as (session, member):
        item = approvals.submit(session, actor=member, request=request, policy=_policy())
        view = approval_views.details(session, item)
    if as_json:
        print_json_line(view)
    else:
        console.print(escape(f"submitted: {_state_line(view)}"))


@app.command("edit")
def edit(
    item_id: ItemArgument,
    workspace: WorkspaceOption,
    user: AsOption,
    file: FileOption,
    as_json: JsonOption = False,
) -> None:
    """Replace an item's content; any change voids its approvals and needs review again."""
    request = read_request(file)
    with acting(workspace, user) as (session, member):
        item, verdict = approvals.edit(
            session, actor=member, item_id=item_id, request=request, policy=_policy()
        )
        view = approval_views.details(session, item)
    if as_json:
        print_json_line(view)
        return
    if not verdict.changed:
        console.print(escape(f"unchanged: {_state_line(view)}"))
        return
    voided = "; earlier approvals voided" if verdict.voids else ""
    console.print(escape(f"edited: {_state_line(view)}{voided}"))


def _decide(
    action: approvals.Action,
    item_id: str,
    workspace: str,
    user: str,
    seen_hash: str | None,
    comment: str,
    as_json: bool,
) -> None:
    with acting(workspace, user) as (session, member):
        outcome = approvals.decide_item(
            session,
            actor=member,
            item_id=item_id,
            action=action,
            seen_hash=seen_hash,
            comment=comment,
        )
        view = approval_views.details(session, outcome.item)
    if as_json:
        print_json_line({**view, "result": outcome.verdict.message})
    else:
        console.print(escape(f"{outcome.verdict.message}: {_state_line(view)}"))


HashOption = Annotated[
    str | None,
    typer.Option(
        "--hash",
        help="The content hash you reviewed (from `approvals show`; 12+ leading characters).",
    ),
]


@app.command("approve")
def approve(
    item_id: ItemArgument,
    workspace: WorkspaceOption,
    user: AsOption,
    seen_hash: HashOption = None,
    comment: CommentOption = "",
    as_json: JsonOption = False,
) -> None:
    """Approve exactly the content you reviewed (reviewer or admin; not your own item)."""
    _decide("approve", item_id, workspace, user, seen_hash, comment, as_json)


@app.command("reject")
def reject(
    item_id: ItemArgument,
    workspace: WorkspaceOption,
    user: AsOption,
    comment: CommentOption = "",
    seen_hash: HashOption = None,
    as_json: JsonOption = False,
) -> None:
    """Reject an item for good (reviewer or admin); needs --comment."""
    _decide("reject", item_id, workspace, user, seen_hash, comment, as_json)


@app.command("request-changes")
def request_changes(
    item_id: ItemArgument,
    workspace: WorkspaceOption,
    user: AsOption,
    comment: CommentOption = "",
    seen_hash: HashOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send an item back to its author (reviewer or admin); needs --comment."""
    _decide("request_changes", item_id, workspace, user, seen_hash, comment, as_json)


@app.command("comment")
def comment(
    item_id: ItemArgument,
    text: Annotated[str, typer.Argument(help="The comment.")],
    workspace: WorkspaceOption,
    user: AsOption,
) -> None:
    """Add a comment to an item's thread (any member)."""
    with acting(workspace, user) as (session, member):
        approvals.add_comment(session, actor=member, item_id=item_id, body=text)
    console.print(escape(f"commented on {item_id}"))
