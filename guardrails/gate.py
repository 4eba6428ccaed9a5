"""The execution gate: the one way an action reaches a customer, checked, executed once, audited.

In one transaction (the caller's) and, for every request, in this order: claim the idempotency
key (a unique constraint, so a second attempt cannot pass, whatever the timing; on PostgreSQL it
waits for the first to end), the kill switch, the approval of exactly this content, consent,
suppression, caps, quiet hours and cooldowns (`contact_decision`), then the channel adapter,
then the touch, the outbox row and the audit record. A refused or failed attempt gives the key
back and leaves only its audit record.

`execute_many` runs a batch with the same checks and set-based reads: the customers locked in
id order first (before the keys are claimed: an execution row points at its customer, so its
INSERT takes a key-share lock on it, which a later FOR UPDATE would have to upgrade, and two
sends to one customer would deadlock), every key claimed in one INSERT, the customers' states
read in one query per workspace, each distinct approved item checked once (share-locked), the
contact policy read once per workspace.
The requests are then decided one after another in Python, each seeing the touches of the ones
before it (so two messages to one customer in a batch count against the caps as they would one
by one), and delivered; the writes follow in bulk. A key that appears twice in a batch goes in
a later round, so the result is the one running the requests one by one gives. The audit
records are appended last, after every round, in request order, in one `append_many` per
workspace: the chain head is the last lock the batch takes (customers first, audit heads last,
as every writer of the audit log does, so none of them deadlocks with another), held for
milliseconds. A caller that takes more locks after the gate (a worker's next round) passes
`defer_audit` and appends the records itself, at the end. `execute` is a batch of one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from core.clock import utcnow
from core.contact_rules import Touch
from core.errors import InvalidInput
from core.ids import content_hash
from core.models import CHANNELS, GateControl
from core.settings import Settings
from guardrails.approvals import is_approved
from guardrails.audit.entry import Entry, build_entry
from guardrails.audit.service import append_each
from guardrails.contact import ContactAction, ContactDecision, CustomerState, contact_decision
from guardrails.contact_policy import ContactPolicy
from guardrails.contact_state import load_customer_states, lock_customers, lookback_of
from guardrails.contact_store import policy_of
from guardrails.delivery import ChannelAdapter, Delivery, DeliveryFailed, Receipt
from guardrails.gate_store import (
    Held,
    Key,
    Sent,
    claim_keys,
    held_executions,
    key_of,
    record_sends,
    release_keys,
)
from guardrails.log_safe import describe, stack

Status = Literal["executed", "blocked", "duplicate", "failed"]
logger = logging.getLogger(__name__)
GATE = "gate"
MAX_KEY = 200


@dataclass(frozen=True, slots=True)
class ExecutionRequest:
    """One action for one customer: the approved item, the exact content, and its key."""

    workspace_id: str
    actor: str
    customer_id: str
    channel: str
    recipient: str
    content: Mapping[str, Any]
    approval_item_id: str
    idempotency_key: str
    action_id: str | None = None
    action_type: str = "message"
    trigger_id: str | None = None
    high_value: bool = False
    evidence_ids: tuple[str, ...] = ()
    prompt_version: str | None = None
    model_tier: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    variables: Mapping[str, Any] = field(default_factory=dict)
    """The template's fill (customer fields): handed to the adapter untouched, never audited.
    The approval stays bound to `content`, the template the reviewer saw."""


@dataclass(frozen=True, slots=True)
class GateResult:
    status: Status
    rule: str
    detail: str
    execution_id: str | None = None
    retry_at: datetime | None = None
    provider_message_id: str | None = None
    audit_seq: int | None = None
    #: For a failed channel: whether trying again may help (False: the provider refused).
    retryable: bool = True

    @property
    def executed(self) -> bool:
        return self.status == "executed"


@dataclass(frozen=True, slots=True)
class Refusal:
    rule: str
    detail: str
    retry_at: datetime | None = None


def first_refusal(
    *, paused: str | None, approved: bool, contact: ContactDecision | None
) -> Refusal | None:
    """The first check that stops the action, in the gate's order; None when all pass."""
    if paused is not None:
        return Refusal("kill_switch", paused)
    if not approved:
        return Refusal(
            "approval",
            "no approval of exactly this content (missing, pending, expired, or the content "
            "changed after it was approved)",
        )
    if contact is not None and not contact.allowed:
        return Refusal(contact.rule, contact.detail, contact.retry_at)
    return None


