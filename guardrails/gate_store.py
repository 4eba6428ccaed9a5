"""The execution gate's database edge for a batch: claim keys in one statement, look up keys
already held, give keys back, and write the touches, outbox rows and provider ids in bulk."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select, tuple_, update
from sqlalchemy.orm import Session

from core.ids import new_id
from core.models import CustomerTouch, Execution, OutboxMessage
from core.sql import dialect_insert

if TYPE_CHECKING:
    from guardrails.gate import ExecutionRequest

SENT_TOPIC = "message.sent"
Key = tuple[str, str]  # (workspace id, idempotency key)


@dataclass(frozen=True, slots=True)
class Held:
    """An execution row that already holds a key."""

    id: str
    executed_at: datetime
    provider_message_id: str | None


@dataclass(frozen=True, slots=True)
class Sent:
    """One request that went out: what the bulk writes record."""

    request: ExecutionRequest
    execution_id: str
    digest: str
    provider_message_id: str


def key_of(request: ExecutionRequest) -> Key:
    return request.workspace_id, request.idempotency_key


def claim_keys(
    session: Session, requests: Sequence[ExecutionRequest], digests: Sequence[str], now: datetime
) -> dict[Key, str]:
    """Insert one execution row per request in one INSERT ... ON CONFLICT DO NOTHING RETURNING
    (rows in key order, so two batches racing for the same keys wait in the same order); the
    execution id of each key this call took. A key another row holds is left out: the database
    decides (on PostgreSQL a key an open transaction holds waits for it to end)."""
    rows = sorted(
        (
            {
                "id": new_id("exe"),
                "workspace_id": r.workspace_id,
                "idempotency_key": r.idempotency_key,
                "customer_id": r.customer_id,
                "channel": r.channel,
                "action_id": r.action_id,
                "trigger_id": r.trigger_id,
                "approval_item_id": r.approval_item_id,
                "content_hash": digest,
                "actor": r.actor,
                "executed_at": now,
            }
            for r, digest in zip(requests, digests, strict=True)
        ),
        key=lambda row: (row["workspace_id"], row["idempotency_key"]),
    )
    if not rows:
        return {}
    statement = (
        dialect_insert(session)(Execution)
        .on_conflict_do_nothing(index_elements=["workspace_id", "idempotency_key"])
        .returning(Execution.id, Execution.workspace_id, Execution.idempotency_key)
    )
    # executemany: SQLAlchemy sends the rows as multi-row INSERTs with RETURNING, in few
    # round trips, from one cached compiled statement
    return {(ws, key): id_ for id_, ws, key in session.execute(statement, rows)}


def held_executions(session: Session, keys: Sequence[Key]) -> dict[Key, Held]:
    """The execution rows that hold these keys (committed ones; a key still in flight in
    another transaction is not there)."""
    if not keys:
        return {}
    rows = session.execute(
        select(
            Execution.workspace_id,
            Execution.idempotency_key,
            Execution.id,
            Execution.executed_at,
            Execution.provider_message_id,
        ).where(tuple_(Execution.workspace_id, Execution.idempotency_key).in_(list(keys)))
    )
    return {(ws, key): Held(id_, at, provider) for ws, key, id_, at, provider in rows}


def release_keys(session: Session, execution_ids: Sequence[str]) -> None:
    """Give the keys back: those attempts did not execute, so a later one may. (A DELETE, not
    a savepoint: on SQLite releasing a savepoint that opened the transaction commits it.)"""
    if execution_ids:
        session.execute(delete(Execution).where(Execution.id.in_(list(execution_ids))))


def record_sends(session: Session, sent: Sequence[Sent], now: datetime) -> None:
    """The provider's ids on the execution rows, a touch and an outbox row per send: three
    bulk statements."""
    if not sent:
        return
    session.execute(
        update(Execution),
        [{"id": s.execution_id, "provider_message_id": s.provider_message_id} for s in sent],
    )
    session.execute(
        insert(CustomerTouch),
        [
            {
                "workspace_id": s.request.workspace_id,
                "customer_id": s.request.customer_id,
                "channel": s.request.channel,
                "action_id": s.request.action_id,
                "action_type": s.request.action_type,
                "trigger_id": s.request.trigger_id,
                "high_value": s.request.high_value,
                "occurred_at": now,
            }
            for s in sent
        ],
    )
    session.execute(insert(OutboxMessage), [_outbox_row(s, now) for s in sent])


def _outbox_row(sent: Sent, now: datetime) -> dict[str, Any]:
    r = sent.request
    return {
        "workspace_id": r.workspace_id,
        "topic": SENT_TOPIC,
        "key": r.idempotency_key,
        "payload": {
            "execution_id": sent.execution_id,
            "customer_id": r.customer_id,
            "channel": r.channel,
            "action_id": r.action_id,
            "trigger_id": r.trigger_id,
            "approval_item_id": r.approval_item_id,
            "content_hash": sent.digest,
            "provider_message_id": sent.provider_message_id,
        },
        "created_at": now,
    }
