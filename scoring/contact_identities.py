"""Contact addresses (`phone`, `device_token`) in `customer_identities`: recorded, handed over
to the latest claimer, and kept to one of each kind per customer when profiles merge.

They never find or merge a profile (`scoring.identity` keys on user_id, anonymous_id and
email). `claim_applies` and `addresses_to_drop` decide on plain data; `claim_address` and
`keep_latest_on_merge` read and write around them, inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, or_, select, tuple_
from sqlalchemy.orm import Session

from core.models import CustomerIdentity

CONTACT_KINDS = ("phone", "device_token")
UNDATED = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Held:
    """One contact address as stored: its value, its holder and when it was claimed."""

    kind: str
    value: str
    customer_id: str
    recorded_at: datetime | None


def _older_or_same(held: Held | None, at: datetime) -> bool:
    return held is None or held.recorded_at is None or held.recorded_at <= at


def claim_applies(at: datetime, holder: Held | None, customer_current: Iterable[Held]) -> bool:
    """A claim made at `at` applies unless a newer message already gave the value to someone
    (`holder`) or gave the customer another address of the kind (`customer_current`): an
    older message never overrides a newer one. Addresses of unknown date count as oldest."""
    return _older_or_same(holder, at) and all(_older_or_same(h, at) for h in customer_current)


def addresses_to_drop(held: Iterable[Held], winner: str) -> list[tuple[str, str]]:
    """When profiles merge into `winner`: of the addresses all of them hold, the (kind, value)
    pairs to delete so that one of each kind is left. The most recently claimed stays; undated
    ones count as oldest; on a tie the winner's own, then the smallest value."""
    by_kind: dict[str, list[Held]] = {}
    for row in sorted(held, key=lambda h: h.value):
        by_kind.setdefault(row.kind, []).append(row)
    drop: list[tuple[str, str]] = []
    for kind, rows in sorted(by_kind.items()):
        keep = max(rows, key=lambda h: (h.recorded_at or UNDATED, h.customer_id == winner))
        drop.extend((kind, h.value) for h in rows if h is not keep)
    return drop


def _held(row: CustomerIdentity) -> Held:
    return Held(row.kind, row.value, row.customer_id, row.recorded_at)


def claim_address(
    session: Session, workspace_id: str, customer_id: str, kind: str, value: str, at: datetime
) -> bool:
    """Record `value` as the customer's address of `kind` as of `at`: it moves from any other
    customer, and replaces the customer's previous address of the kind. False (and nothing
    written) when a newer claim stands."""
    if kind not in CONTACT_KINDS:
        raise ValueError(f"{kind!r} is not a contact address kind")
    rows = session.scalars(
        select(CustomerIdentity).where(
            CustomerIdentity.workspace_id == workspace_id,
            CustomerIdentity.kind == kind,
            or_(CustomerIdentity.value == value, CustomerIdentity.customer_id == customer_id),
        )
    ).all()
    holder = next((row for row in rows if row.value == value), None)
    previous = [row for row in rows if row.value != value]
    if not claim_applies(at, holder and _held(holder), [_held(row) for row in previous]):
        return False
    for row in previous:
        session.delete(row)
    if holder is None:
        session.add(
            CustomerIdentity(
                workspace_id=workspace_id,
                kind=kind,
                value=value,
                customer_id=customer_id,
                recorded_at=at,
            )
        )
    else:
        holder.customer_id, holder.recorded_at = customer_id, at
    session.flush()
    return True


def keep_latest_on_merge(session: Session, workspace_id: str, loser: str, winner: str) -> None:
    """Before the loser's identities move to the winner: delete the contact addresses that
    would give the winner two of a kind, keeping the most recently claimed of each."""
    rows = session.execute(
        select(
            CustomerIdentity.kind,
            CustomerIdentity.value,
            CustomerIdentity.customer_id,
            CustomerIdentity.recorded_at,
        ).where(
            CustomerIdentity.workspace_id == workspace_id,
            CustomerIdentity.customer_id.in_((loser, winner)),
            CustomerIdentity.kind.in_(CONTACT_KINDS),
        )
    ).all()
    drop = addresses_to_drop((Held(*row) for row in rows), winner)
    if drop:
        session.execute(
            delete(CustomerIdentity).where(
                CustomerIdentity.workspace_id == workspace_id,
                tuple_(CustomerIdentity.kind, CustomerIdentity.value).in_(drop),
            )
        )
