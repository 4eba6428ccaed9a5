"""`mcopilot demo`: the main job on the embedded default. Ingest the demo brand, apply its
brand policy and search it; load demo customers, score them, and show a segment and a next
best action; simulate a journey, activate it and send its first step to a loopback SMTP sink."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from api.cli.demo_journey import journey_demo
from api.cli.output import BarProgress, console
from core.errors import Conflict
from core.settings import Settings, get_settings

DEMO_CUSTOMERS = 5_000
ORDERS_PER_CUSTOMER = 20
DEMO_SEED = 42
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
    customers: Annotated[
        int, typer.Option("--customers", help="Demo customers to generate (first run only).")
    ] = DEMO_CUSTOMERS,
) -> None:
    """Ingest the demo brand (Brightloop) and search it; load, score and segment demo
    customers and decide one customer's next best action."""
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
    _apply_demo_policy(settings, workspace)
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
    scored = _customers_segment_and_nba(settings, workspace, customers)
    journey_demo(settings, workspace, scored)


def _apply_demo_policy(settings: Settings, workspace: str) -> None:
    """The demo brand's reviewed policy (built by `mcopilot policy extract`) becomes the
    workspace's active policy; applying the same version again changes nothing."""
    from core import members, workspaces
    from core.db import session_scope
    from guardrails.policy_service import apply_policy_file
    from knowledge import DEMO_POLICY_FILE

    with session_scope(settings) as session:
        team = members.ensure_demo_team(session, workspaces.get_or_raise(session, workspace))
        admin = next(m.handle for m in team if m.role == "admin")
    console.print(
        "team: " + ", ".join(f"{escape(m.handle)} ({m.role})" for m in team) + "; act as one "
        f"with --as, e.g. `mcopilot approvals list --workspace {escape(workspace)} --as reviewer`"
    )
    stored = apply_policy_file(settings, workspace, DEMO_POLICY_FILE, created_by=admin)
    console.print(
        f"brand policy {stored.version}: {stored.policy.rule_count()} rules, each citing its "
        f"source chunk ({'applied' if stored.new else 'active'}); try `mcopilot check "
        f'--workspace {escape(workspace)} --channel sms --text "..."`'
    )


def _customers_segment_and_nba(settings: Settings, workspace: str, customers: int) -> date:
    """Demo customers (generated once per workspace), scored as of today; the VIP segment and
    the next best action of its first at-risk member, else of its first member."""
    from api.cli.nba import print_outcome
    from api.cli.segment import summary_line
    from core import workspaces
    from core.clock import utcnow
    from core.db import session_scope
    from scoring.demo_loader import customer_data_count, generate_into
    from scoring.nba_context import next_best_action
    from scoring.score_run import run_scores
    from scoring.segments import ensure_seed_segments, get_or_raise, members

    with session_scope(settings) as session:
        workspace_id = workspaces.get_or_raise(session, workspace).id
        existing = customer_data_count(session, workspace_id)
    console.rule("customers")
    if existing:
        console.print(f"{existing:,} demo customers already loaded")
    else:
        report = generate_into(
            settings,
            workspace,
            customers=customers,
            orders=customers * ORDERS_PER_CUSTOMER,
            seed=DEMO_SEED,
        )
        console.print(
            f"generated {report.rows.get('customers', 0):,} customers and "
            f"{report.rows.get('orders', 0):,} orders in "
            f"{report.generate_seconds + report.load_seconds:.1f} s"
        )
    scored = utcnow().date()
    with session_scope(settings) as session:
        ensure_seed_segments(session, workspace_id)
        run = run_scores(session, workspace_id, scored)
    console.print(
        f"scored {run.customers:,} customers in {sum(run.seconds.values()):.1f} s: "
        + ", ".join(
            f"{n} {stage}" for stage, n in (run.lifecycle.stages if run.lifecycle else {}).items()
        )
    )
    for summary in run.segments:
        console.print(summary_line(summary))
    with session_scope(settings) as session:
        vip = get_or_raise(session, workspace_id, "VIP")
        churn_risk = {
            m.customer.id
            for m in members(session, get_or_raise(session, workspace_id, "Churn Risk"), limit=5000)
        }
        sample = members(session, vip, limit=200)
        console.rule(f"segment VIP: {vip.population:,} customers, criteria {vip.criteria}")
        for member in sample[:5]:
            console.print(f"  {escape(member.customer.label)} since {member.entered_at:%Y-%m-%d}")
        pick = next((m for m in sample if m.customer.id in churn_risk), None)
        pick = pick or (sample[0] if sample else None)
        if pick is None:
            return scored
        outcome = next_best_action(session, workspace_id, pick.customer.id)
    console.rule("next best action")
    print_outcome(outcome, show_blocked=False)
    return scored
