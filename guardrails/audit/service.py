"""The audit log's database edge: append a record or a run of them (never commits), list,
stream and verify."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.errors import Conflict, NotFound
from core.models import AuditHead, AuditRecord, Workspace
from core.settings import Settings, get_settings
from guardrails.audit.chain import (
    GENESIS_HASH,
    Anchor,
    ChainRecord,
    ChainVerifier,
    VerifyReport,
    hashed_body,
    record_hash,
    signed_anchor,
)
from guardrails.audit.entry import Entry, build_entry
from guardrails.audit.key import audit_key

STREAM_BATCH = 1000


def _key(key: bytes | None, settings: Settings | None) -> bytes:
    return key if key is not None else audit_key(settings or get_settings())


def _lock_head(session: Session, workspace_id: str, key: bytes) -> AuditHead:
    """The workspace's chain head, created at genesis if new, locked until the caller commits.

    PostgreSQL: SELECT ... FOR UPDATE (for a new chain, INSERT ... ON CONFLICT DO NOTHING
    first), so concurrent writers queue on the row; one round trip once the chain exists.
    SQLite: the INSERT takes the database's write lock first, which serializes writers for the
    rest of the transaction.
    """
    locked = (
        select(AuditHead)
        .where(AuditHead.workspace_id == workspace_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        head = session.scalars(locked).one_or_none()
        if head is not None:
            return head
    genesis = signed_anchor(key, workspace_id, 0, GENESIS_HASH)
    values = {
        "workspace_id": workspace_id,
        "seq": 0,
        "record_hash": GENESIS_HASH,
        "anchor": genesis.anchor,
        "key_id": genesis.key_id,
        "updated_at": utcnow(),
    }
    insert = postgres_insert if postgres else sqlite_insert
    session.execute(
        insert(AuditHead).values(**values).on_conflict_do_nothing(index_elements=["workspace_id"])
    )
    return session.scalars(locked).one()


def _as_anchor(head: AuditHead) -> Anchor:
    return Anchor(head.workspace_id, head.seq, head.record_hash, head.anchor, head.key_id)


def append(
    session: Session,
    workspace_id: str,
    *,
    actor: str,
    action: str,
    inputs: Any,
    evidence_ids: Iterable[str] = (),
    prompt_version: str | None = None,
    model_tier: str | None = None,
    output: Any = None,
    output_hash: str | None = None,
    decision: str,
    result: Any = None,
    key: bytes | None = None,
    settings: Settings | None = None,
) -> AuditRecord:
    """Add the next record to the workspace's chain and re-anchor its head; never commits.

    The caller owns the transaction, so an action, its outbox row and its audit record commit
    together or not at all. Inputs and result are redacted before they are stored. Refuses
    (Conflict) to extend a chain whose head anchor does not verify under the key.
    """
    entry = build_entry(
        actor=actor,
        action=action,
        inputs=inputs,
        evidence_ids=evidence_ids,
        prompt_version=prompt_version,
        model_tier=model_tier,
        output=output,
        output_hash=output_hash,
        decision=decision,
        result=result,
    )
    (record,) = append_many(session, workspace_id, [entry], key=key, settings=settings)
    return record


def append_many(
    session: Session,
    workspace_id: str,
    entries: Sequence[Entry],
    *,
    key: bytes | None = None,
    settings: Settings | None = None,
) -> list[AuditRecord]:
    """Add the entries (from `build_entry`) to the workspace's chain, in order, and re-anchor
    its head once; never commits. The head is locked last and only for this: build the entries
    first, call this at the end of the transaction, and the lock is held for milliseconds.
    Same refusals as `append`."""
    if not entries:
        return []
    if session.get(Workspace, workspace_id) is None:
        raise NotFound(f"unknown workspace id {workspace_id!r}", field="workspace_id")
    key = _key(key, settings)
    head = _lock_head(session, workspace_id, key)
    if not _as_anchor(head).valid_under(key):
        raise Conflict(
            f"the audit chain head of workspace {workspace_id!r} does not verify under the "
            "configured key; nothing can be recorded until it does",
            field="MCOPILOT_AUDIT_HMAC_KEY",
            fix="run `mcopilot audit verify` and restore the key or the log",
        )
    records: list[AuditRecord] = []
    seq, prev_hash = head.seq, head.record_hash
    created_at = utcnow()
    for entry in entries:
        seq += 1
        fields = {
            "workspace_id": workspace_id,
            "seq": seq,
            "prev_hash": prev_hash,
            "actor": entry.actor,
            "action": entry.action,
            "inputs": entry.inputs,
            "evidence_ids": entry.evidence_ids,
            "prompt_version": entry.prompt_version,
            "model_tier": entry.model_tier,
            "output_hash": entry.output_hash,
            "decision": entry.decision,
            "result": entry.result,
            "created_at": created_at,
        }
        digest = record_hash(hashed_body(**fields))
        records.append(AuditRecord(record_hash=digest, **fields))
        prev_hash = digest
    session.add_all(records)
    anchor = signed_anchor(key, workspace_id, seq, prev_hash)
    head.seq, head.record_hash = seq, prev_hash
    head.anchor, head.key_id, head.updated_at = anchor.anchor, anchor.key_id, created_at
    session.flush()
    return records


def append_each(
    session: Session,
    entries: Sequence[tuple[str, Entry]],
    *,
    key: bytes | None = None,
    settings: Settings | None = None,
) -> list[AuditRecord]:
    """`append_many` for entries of several workspaces ((workspace id, entry) pairs): each
    workspace's in their order, the workspaces in id order, so every transaction locks the
    heads in one order; the records in the entries' order. Call it last in the transaction,
    after every other lock it takes (the customers first, the audit heads last)."""
    positions: dict[str, list[int]] = {}
    for index, (workspace_id, _) in enumerate(entries):
        positions.setdefault(workspace_id, []).append(index)
    records: dict[int, AuditRecord] = {}
    for workspace_id, indexes in sorted(positions.items()):
        appended = append_many(
            session, workspace_id, [entries[i][1] for i in indexes], key=key, settings=settings
        )
        records.update(zip(indexes, appended, strict=True))
    return [records[i] for i in range(len(entries))]


def as_chain_record(record: AuditRecord) -> ChainRecord:
    return ChainRecord(
        workspace_id=record.workspace_id,
        seq=record.seq,
        prev_hash=record.prev_hash,
        record_hash=record.record_hash,
        actor=record.actor,
        action=record.action,
        inputs=record.inputs,
        evidence_ids=list(record.evidence_ids),
        prompt_version=record.prompt_version,
        model_tier=record.model_tier,
        output_hash=record.output_hash,
        decision=record.decision,
        result=record.result,
        created_at=record.created_at,
    )


def recent(session: Session, workspace_id: str, *, limit: int = 20) -> list[AuditRecord]:
    """The workspace's newest records, newest first."""
    return list(
        session.scalars(
            select(AuditRecord)
            .where(AuditRecord.workspace_id == workspace_id)
            .order_by(AuditRecord.seq.desc())
            .limit(limit)
        )
    )