def validate_request(request: ExecutionRequest, adapter: ChannelAdapter | None) -> None:
    """Refuse a malformed request before anything is claimed."""
    if request.channel not in CHANNELS:
        raise InvalidInput(
            f"unknown channel {request.channel!r}",
            field="channel",
            fix=f"use one of {', '.join(CHANNELS)}",
        )
    if adapter is None:
        raise InvalidInput(
            f"no adapter for {request.channel}", field="channel", fix="pass the channel's adapter"
        )
    if adapter.channel != request.channel:
        raise InvalidInput(
            f"a {adapter.channel} adapter cannot send on {request.channel}", field="channel"
        )
    key = request.idempotency_key
    if not key.strip() or len(key) > MAX_KEY:
        raise InvalidInput(
            f"must be 1 to {MAX_KEY} characters",
            field="idempotency_key",
            fix="derive it from the journey, step and customer, so a retry carries the same key",
        )
    if not request.actor.strip():
        raise InvalidInput("is empty", field="actor", fix="name who or what asks for the action")


def paused_reason(session: Session, workspace_id: str, settings: Settings) -> str | None:
    """Why the kill switch is on for the workspace, or None when actions may go out."""
    if settings.kill_switch:
        return "MCOPILOT_KILL_SWITCH is on: every workspace is paused"
    control = session.get(GateControl, workspace_id)
    if control is not None and control.paused:
        return f"paused by {control.changed_by}: {control.reason or 'no reason given'}"
    return None


def _entry(request: ExecutionRequest, digest: str, decision: str, result: dict[str, Any]) -> Entry:
    return build_entry(
        actor=request.actor,
        action=f"{GATE}.{request.channel}",
        inputs={
            "idempotency_key": request.idempotency_key,
            "customer_id": request.customer_id,
            "recipient": request.recipient,
            "channel": request.channel,
            "action_id": request.action_id,
            "trigger_id": request.trigger_id,
            "approval_item_id": request.approval_item_id,
        },
        evidence_ids=request.evidence_ids,
        prompt_version=request.prompt_version,
        model_tier=request.model_tier,
        output_hash=digest,
        decision=decision,
        result=result,
    )


@dataclass
class _Facts:
    """What the batch read once: kill switch and policy per workspace, approvals per distinct
    (workspace, item, content hash), the customers' states (updated as sends go out)."""

    paused: dict[str, str | None] = field(default_factory=dict)
    approved: dict[tuple[str, str, str], bool] = field(default_factory=dict)
    policies: dict[str, ContactPolicy] = field(default_factory=dict)
    states: dict[tuple[str, str], CustomerState] = field(default_factory=dict)


def _read_facts(
    session: Session,
    live: Sequence[tuple[ExecutionRequest, str]],
    settings: Settings,
    now: datetime,
) -> _Facts:
    """The customers' time zones (locked by `execute_many` already; locking again waits on no
    one), then everything the decisions need, in the gate's order: kill switch, approvals
    (share-locked), policy, contact state."""
    facts = _Facts()
    by_workspace: dict[str, set[str]] = {}
    for request, _ in live:
        by_workspace.setdefault(request.workspace_id, set()).add(request.customer_id)
    timezones = {
        ws: lock_customers(session, ws, customers) for ws, customers in sorted(by_workspace.items())
    }
    for ws in sorted(by_workspace):
        facts.paused[ws] = paused_reason(session, ws, settings)
    for ws, item_id, digest in sorted(
        {
            (r.workspace_id, r.approval_item_id, d)
            for r, d in live
            if facts.paused[r.workspace_id] is None
        }
    ):
        facts.approved[(ws, item_id, digest)] = is_approved(
            session, workspace_id=ws, item_id=item_id, content_hash=digest, now=now, lock=True
        )
    contacted: dict[str, set[str]] = {}
    for request, digest in live:
        if facts.approved.get((request.workspace_id, request.approval_item_id, digest)):
            contacted.setdefault(request.workspace_id, set()).add(request.customer_id)
    for ws, customers in sorted(contacted.items()):
        policy = facts.policies[ws] = policy_of(session, ws)
        states = load_customer_states(
            session,
            ws,
            {c: timezones[ws][c] for c in customers},
            now,
            lookback=lookback_of(policy),
        )
        facts.states.update({(ws, c): state for c, state in states.items()})
    return facts


