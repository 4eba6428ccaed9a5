"""The demo's journey part: the seed's churn win-back journey simulated over the demo customers,
its copy approved by the demo team, the journey activated, its trigger scanned, and its first
step sent through the execution gate to an SMTP sink on loopback (nothing leaves the machine):
at once where the customer's local time allows, else as their quiet hours end, with the demo
worker's clock moved on through the next day."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

from rich.markup import escape

from api.cli.output import console
from api.smtp_sink import smtp_server
from core.settings import Settings

DEMO_JOURNEY_FILE = "churn-winback.yaml"
SIMULATED_DAYS = 30
#: The demo's worker runs rounds until nothing is due (the first step of every entrant).
DRAIN_TIMEOUT_S = 300.0
BATCH = 100
QUIET = "deferred:quiet_hours"
#: Sends deferred by quiet hours go out within a day: the demo moves its worker's clock on.
FAST_FORWARD_HOURS = 24


def _approved_journey(settings: Settings, workspace: str) -> tuple[Any, bool]:
    """The demo journey with every step's copy approved (submitted by the marketer, approved by
    the reviewers), saved and activated; the stored one when an earlier demo did this."""
    from api.cli.journey import load_journey
    from core import members, workspaces
    from core.db import session_scope
    from guardrails import approvals
    from guardrails.approval_requests import parse_request
    from guardrails.approval_rules import ApprovalPolicy
    from journeys import journey_store
    from journeys.experiment_readout import running_version
    from journeys.spec import Step
    from knowledge import JOURNEYS_DIR

    journey = load_journey(JOURNEYS_DIR / DEMO_JOURNEY_FILE)
    policy = ApprovalPolicy.from_settings(settings)
    with session_scope(settings) as session:
        ws = workspaces.get_or_raise(session, workspace)
        team = members.ensure_demo_team(session, ws)
        marketer = next(m for m in team if m.role == "marketer")
        reviewers = [m for m in team if m.role == "reviewer"]
        if journey_store.state_of(session, ws.id, journey.id) is not None:
            return running_version(session, ws.id, journey.id), False
        nodes = []
        for node in journey.nodes:
            if isinstance(node, Step) and node.asset.ref is None and node.asset.content:
                request = parse_request(
                    {"kind": "asset", "title": node.asset.title, "content": node.asset.content}
                )
                item = approvals.submit(session, actor=marketer, request=request, policy=policy)
                for reviewer in reviewers:
                    if item.state != "approved":
                        approvals.decide_item(
                            session,
                            actor=reviewer,
                            item_id=item.id,
                            action="approve",
                            seen_hash=item.content_hash,
                        )
                        session.refresh(item)
                asset = node.asset.model_copy(update={"ref": item.id})
                node = node.model_copy(update={"asset": asset})
            nodes.append(node)
        journey = journey.model_copy(update={"nodes": tuple(nodes)})
        journey_store.save(session, marketer, journey)
        journey_store.activate(session, marketer, journey.id)
    return journey, True


def journey_demo(settings: Settings, workspace: str, scored: date) -> None:
    """Simulate, approve, activate, scan and send the first step to the loopback sink."""
    from core import workspaces
    from core.clock import utcnow
    from core.db import session_scope
    from guardrails.pii import redact_text
    from journeys.journey_store import running_journeys
    from journeys.simulate_load import simulate_workspace
    from journeys.simulate_report import report_text
    from journeys.triggers_job import scan_triggers
    from journeys.worker import Worker, wait_until_idle

    journey, new = _approved_journey(settings, workspace)
    with session_scope(settings) as session:
        workspace_id = workspaces.get_or_raise(session, workspace).id
        report = simulate_workspace(
            session, workspace_id, journey, scored + timedelta(days=1), SIMULATED_DAYS
        )
    console.rule(f"journey {escape(journey.id)}: simulated, no sends")
    console.print(report_text(report), markup=False, end="")
    console.print(
        f"{'approved, saved and activated' if new else 'already active'}: {journey.id} "
        f"v{journey.version} (`mcopilot journey status -w {workspace}`)",
        markup=False,
    )
    now = utcnow()
    with session_scope(settings) as session:
        scan = scan_triggers(session, workspace_id, now, settings=settings)
    console.print(
        "trigger scan: "
        + (", ".join(f"{n:,} {o}" for o, n in sorted(scan.outcomes.items())) or "nothing fired"),
        markup=False,
    )
    with smtp_server() as (sink, port):
        local = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
        worker = Worker(local, workspace_id=workspace_id, batch=BATCH)
        outcomes = wait_until_idle(worker, timeout_s=DRAIN_TIMEOUT_S).outcomes
        now_sent = len(sink.messages)
        later = Counter[str]()
        with session_scope(settings) as session:
            # a worker whose clock is moved on would send their steps early
            others = [j for j in running_journeys(session, workspace_id) if j != journey.id]
        if outcomes.get(QUIET) and not others:
            # the customers' quiet hours end at different times in their zones: the worker's
            # clock is moved on an hour at a time through the next day, as a worker left
            # running would see it, and each round sends what has become due
            for hour in range(1, FAST_FORWARD_HOURS + 1):
                moment = now + timedelta(hours=hour)
                worker.clock = lambda moment=moment: moment
                later.update(wait_until_idle(worker, timeout_s=DRAIN_TIMEOUT_S).outcomes)
    idle = "nothing due" + (
        ""
        if new
        else " (an earlier `mcopilot demo` enrolled these customers and sent them the first step)"
    )
    console.rule("first step, through the execution gate")
    console.print(
        f"worker: {', '.join(f'{n:,} {o}' for o, n in sorted(outcomes.items())) or idle}"
        f"; the local SMTP sink on 127.0.0.1:{port} received {now_sent:,} messages",
        markup=False,
    )
    if outcomes.get(QUIET) and others:
        console.print(
            f"the sends deferred by quiet hours wait for `mcopilot worker`: other journeys run "
            f"in this workspace ({', '.join(others)}), so the demo does not move its clock on",
            markup=False,
        )
    if later:
        console.print(
            f"the next {FAST_FORWARD_HOURS} hours on the worker's clock, as quiet hours end in "
            f"each customer's zone: {later.get('sent', 0):,} sent; the sink received "
            f"{len(sink.messages):,} messages in all (the demo's records carry those times)",
            markup=False,
        )
    for message in sink.messages[:3]:
        console.print(
            f"  to {redact_text(str(message['To']))}: {message['Subject']} "
            f"(List-Unsubscribe-Post: {message['List-Unsubscribe-Post']})",
            markup=False,
        )