def stream(
    session: Session,
    workspace_id: str,
    *,
    since: datetime | None = None,
    through_seq: int | None = None,
) -> Iterator[AuditRecord]:
    """The workspace's records in seq order, read in batches (from `since`, up to a seq)."""
    query = select(AuditRecord).where(AuditRecord.workspace_id == workspace_id)
    if since is not None:
        query = query.where(AuditRecord.created_at >= since)
    if through_seq is not None:
        query = query.where(AuditRecord.seq <= through_seq)
    query = query.order_by(AuditRecord.seq).execution_options(yield_per=STREAM_BATCH)
    for record in session.scalars(query):
        yield record
        session.expunge(record)


def _head(session: Session, workspace_id: str) -> Anchor | None:
    row = session.execute(
        select(
            AuditHead.workspace_id,
            AuditHead.seq,
            AuditHead.record_hash,
            AuditHead.anchor,
            AuditHead.key_id,
        ).where(AuditHead.workspace_id == workspace_id)
    ).one_or_none()
    return None if row is None else Anchor(*row)


def _verify_once(session: Session, workspace_id: str, key: bytes) -> VerifyReport:
    anchor = _head(session, workspace_id)
    verifier = ChainVerifier(workspace_id, key)
    # Only records the anchor read above covers: appends committing meanwhile only add later
    # seqs, each under a newer anchor; those are checked below, by the highest seq stored.
    for record in stream(session, workspace_id, through_seq=anchor.seq if anchor else None):
        if verifier.feed(as_chain_record(record)) is not None:
            break
    highest = session.scalar(
        select(func.max(AuditRecord.seq)).where(AuditRecord.workspace_id == workspace_id)
    )
    newest = _head(session, workspace_id)
    covered = newest.seq if newest else 0
    return verifier.finish(anchor, unanchored_seq=highest if (highest or 0) > covered else None)


def verify(
    session: Session,
    workspace_id: str,
    *,
    key: bytes | None = None,
    settings: Settings | None = None,
) -> VerifyReport:
    """Check the workspace's whole chain and its anchor; the report names the first bad record.

    Safe while appends run: if the first append of a workspace commits mid-check (the anchor was
    not there yet, the records are), the check runs once more.
    """
    key = _key(key, settings)
    report = _verify_once(session, workspace_id, key)
    problem = report.problem
    if problem and problem.kind == "anchor_missing" and _head(session, workspace_id) is not None:
        report = _verify_once(session, workspace_id, key)
    return report


def export_row(record: AuditRecord) -> dict[str, Any]:
    """A record as one JSON line: everything it holds, hashes included."""
    row = as_chain_record(record).hashed_body()
    row["record_hash"] = record.record_hash
    return row
