"""Run claimed tasks: exits first, then the node (send, split, experiment), then the next.

A batch of tasks runs in ONE transaction, the caller's: the gate's execution rows, touches,
outbox rows and audit records, the tasks' new states and the next nodes' tasks. So the database
never shows a send without its task closed, nor a task closed without its send. The batch reads
set-based (enrolments and tasks locked in one statement each, conversions and exits per journey
version, the approved items and the customers once) and its sends go through the gate in one
`dispatch_many`. A crash before the commit undoes the whole batch: the messages it delivered
are sent again by the retry, with the same Message-ID / Idempotency-Key, for the receiver to
drop (at most a batch of repeats per crash).

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

Lock order, one for the whole batch: its enrolments, then its customers (each in id order, all
of them before the first round: a later round locks no new one), then per round the tasks, the
approved items (share); the audit heads last: the gate's records of every round are appended
once, at the end of the batch. Enrolment before task and customer is the order `end_enrolment`
and the sweeps take them in (an exit or an opt-out waits for a send in flight instead of
deadlocking with it); customers before the audit head the order of the feedback webhook and
the gate; so no two of them, and no two workers, wait on each other in a circle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import JourneyEnrolment, JourneyState, JourneyTask
from core.settings import Settings
from guardrails.audit.entry import Entry
from guardrails.audit.service import append_each
from guardrails.contact_state import customer_not_found
from guardrails.delivery import ChannelAdapter
from guardrails.gate import ExecutionRequest, GateResult
from journeys.alerts import raise_alert
from journeys.batch_io import (
    Prepared,
    end_by_exits,
    lock_batch,
    lock_up_front,
    rounds_by_enrolment,
)
from journeys.dispatch import AdapterPool, dispatch_many, fields_of
from journeys.journey_store import spec_of, state_of
from journeys.personalize import load_sources, resolve
from journeys.progress import Move, advance_many
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
    #: Parsed journey versions, by (workspace, journey, version): versions are never edited.
    specs: dict[tuple[str, str, str], Journey] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Send:
    """A step about to go out: its task, where it stands and the request for the gate."""

    task: JourneyTask
    enrolment: JourneyEnrolment
    journey: Journey
    step: Step
    request: ExecutionRequest


def run_task(session: Session, task_id: str, config: RunConfig, *, now: datetime) -> str:
    """Run the claimed task; what happened (`sent`, `skipped:holdout`, `lost_lease`...). A
    batch of one."""
    return run_batch(session, [task_id], config, now=now)[0]


def run_batch(
    session: Session, task_ids: Sequence[str], config: RunConfig, *, now: datetime
) -> list[str]:
    """Run the claimed tasks in the caller's one transaction, their sends through the gate in
    one `dispatch_many`; what happened to each, in order. Two tasks of one enrolment go in
    successive rounds, so each sees what the one before it did. The enrolments and customers
    are locked first, the audit records of every round appended last."""
    task = JourneyTask
    rows = session.execute(
        select(task.id, task.enrolment_id, task.workspace_id, task.customer_id).where(
            task.id.in_(sorted(set(task_ids)))
        )
    ).all()
    enrolment_of = {task_id: enrolment_id for task_id, enrolment_id, _, _ in rows}
    lock_up_front(session, enrolment_of.values(), ((ws, customer) for _, _, ws, customer in rows))
    adapters = config.adapters
    pool = AdapterPool(config.settings) if adapters is None else None
    outcomes: dict[str, str] = {}
    audit: list[tuple[str, Entry]] = []
    try:
        for round_ in rounds_by_enrolment([t for t in task_ids if t in enrolment_of], enrolment_of):
            outcomes.update(
                _run_round(
                    session,
                    round_,
                    enrolment_of,
                    config,
                    pool if pool is not None else adapters,
                    now,
                    audit,
                )
            )
    finally:
        if pool is not None:
            pool.close()
    append_each(session, audit, settings=config.settings)
    return [outcomes.get(task_id, "gone") for task_id in task_ids]


def _spec(session: Session, config: RunConfig, enrolment: JourneyEnrolment) -> Journey:
    key = (enrolment.workspace_id, enrolment.journey_id, enrolment.version)
    if key not in config.specs:
        config.specs[key] = spec_of(session, *key)
    return config.specs[key]


def _run_round(
    session: Session,
    task_ids: Sequence[str],
    enrolment_of: Mapping[str, str],
    config: RunConfig,
    adapters: Mapping[str, ChannelAdapter] | None,
    now: datetime,
    audit: list[tuple[str, Entry]],
) -> dict[str, str]:
    enrolments, tasks = lock_batch(session, task_ids, enrolment_of, config.worker_id)
    outcomes: dict[str, str] = {}
    moves: list[Move] = []  # where each enrolment goes next, written in bulk at the end
    states: dict[tuple[str, str], JourneyState | None] = {}
    ready: list[tuple[JourneyTask, JourneyEnrolment, Journey]] = []
    for task_id in task_ids:
        task = tasks.get(task_id)
        if task is None:
            outcomes[task_id] = "lost_lease"  # another worker took it over, or it was cancelled
            continue
        enrolment = enrolments.get(task.enrolment_id)
        outcome, journey = _check(session, moves, states, task, enrolment, config, now)
        if outcome is not None:
            outcomes[task_id] = outcome
        else:
            assert enrolment is not None and journey is not None
            ready.append((task, enrolment, journey))
    exited = end_by_exits(session, [(e, j) for _, e, j in ready], now)
    sends: list[_Send] = []
    prepared = Prepared.load(session, ready, now)
    for task, enrolment, journey in ready:
        if enrolment.id in exited:
            finish(task, "cancelled", now=now, outcome="exit", detail="an exit held")
            outcomes[task.id] = "exited"
            continue
        node = journey.node(task.node_id)
        if isinstance(node, Split):
            outcomes[task.id] = _split(session, moves, task, enrolment, journey, node, now)
        elif isinstance(node, Experiment):
            outcomes[task.id] = _experiment(session, moves, task, enrolment, journey, node, now)
        elif enrolment.assignments.get(HOLDOUT_KEY):
            assert isinstance(node, Step), f"unknown node {task.node_id!r}"
            finish(task, "skipped", now=now, outcome="holdout", detail="holdout: no messages")
            moves.append((enrolment, journey, node.next))
            outcomes[task.id] = "skipped:holdout"
        else:
            assert isinstance(node, Step), f"unknown node {task.node_id!r}"
            send = _prepare(session, moves, task, enrolment, journey, node, prepared, now)
            if isinstance(send, str):
                outcomes[task.id] = send
            else:
                sends.append(send)
    if sends:
        results = dispatch_many(
            session,
            [send.request for send in sends],
            settings=config.settings,
            adapters=adapters if adapters is not None else {},
            now=now,
            defer_audit=audit,
        )
        for send, result in zip(sends, results, strict=True):
            outcomes[send.task.id] = _settle(
                session,
                moves,
                send.task,
                send.enrolment,
                send.journey,
                send.step,
                config,
                now,
                result,
            )
    advance_many(session, moves, now=now)
    return outcomes


def _check(
    session: Session,
    moves: list[Move],
    states: dict[tuple[str, str], JourneyState | None],
    task: JourneyTask,
    enrolment: JourneyEnrolment | None,
    config: RunConfig,
    now: datetime,
) -> tuple[str | None, Journey | None]:
    """The outcome of a task that stops before its node runs (ended enrolment, journey not
    running, poisoned), else None and the journey."""
    if enrolment is None or enrolment.status != "active":
        finish(task, "cancelled", now=now, outcome="cancelled", detail="the enrolment ended")
        return "cancelled", None
    key = (task.workspace_id, task.journey_id)
    if key not in states:  # the identity map holds rows only while referenced: keep them
        states[key] = state_of(session, *key)
    state = states[key]
    if state is None or state.state != "active":
        release(task, due_at=task.due_at, now=now, outcome="waiting", detail="journey not running")
        return "paused", None
    journey = _spec(session, config, enrolment)
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
        moves.append((enrolment, journey, _next_of(journey, task.node_id)))
        return "poisoned", None
    return None, journey


def _next_of(journey: Journey, node_id: str) -> str | None:
    node = journey.node(node_id)
    return node.next if isinstance(node, Step) else None


def _split(
    session: Session,
    moves: list[Move],
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
            moves.append((enrolment, journey, branch.next))
            return f"branch:{label}"
    finish(task, "done", now=now, outcome="no branch", detail="no branch held: the path ends")
    moves.append((enrolment, journey, None))
    return "no_branch"


def _experiment(
    session: Session,
    moves: list[Move],
    task: JourneyTask,
    enrolment: JourneyEnrolment,
    journey: Journey,
    node: Experiment,
    now: datetime,
) -> str:
    chosen = enrolment.assignments.get(node.id, node.variants[0].id)
    variant = next((v for v in node.variants if v.id == chosen), node.variants[0])
    finish(task, "done", now=now, outcome=f"variant:{variant.id}"[:40])
    moves.append((enrolment, journey, variant.next))
    return f"variant:{variant.id}"


def _prepare(
    session: Session,
    moves: list[Move],
    task: JourneyTask,
    enrolment: JourneyEnrolment,
    journey: Journey,
    step: Step,
    prepared: Prepared,
    now: datetime,
) -> _Send | str:
    """The gate request for the step, or the outcome when it cannot go out (no approved item,
    a template variable with no value)."""
    backup = task.channel != step.channel
    asset = step.backup_asset if backup and step.backup_asset else step.asset
    channel = task.channel or step.channel
    item = prepared.items.get((task.workspace_id, asset.ref)) if asset.ref else None
    if item is None:
        return _blocked_approval(
            session, moves, task, enrolment, journey, step, now, f"no item {asset.ref!r}"
        )
    customer = prepared.customers.get((task.workspace_id, task.customer_id))
    if customer is None:
        raise customer_not_found(task.customer_id)
    fields = journey.personalization.fields
    values, ages = load_sources(
        session, task.workspace_id, task.customer_id, fields, now, customer=customer
    )
    resolution = resolve(fields, values, ages)
    needed = template_variables(item.content)
    declared_missing = {name for name, how in resolution.how.items() if how == "missing"}
    available = set(fields_of(customer)) - declared_missing
    missing = sorted(
        needed - BUILT_IN_VARIABLES - set(resolution.variables) - available
        | (needed & declared_missing)
    )
    if missing:
        detail = f"no value for {', '.join(missing)} (no customer, segment or generic value)"
        finish(task, "skipped", now=now, outcome="missing_personalization", detail=detail)
        moves.append((enrolment, journey, step.next))
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
    return _Send(task, enrolment, journey, step, request)


def _settle(
    session: Session,
    moves: list[Move],
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
        moves.append((enrolment, journey, step.next))
        return "sent"
    if result.status == "failed":
        return _failed(
            session, moves, task, enrolment, journey, step, config, now, result, retryable=True
        )
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
        return _blocked_approval(session, moves, task, enrolment, journey, step, now, result.detail)
    finish(
        task, "skipped", now=now, outcome=f"blocked:{result.rule}"[:40], detail=result.detail[:500]
    )
    moves.append((enrolment, journey, step.next))
    return f"skipped:{result.rule}"


def _blocked_approval(
    session: Session,
    moves: list[Move],
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
    moves.append((enrolment, journey, step.next))
    return "blocked:approval"


def _failed(
    session: Session,
    moves: list[Move],
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
    moves.append((enrolment, journey, step.next))
    return "failed"
