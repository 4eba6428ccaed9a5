"""`mcopilot journey save|activate|pause|resume|kill-switch|status` and `mcopilot worker`: storing
journey versions, running them, stopping them, and the worker that sends their due steps."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from api.cli.ingest import WorkspaceOption
from api.cli.journey import app
from api.cli.output import console, print_json_line
from core import members, workspaces
from core.config_files import read_yaml_file
from core.db import session_scope
from core.settings import get_settings

AsOption = Annotated[str, typer.Option("--as", help="The workspace member acting.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
JourneyArg = Annotated[str, typer.Argument(metavar="JOURNEY", help="The journey id.")]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why; shown with the status.")]


@app.command("save")
def save(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The journey (YAML or JSON).")],
    workspace: WorkspaceOption,
    actor: AsOption,
) -> None:
    """Store a validated journey version (marketers and above); it runs once activated."""
    from journeys import journey_store

    data = read_yaml_file(file)
    with session_scope(get_settings()) as session:
        ws = workspaces.get_or_raise(session, workspace)
        member = members.resolve(session, ws, actor)
        row, created = journey_store.save(session, member, data)
    verb = "saved" if created else "already stored"
    console.print(f"{escape(row.journey_id)} {row.version} {verb} ({row.spec_hash[:12]})")


@app.command("activate")
def activate(
    journey: JourneyArg,
    workspace: WorkspaceOption,
    actor: AsOption,
    version: Annotated[str | None, typer.Option("--version", help="Default: newest.")] = None,
) -> None:
    """Run a stored version; every step's asset must be approved as it is."""
    from journeys import journey_store

    with session_scope(get_settings()) as session:
        ws = workspaces.get_or_raise(session, workspace)
        member = members.resolve(session, ws, actor)
        state = journey_store.activate(session, member, journey, version=version)
    console.print(f"{escape(journey)} {state.version} active")


@app.command("pause")
def pause(
    journey: JourneyArg, workspace: WorkspaceOption, actor: AsOption, reason: ReasonOption
) -> None:
    """Stop one journey's sends; its due steps wait (marketers and above)."""
    from journeys import journey_store

    with session_scope(get_settings()) as session:
        ws = workspaces.get_or_raise(session, workspace)
        member = members.resolve(session, ws, actor)
        journey_store.pause(session, member, journey, reason=reason)
    console.print(f"{escape(journey)} paused by {escape(actor)}")


@app.command("resume")
def resume(
    workspace: WorkspaceOption,
    actor: AsOption,
    journey: Annotated[
        str | None, typer.Argument(metavar="[JOURNEY]", help="Default: all.")
    ] = None,
    reason: Annotated[str, typer.Option("--reason")] = "",
) -> None:
    """Run a paused journey again (marketers), a killed one or all of them (admins)."""
    from journeys import journey_store

    with session_scope(get_settings()) as session:
        ws = workspaces.get_or_raise(session, workspace)
        member = members.resolve(session, ws, actor)
        changed = journey_store.resume(session, member, journey, reason=reason)
    names = ", ".join(state.journey_id for state in changed) or "nothing to resume"
    console.print(f"resumed: {escape(names)}")


@app.command("kill-switch")
def kill_switch(
    workspace: WorkspaceOption,
    actor: AsOption,
    reason: ReasonOption,
    journey: Annotated[
        str | None, typer.Argument(metavar="[JOURNEY]", help="Default: all.")
    ] = None,
) -> None:
    """Emergency stop of one journey, or of every journey of the workspace (admins). Pair it
    with `mcopilot gate pause` to stop every other send as well."""
    from journeys import journey_store

    with session_scope(get_settings()) as session:
        ws = workspaces.get_or_raise(session, workspace)
        member = members.resolve(session, ws, actor)
        changed = journey_store.kill_switch(session, member, journey, reason=reason)
    names = ", ".join(state.journey_id for state in changed) or "no running journey"
    console.print(f"killed: {escape(names)}; resume with `mcopilot journey resume --as ADMIN`")


@app.command("status")
def status(
    workspace: WorkspaceOption,
    journey: Annotated[str | None, typer.Argument(metavar="[JOURNEY]")] = None,
    as_json: JsonOption = False,
) -> None:
    """Each journey's run state, enrolments and due steps."""
    from journeys import journey_store

    with session_scope(get_settings()) as session:
        ws = workspaces.get_or_raise(session, workspace)
        rows = journey_store.status(session, ws.id, journey)
    for row in rows:
        if as_json:
            print_json_line(
                {
                    "journey_id": row.journey_id,
                    "version": row.version,
                    "state": row.state,
                    "priority": row.priority,
                    "reason": row.reason,
                    "changed_by": row.changed_by,
                    "changed_at": row.changed_at.isoformat(),
                    "enrolments": row.enrolments,
                    "tasks": row.tasks,
                }
            )
            continue
        why = f" ({row.reason})" if row.reason else ""
        counts = lambda found: ", ".join(f"{k} {v}" for k, v in sorted(found.items())) or "none"  # noqa: E731
        console.print(
            f"{escape(row.journey_id)} {row.version}: {row.state}{escape(why)}; "
            f"enrolments: {counts(row.enrolments)}; steps: {counts(row.tasks)}"
        )
    if not rows and not as_json:
        console.print("no journeys stored")


def register(root: typer.Typer) -> None:
    """`mcopilot worker` (the `journey` commands above join the `journey` group on import)."""
    root.command("worker")(worker)


def worker(
    workspace: Annotated[
        str | None, typer.Option("--workspace", "-w", help="Only this workspace.")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="One round, then exit.")] = False,
    batch: Annotated[
        int,
        typer.Option(
            "--batch",
            min=1,
            max=1000,
            help="Due steps claimed and sent per transaction (a crash repeats at most these, "
            "under the same Message-ID / Idempotency-Key).",
        ),
    ] = 200,
    poll: Annotated[
        float, typer.Option("--poll", min=0.05, help="Seconds between empty rounds.")
    ] = 1.0,
    lease: Annotated[float, typer.Option("--lease", min=1, help="Seconds a claim holds.")] = 120.0,
    scan: Annotated[
        bool,
        typer.Option(
            "--scan/--no-scan", help="Scan the journeys' triggers with every sweep (each minute)."
        ),
    ] = True,
) -> None:
    """Run due journey steps through the gate until SIGTERM (PostgreSQL: run as many as you
    like; SQLite: one)."""
    from datetime import timedelta

    from journeys.triggers_job import scan_job
    from journeys.worker import Worker

    settings = get_settings()
    workspace_id = None
    if workspace is not None:
        with session_scope(settings) as session:
            workspace_id = workspaces.get_or_raise(session, workspace).id
    loop = Worker(
        settings,
        workspace_id=workspace_id,
        batch=batch,
        poll_s=poll,
        lease=timedelta(seconds=lease),
        jobs=[scan_job] if scan else [],
    )
    loop.install_signal_handlers()
    report = loop.run(once=once)
    console.print(
        f"worker {escape(loop.worker_id)} stopped; last round claimed {report.claimed}: "
        + (", ".join(f"{k} {v}" for k, v in sorted(report.outcomes.items())) or "nothing")
    )