def _refusal(
    request: ExecutionRequest, digest: str, facts: _Facts, now: datetime
) -> Refusal | None:
    """The gate's checks for one request on what the batch read (pure)."""
    ws = request.workspace_id
    paused = facts.paused[ws]
    approved = paused is None and facts.approved[(ws, request.approval_item_id, digest)]
    contact = None
    if paused is None and approved:
        contact = contact_decision(
            facts.states[(ws, request.customer_id)],
            request.channel,
            request.trigger_id,
            ContactAction(request.action_id, request.high_value),
            facts.policies[ws],
            now,
        )
    return first_refusal(paused=paused, approved=approved, contact=contact)


def _touched(state: CustomerState, request: ExecutionRequest, now: datetime) -> CustomerState:
    """The state after this send: what the next request to the customer in the batch sees."""
    touch = Touch(
        request.channel,
        request.action_id,
        now,
        trigger_id=request.trigger_id,
        high_value=request.high_value,
    )
    return replace(state, touches=(*state.touches, touch))


def _duplicate(held: Held | None) -> GateResult:
    detail = (
        f"already executed as {held.id} at {held.executed_at.isoformat()}"
        if held is not None
        else "another attempt with this key is in progress"
    )
    return GateResult(
        "duplicate",
        "idempotency",
        detail,
        held.id if held else None,
        None,
        held.provider_message_id if held else None,
    )


def _delivery(request: ExecutionRequest) -> Delivery:
    return Delivery(
        workspace_id=request.workspace_id,
        customer_id=request.customer_id,
        channel=request.channel,
        recipient=request.recipient,
        content=request.content,
        idempotency_key=request.idempotency_key,
        headers=request.headers,
        variables=request.variables,
    )


def _deliver(adapter: ChannelAdapter, request: ExecutionRequest) -> Receipt:
    """The adapter's receipt; any error it raises is a failed send (DeliveryFailed), never an
    exception that would roll back the batch's sends made before it. Not retryable: the
    provider may have taken the message. Logged without the customer's data its text may
    hold (`guardrails.log_safe`)."""
    try:
        return adapter.deliver(_delivery(request))
    except DeliveryFailed:
        raise
    except Exception as exc:
        logger.error(
            "the %s adapter failed for customer %s; the send is marked failed: %s\n%s",
            request.channel,
            request.customer_id,
            describe(exc),
            stack(exc),
        )
        raise DeliveryFailed(
            f"the {request.channel} channel failed unexpectedly ({type(exc).__name__})",
            retryable=False,
        ) from None


def _round(
    session: Session,
    requests: Sequence[ExecutionRequest],
    adapters: Mapping[str, ChannelAdapter],
    settings: Settings,
    now: datetime,
) -> tuple[list[GateResult], list[tuple[str, Entry]]]:
    """One batch whose keys are all distinct: claim, read, decide and deliver in order, write;
    the results and their audit entries (not appended yet)."""
    digests = [content_hash(dict(r.content)) for r in requests]
    claimed = claim_keys(session, requests, digests, now)
    held = held_executions(session, [key_of(r) for r in requests if key_of(r) not in claimed])
    live = [(r, d) for r, d in zip(requests, digests, strict=True) if key_of(r) in claimed]
    facts = _read_facts(session, live, settings, now)
    results: list[GateResult] = []
    entries: list[tuple[str, Entry]] = []
    released: list[str] = []
    sent: list[Sent] = []
    for request, digest in zip(requests, digests, strict=True):
        key: Key = key_of(request)
        execution_id = claimed.get(key)
        if execution_id is None:
            result = _duplicate(held.get(key))
            outcome: dict[str, Any] = {"detail": result.detail}
        elif (refusal := _refusal(request, digest, facts, now)) is not None:
            released.append(execution_id)
            outcome = {"rule": refusal.rule, "detail": refusal.detail}
            if refusal.retry_at is not None:
                outcome["retry_at"] = refusal.retry_at.isoformat()
            result = GateResult("blocked", refusal.rule, refusal.detail, None, refusal.retry_at)
        else:
            try:
                receipt = _deliver(adapters[request.channel], request)
            except DeliveryFailed as exc:
                released.append(execution_id)
                outcome = {"rule": "channel", "detail": str(exc), "retryable": exc.retryable}
                result = GateResult(
                    "failed", "channel", str(exc), None, None, None, retryable=exc.retryable
                )
            else:
                sent.append(Sent(request, execution_id, digest, receipt.provider_message_id))
                state_key = (request.workspace_id, request.customer_id)
                facts.states[state_key] = _touched(facts.states[state_key], request, now)
                outcome = {
                    "execution_id": execution_id,
                    "provider_message_id": receipt.provider_message_id,
                    "detail": receipt.detail,
                }
                result = GateResult(
                    "executed",
                    "allowed",
                    receipt.detail,
                    execution_id,
                    None,
                    receipt.provider_message_id,
                )
        decision = "executed" if result.status == "executed" else result.status
        entries.append((request.workspace_id, _entry(request, digest, decision, outcome)))
        results.append(result)
    release_keys(session, released)
    record_sends(session, sent, now)
    return results, entries


