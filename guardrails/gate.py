"""The execution gate: the one way an action reaches a customer, checked, executed once, audited.

In one transaction (the caller's) and in this order: claim the idempotency key (a unique
constraint, so a second attempt cannot pass, whatever the timing; on PostgreSQL it waits
for the first to end), the kill switch, the
approval of exactly this content, consent, suppression, caps, quiet hours and cooldowns
(`contact_decision`), then the channel adapter, then the touch, the outbox row and the audit
record. A refused or failed attempt gives the key back and leaves only its audit record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.errors import InvalidInput
from core.ids import content_hash, new_id
from core.models import CHANNELS, CustomerTouch, Execution, GateControl, OutboxMessage
from core.settings import Settings
from core.sql import dialect_insert
from guardrails.approvals import is_approved
from guardrails.audit.service import append
from guardrails.contact import ContactAction, ContactDecision, contact_decision
from guardrails.contact_state import load_customer_state, lock_customer, lookback_of
from guardrails.contact_store import policy_of
from guardrails.delivery import ChannelAdapter, Delivery, DeliveryFailed

Status = Literal["executed", "blocked", "duplicate", "failed"]
GATE = "gate"
MAX_KEY = 200
SENT_TOPIC = "message.sent"


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


def validate_request(request: ExecutionRequest, adapter: ChannelAdapter) -> None:
    """Refuse a malformed request before anything is claimed."""
    if request.channel not in CHANNELS:
        raise InvalidInput(
            f"unknown channel {request.channel!r}",
            field="channel",
            fix=f"use one of {', '.join(CHANNELS)}",
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


def _claim(session: Session, request: ExecutionRequest, digest: str, now: datetime) -> str | None:
    """Insert the execution row; None when the key is already held (the database decides)."""
    insert = dialect_insert(session)
    statement = (
        insert(Execution)
        .values(
            id=new_id("exe"),
            workspace_id=request.workspace_id,
            idempotency_key=request.idempotency_key,
            customer_id=request.customer_id,
            channel=request.channel,
            action_id=request.action_id,
            trigger_id=request.trigger_id,
            approval_item_id=request.approval_item_id,
            content_hash=digest,
            actor=request.actor,
            executed_at=now,
        )
        .on_conflict_do_nothing(index_elements=["workspace_id", "idempotency_key"])
        .returning(Execution.id)
    )
    return session.execute(statement).scalar_one_or_none()


def _audit(
    session: Session,
    request: ExecutionRequest,
    digest: str,
    settings: Settings,
    *,
    decision: str,
    result: dict[str, Any],
) -> int:
    record = append(
        session,
        request.workspace_id,
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
        settings=settings,
    )
    return int(record.seq)


def _release(session: Session, execution_id: str) -> None:
    """Give the key back: the attempt did not execute, so a later one may. (A DELETE, not a
    savepoint: on SQLite releasing a savepoint that opened the transaction commits it.)"""
    session.execute(delete(Execution).where(Execution.id == execution_id))


def _existing(session: Session, request: ExecutionRequest) -> Execution | None:
    return session.scalars(
        select(Execution).where(
            Execution.workspace_id == request.workspace_id,
            Execution.idempotency_key == request.idempotency_key,
        )
    ).one_or_none()


def execute(
    session: Session,
    request: ExecutionRequest,
    adapter: ChannelAdapter,
    *,
    settings: Settings,
    now: datetime | None = None,
) -> GateResult:
    """Run the action through every check and, only if all pass, the adapter; never commits
    (the caller commits the claim, touch, outbox row and audit record together)."""
    validate_request(request, adapter)
    now = now or utcnow()
    digest = content_hash(dict(request.content))
    execution_id = _claim(session, request, digest, now)
    if execution_id is None:
        held = _existing(session, request)
        detail = (
            f"already executed as {held.id} at {held.executed_at.isoformat()}"
            if held is not None
            else "another attempt with this key is in progress"
        )
        seq = _audit(
            session, request, digest, settings, decision="duplicate", result={"detail": detail}
        )
        return GateResult(
            "duplicate",
            "idempotency",
            detail,
            held.id if held else None,
            None,
            held.provider_message_id if held else None,
            seq,
        )

    lock_customer(session, request.workspace_id, request.customer_id)
    paused = paused_reason(session, request.workspace_id, settings)
    approved = paused is None and is_approved(
        session,
        workspace_id=request.workspace_id,
        item_id=request.approval_item_id,
        content_hash=digest,
        now=now,
        lock=True,
    )
    contact = None
    if paused is None and approved:
        policy = policy_of(session, request.workspace_id)
        state = load_customer_state(
            session,
            request.workspace_id,
            request.customer_id,
            now,
            lookback=lookback_of(policy),
        )
        contact = contact_decision(
            state,
            request.channel,
            request.trigger_id,
            ContactAction(request.action_id, request.high_value),
            policy,
            now,
        )
    refusal = first_refusal(paused=paused, approved=approved, contact=contact)
    if refusal is not None:
        _release(session, execution_id)
        result = {"rule": refusal.rule, "detail": refusal.detail}
        if refusal.retry_at is not None:
            result["retry_at"] = refusal.retry_at.isoformat()
        seq = _audit(session, request, digest, settings, decision="blocked", result=result)
        return GateResult(
            "blocked", refusal.rule, refusal.detail, None, refusal.retry_at, None, seq
        )

    delivery = Delivery(
        workspace_id=request.workspace_id,
        customer_id=request.customer_id,
        channel=request.channel,
        recipient=request.recipient,
        content=request.content,
        idempotency_key=request.idempotency_key,
        headers=request.headers,
        variables=request.variables,
    )
    try:
        receipt = adapter.deliver(delivery)
    except DeliveryFailed as exc:
        _release(session, execution_id)
        result = {"rule": "channel", "detail": str(exc), "retryable": exc.retryable}
        seq = _audit(session, request, digest, settings, decision="failed", result=result)
        return GateResult("failed", "channel", str(exc), None, None, None, seq)

    session.execute(
        update(Execution)
        .where(Execution.id == execution_id)
        .values(provider_message_id=receipt.provider_message_id)
    )
    session.add(
        CustomerTouch(
            workspace_id=request.workspace_id,
            customer_id=request.customer_id,
            channel=request.channel,
            action_id=request.action_id,
            action_type=request.action_type,
            trigger_id=request.trigger_id,
            high_value=request.high_value,
            occurred_at=now,
        )
    )
    session.add(
        OutboxMessage(
            workspace_id=request.workspace_id,
            topic=SENT_TOPIC,
            key=request.idempotency_key,
            payload={
                "execution_id": execution_id,
                "customer_id": request.customer_id,
                "channel": request.channel,
                "action_id": request.action_id,
                "trigger_id": request.trigger_id,
                "approval_item_id": request.approval_item_id,
                "content_hash": digest,
                "provider_message_id": receipt.provider_message_id,
            },
            created_at=now,
        )
    )
    session.flush()
    seq = _audit(
        session,
        request,
        digest,
        settings,
        decision="executed",
        result={
            "execution_id": execution_id,
            "provider_message_id": receipt.provider_message_id,
            "detail": receipt.detail,
        },
    )
    return GateResult(
        "executed", "allowed", receipt.detail, execution_id, None, receipt.provider_message_id, seq
    )
