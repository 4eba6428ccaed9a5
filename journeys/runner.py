"""Run one claimed task: exits first, then the node (send, split, experiment), then the next.

Everything for one task happens in ONE transaction, the caller's: the gate's execution row,
touch, outbox row and audit record, this task's new state and the next node's task. So the
database never shows a send without its task closed, nor a task closed without its send.

What a send's outcome does to the task:
- executed (or the gate's duplicate: an earlier attempt committed it) -> sent, next node;
- blocked with a time to retry (caps, quiet hours, cooldowns) -> pending again at that time;
- blocked by the kill switch -> pending again, unchanged (nothing is lost while paused);
- blocked by consent, suppression or opt-out -> skipped, next node;
- blocked for want of an approval -> blocked, an alert, next node;
- the channel failed -> retried once after `retry_delay`, then the step's backup channel (with
  its own asset and key), logged and alerted; when that fails too (or there is none) -> failed,
  an alert, next node. A failure the channel says is final skips the retry.
- a template variable that has no value even after the segment-level and generic fallbacks
  -> skipped with the reason, never a broken message.

Rows are locked enrolment first, then task (as `end_enrolment` does), so an exit or an opt-out
waits for a send in flight instead of deadlocking with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import ConfigurationError
from core.models import ApprovalItem, JourneyEnrolment, JourneyTask
from core.settings import Settings
from guardrails.delivery import ChannelAdapter
from guardrails.gate import ExecutionRequest, GateResult
from journeys.alerts import raise_alert
from journeys.dispatch import dispatch, variables_of
from journeys.exits import find_exits, mark_conversions
from journeys.journey_store import spec_of, state_of
from journeys.personalize import load_sources, resolve
from journeys.progress import advance, apply_exit
from journeys.schedule import HOLDOUT_KEY, backup_key
from journeys.spec import Experiment, Journey, Split, Step
from journeys.tasks import finish, release
from journeys.templates import template_variables
from scoring.criteria import parse_criteria
from scoring.criteria_eval import evaluate
from scoring.criteria_sql import load_field_values

#: Claims before a task counts as poisoned (it keeps killing its workers). Claims, not runs: a
#: worker that dies mid-batch leaves the rest of its batch to be claimed again, unrun.
MAX_ATTEMPTS = 100
BUILT_IN_VARIABLES = frozenset({"unsubscribe_url"})
STOP_RULES = frozenset({"kill_switch"})
APPROVAL_RULE = "approval"


@dataclass(frozen=True, slots=True)
class RunConfig:
    settings: Settings
    worker_id: str
    retry_delay: timedelta = timedelta(seconds=60)
    adapters: Mapping[str, ChannelAdapter] | None = None


def run_task(session: Session, task_id: str, config: RunConfig, *, now: datetime) -> str:
    """Run the claimed task; what happened (`sent`, `skipped:holdout`, `lost_lease`...)."""
    head = session.get(JourneyTask, task_id)
    if head is None:
        return "gone"
    enrolment = session.scalars(
        select(JourneyEnrolment)
        .where(JourneyEnrolment.id == head.enrolment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    task = session.scalars(
        select(JourneyTask)
        .where(
            JourneyTask.id == task_id,
            JourneyTask.status == "claimed",
            JourneyTask.claimed_by == config.worker_id,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if task is None:
        return "lost_lease"  # another worker took it over, or it was cancelled meanwhile
    if enrolment is None or enrolment.status != "active":
        finish(task, "cancelled", now=now, outcome="cancelled", detail="the enrolment ended")
        return "cancelled"
    state = state_of(session, task.workspace_id, task.journey_id)
    if state is None or state.state != "active":
        release(task, due_at=task.due_at, now=now, outcome="waiting", detail="journey not running")
        return "paused"
    journey = spec_of(session, task.workspace_id, task.journey_id, enrolment.version)
    if task.attempts > MAX_ATTEMPTS:
        finish(task, "failed", now=now, outcome="poisoned", detail="claimed too many times")
        raise_alert(
            session,
            task.workspace_id,
            "task_poisoned",
            customer_id=task.customer_id,
            at=now,
            journey_id=task.journey_id,
            node_id=task.node_id,
            attempts=task.attempts,
        )
        advance(session, enrolment, journey, _next_of(journey, task.node_id), now=now)
        return "poisoned"
    if _exited(session, enrolment, journey, now):
        finish(task, "cancelled", now=now, outcome="exit", detail="an exit held")
        return "exited"
    node = journey.node(task.node_id)
    if isinstance(node, Split):
        return _split(session, task, enrolment, journey, node, now)
    if isinstance(node, Experiment):
        return _experiment(session, task, enrolment, journey, node, now)
    assert isinstance(node, Step), f"unknown node {task.node_id!r}"
    if enrolment.assignments.get(HOLDOUT_KEY):
        finish(task, "skipped", now=now, outcome="holdout", detail="holdout: no messages")
        advance(session, enrolment, journey, node.next, now=now)
        return "skipped:holdout"
    return _send(session, task, enrolment, journey, node, config, now)


def _next_of(journey: Journey, node_id: str) -> str | None:
    node = journey.node(node_id)
    return node.next if isinstance(node, Step) else None


def _exited(session: Session, enrolment: JourneyEnrolment, journey: Journey, now: datetime) -> bool:
    """Mark a conversion, then end the enrolment if an exit holds; True when it ended."""
    if mark_conversions(
        session, enrolment.workspace_id, journey, enrolment.version, now, enrolment_id=enrolment.id
    ):
        session.refresh(enrolment)
    if not journey.exits:
        return False
    hits = find_exits(
        session, enrolment.workspace_id, journey, enrolment.version, now, enrolment_id=enrolment.id
    )
    return bool(hits) and apply_exit(session, hits[0], journey, now=now)


def _split(
    session: Session,
    task: JourneyTask,
    enrolment: JourneyEnrolment,
    journey: Journey,
    node: Split,
    now: datetime,
) -> str:
    values = load_field_values(session, task.workspace_id, task.customer_id) or {}
    for index, branch in enumerate(node.branches):
        if branch.when is None or evaluate(parse_criteria(branch.when), values).passed:
            label = branch.label or f"branch {index + 1}"
            finish(task, "done", now=now, outcome=f"branch:{label}"[:40])
            advance(session, enrolment, journey, branch.next, now=now)
            return f"branch:{label}"
    finish(task, "done", now=now, outcome="no branch", detail="no branch held: the path ends")
    advance(session, enrolment, journey, None, now=now)
    return "no_branch"


def _experiment(
    session: Session,
    task: JourneyTask,
    enrolment: JourneyEnrolment,
    journey: Journey,
    node: Experiment,
    now: datetime,
) -> str:
    chosen = enrolment.assignments.get(node.id, node.variants[0].id)
    variant = next((v for v in node.variants if v.id == chosen), node.variants[0])
    finish(task, "done", now=now, outcome=f"variant:{variant.id}"[:40])
    advance(session, enrolment, journey, variant.next, now=now)
    return f"variant:{variant.id}"


def _send(
    session: Session,
    task: JourneyTask,
    enrolment: JourneyEnrolment,
    journey: Journey,
    step: Step,
    config: RunConfig,
    now: datetime,
) -> str:
    backup = task.channel != step.channel
    asset = step.backup_asset if backup and step.backup_asset else step.asset
    channel = task.channel or step.channel
    item = (
        session.scalars(
            select(ApprovalItem).where(
                ApprovalItem.workspace_id == task.workspace_id, ApprovalItem.id == asset.ref
            )
        ).one_or_none()
        if asset.ref
        else None
    )
    if item is None:
        return _blocked_approval(
            session, task, enrolment, journey, step, now, f"no item {asset.ref!r}"
        )
    fields = journey.personalization.fields
    values, ages = load_sources(session, task.workspace_id, task.customer_id, fields, now)
    resolution = resolve(fields, values, ages)
    needed = template_variables(item.content)
    declared_missing = {name for name, how in resolution.how.items() if how == "missing"}
    available = set(variables_of(session, task.workspace_id, task.customer_id)) - declared_missing
    missing = sorted(
        needed - BUILT_IN_VARIABLES - set(resolution.variables) - available
        | (needed & declared_missing)
    )
    if missing:
        detail = f"no value for {', '.join(missing)} (no customer, segment or generic value)"
        finish(task, "skipped", now=now, outcome="missing_personalization", detail=detail)
        advance(session, enrolment, journey, step.next, now=now)
        return "skipped:personalization"
    key = backup_key(task.idempotency_key) if backup else task.idempotency_key
    request = ExecutionRequest(
        workspace_id=task.workspace_id,
        actor=f"journey:{journey.id}"[:100],
        customer_id=task.customer_id,
        channel=channel,
        recipient="",
        content=item.content,
        approval_item_id=item.id,
        idempotency_key=key,
        action_id=f"{journey.id[:30]}.{step.id[:29]}",
        action_type=step.action_type,
        trigger_id=f"{journey.id}/{step.id}"[:100],
        high_value=step.high_value,
        variables=resolution.variables,
    )
    try:
        adapter = (config.adapters or {}).get(channel)
        result = dispatch(session, request, settings=config.settings, now=now, adapter=adapter)
    except ConfigurationError as exc:
        result = GateResult("failed", "channel", str(exc))
        return _failed(
            session, task, enrolment, journey, step, config, now, result, retryable=False
        )
    return _settle(session, task, enrolment, journey, step, config, now, result)


def _settle(
    session: Session,
    task: JourneyTask,
    enrolment: JourneyEnrolment,
    journey: Journey,
    step: Step,
    config: RunConfig,
    now: datetime,
    result: GateResult,
) -> str:
    if result.status in ("executed", "duplicate"):
        finish(task, "sent", now=now, outcome=result.status, execution_id=result.execution_id)
        advance(session, enrolment, journey, step.next, now=now)
        return "sent"
    if result.status == "failed":
        return _failed(session, task, enrolment, journey, step, config, now, result, retryable=True)
    if result.rule in STOP_RULES:
        release(task, due_at=task.due_at, now=now, outcome="waiting", detail=result.detail[:500])
        return "paused"
    if result.retry_at is not None:
        release(
            task,
            due_at=result.retry_at,
            now=now,
            outcome=f"deferred:{result.rule}"[:40],
            detail=result.detail[:500],
        )
        return f"deferred:{result.rule}"
    if result.rule == APPROVAL_RULE:
        return _blocked_approval(session, task, enrolment, journey, step, now, result.detail)
    finish(
        task, "skipped", now=now, outcome=f"blocked:{result.rule}"[:40], detail=result.detail[:500]
    )
    advance(session, enrolment, journey, step.next, now=now)
    return f"skipped:{result.rule}"


def _blocked_approval(
    session: Session,
    task: JourneyTask,
    enrolment: JourneyEnrolment,
    journey: Journey,
    step: Step,
    now: datetime,
    detail: str,
) -> str:
    finish(task, "blocked", now=now, outcome=APPROVAL_RULE, detail=detail[:500])
    raise_alert(
        session,
        task.workspace_id,
        "approval_missing",
        customer_id=task.customer_id,
        at=now,
        journey_id=journey.id,
        node_id=step.id,
        detail=detail[:200],
    )
    advance(session, enrolment, journey, step.next, now=now)
    return "blocked:approval"


def _failed(
    session: Session,
    task: JourneyTask,
    enrolment: JourneyEnrolment,
    journey: Journey,
    step: Step,
    config: RunConfig,
    now: datetime,
    result: GateResult,
    *,
    retryable: bool,
) -> str:
    """Retry once, then the backup channel, then give up; log and alert on the way."""
    task.failures += 1
    channel = task.channel or step.channel
    detail = result.detail[:500]
    final = not (retryable and result.retryable)
    if task.failures < 2 and not final:
        release(task, due_at=now + config.retry_delay, now=now, outcome="retry", detail=detail)
        return "retry"
    on_backup = channel != step.channel
    if not on_backup and step.backup_channel is not None:
        task.channel, task.failures = step.backup_channel, 0
        release(task, due_at=now, now=now, outcome="backup", detail=f"{channel} failed: {detail}")
        raise_alert(
            session,
            task.workspace_id,
            "channel_failure",
            customer_id=task.customer_id,
            at=now,
            journey_id=journey.id,
            node_id=step.id,
            channel=channel,
            backup_channel=step.backup_channel,
            detail=detail[:200],
        )
        return "backup"
    finish(task, "failed", now=now, outcome="channel_failed", detail=detail)
    raise_alert(
        session,
        task.workspace_id,
        "backup_failed" if on_backup else "channel_failure",
        customer_id=task.customer_id,
        at=now,
        journey_id=journey.id,
        node_id=step.id,
        channel=channel,
        detail=detail[:200],
    )
    advance(session, enrolment, journey, step.next, now=now)
    return "failed"