def _rounds(requests: Sequence[ExecutionRequest]) -> list[list[int]]:
    """The requests' positions in rounds in which no key repeats (first occurrences first)."""
    rounds: list[list[int]] = []
    seen: dict[Key, int] = {}
    for index, request in enumerate(requests):
        depth = seen.get(key_of(request), -1) + 1
        seen[key_of(request)] = depth
        if depth == len(rounds):
            rounds.append([])
        rounds[depth].append(index)
    return rounds


def execute_many(
    session: Session,
    requests: Sequence[ExecutionRequest],
    adapters: Mapping[str, ChannelAdapter],
    *,
    settings: Settings,
    now: datetime | None = None,
    defer_audit: list[tuple[str, Entry]] | None = None,
) -> list[GateResult]:
    """Run each request through every check and, only if all pass, its channel's adapter
    (`adapters[channel]`); the results in request order. Never commits: the caller commits the
    claims, touches, outbox rows and audit records together (a crash before the commit leaves
    none of them, though the messages delivered before it went out: a retry sends them with
    the same idempotency key, for the receiver to drop).

    With `defer_audit`, the audit entries ((workspace id, entry), in the order they are to be
    appended) are added to that list instead of appended, and the results carry no
    `audit_seq`: the caller appends them (`append_each`) once it takes no more locks."""
    for request in requests:
        validate_request(request, adapters.get(request.channel))
    now = now or utcnow()
    by_workspace: dict[str, set[str]] = {}
    for request in requests:
        by_workspace.setdefault(request.workspace_id, set()).add(request.customer_id)
    for ws, customers in sorted(by_workspace.items()):
        lock_customers(session, ws, customers)  # first of all: see the module docstring
    results: list[GateResult | None] = [None] * len(requests)
    entries: list[tuple[str, Entry]] = []
    order: list[int] = []
    for positions in _rounds(requests):
        batch = [requests[i] for i in positions]
        done, written = _round(session, batch, adapters, settings, now)
        for index, result in zip(positions, done, strict=True):
            results[index] = result
        entries.extend(written)
        order.extend(positions)
    if defer_audit is not None:
        defer_audit.extend(entries)
    else:
        records = append_each(session, entries, settings=settings)
        for index, record in zip(order, records, strict=True):
            result = results[index]
            assert result is not None
            results[index] = replace(result, audit_seq=int(record.seq))
    return [result for result in results if result is not None]


def execute(
    session: Session,
    request: ExecutionRequest,
    adapter: ChannelAdapter,
    *,
    settings: Settings,
    now: datetime | None = None,
) -> GateResult:
    """Run the action through every check and, only if all pass, the adapter; never commits
    (the caller commits the claim, touch, outbox row and audit record together). A batch of
    one: `execute_many`."""
    validate_request(request, adapter)
    (result,) = execute_many(
        session, [request], {request.channel: adapter}, settings=settings, now=now
    )
    return result
