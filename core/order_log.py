"""The commit-ordered order watermark: every writer of orders notes its write here.

`note_order_write` must be called by every transaction that inserts, changes, moves between
customers or deletes orders (a test scans the source for writers that do not). It increments
the workspace's counter with `UPDATE ... SET seq = seq + 1 RETURNING seq`: the row lock makes
concurrent writers take their numbers in commit order, so a reader that reads the counter
(`current_seq`) before computing knows that every write numbered above it may be missing from
what it computed, and every write numbered at or below it is in. The write is logged with the
earliest order time it touched (old or new), or None for "any time" (bulk loads and deletes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.models import OrderWatermark, OrderWrite
from core.sql import dialect_insert

_NOTED = "core.order_log.noted"


@dataclass
class _Noted:
    transaction: object
    seq: int
    earliest: datetime | None


def _increment(session: Session, workspace_id: str) -> int:
    statement = (
        update(OrderWatermark)
        .where(OrderWatermark.workspace_id == workspace_id)
        .values(seq=OrderWatermark.seq + 1)
        .returning(OrderWatermark.seq)
    )
    seq = session.execute(statement).scalar()
    if seq is None:  # the workspace's first write: create the row, then take it like others
        session.execute(
            dialect_insert(session)(OrderWatermark)
            .values(workspace_id=workspace_id, seq=0)
            .on_conflict_do_nothing()
        )
        seq = session.execute(statement).scalar_one()
    return int(seq)


def note_order_write(session: Session, workspace_id: str, earliest: datetime | None) -> int:
    """Record that this transaction wrote orders of the workspace from `earliest` on (None:
    any time); its counter value. One counter value per transaction: a second call only lowers
    the logged earliest time."""
    session.connection()  # begin the transaction, so it is the one remembered
    transaction = session.get_transaction()
    noted: _Noted | None = session.info.get((_NOTED, workspace_id))
    if noted is not None and noted.transaction is transaction:
        if noted.earliest is not None and (earliest is None or earliest < noted.earliest):
            noted.earliest = earliest
            session.execute(
                update(OrderWrite)
                .where(OrderWrite.workspace_id == workspace_id, OrderWrite.seq == noted.seq)
                .values(earliest_ordered_at=earliest)
            )
        return noted.seq
    seq = _increment(session, workspace_id)
    session.execute(
        dialect_insert(session)(OrderWrite).values(
            workspace_id=workspace_id, seq=seq, earliest_ordered_at=earliest, recorded_at=utcnow()
        )
    )
    session.info[(_NOTED, workspace_id)] = _Noted(transaction, seq, earliest)
    return seq


def current_seq(session: Session, workspace_id: str) -> int:
    """The counter as committed (and as this transaction moved it); 0 before any write. Read
    it before computing from orders. A later write in this same transaction takes a new
    number, so it is never hidden behind the value read here."""
    session.info.pop((_NOTED, workspace_id), None)
    seq = session.scalar(
        select(OrderWatermark.seq).where(OrderWatermark.workspace_id == workspace_id)
    )
    return int(seq or 0)


def writes_before(session: Session, workspace_id: str, after_seq: int, before: datetime) -> int:
    """How many order writes numbered above after_seq touched an order time before `before`
    (or any time)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(OrderWrite)
            .where(
                OrderWrite.workspace_id == workspace_id,
                OrderWrite.seq > after_seq,
                or_(
                    OrderWrite.earliest_ordered_at.is_(None),
                    OrderWrite.earliest_ordered_at < before,
                ),
            )
        )
        or 0
    )
