"""Which entrants of a batch an enrolment inserts, decided as `enrol` one after another (pure).

`enrolment.enrol_many` reads, for the batch, the customers already active in the journey (and
the trigger keys already held, when a customer comes twice), then `plan` walks the entrants in
order as one-by-one calls would: a customer active in the journey (before, or by an earlier
entrant of the batch) is `already_active`; else a key held (before, or by an earlier entrant)
is a `duplicate`; else the entrant is inserted and from then on holds its key and makes its
customer active. An insert whose key turns out to be held (by a row the batch did not read, or
that a concurrent transaction committed first: the unique key decides) is lost; `after_race`
turns it into a duplicate of the holder, and points the entrants it held out at the holder.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal, NamedTuple

from core.errors import InvalidInput

KEY_MAX = 200
PlanStatus = Literal["insert", "already_active", "duplicate"]


class Entrant(NamedTuple):
    """One customer to enrol: the firing's trigger key and when the customer enters."""

    customer_id: str
    trigger_key: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Planned:
    """An entrant's fate: `insert` under the new id, or the enrolment that holds it out."""

    status: PlanStatus
    enrolment_id: str | None


def check_keys(entrants: Sequence[Entrant]) -> None:
    """Refuse the batch if any trigger key is blank or longer than 200 characters."""
    for index, entrant in enumerate(entrants):
        if not entrant.trigger_key.strip() or len(entrant.trigger_key) > KEY_MAX:
            where = (
                f" (entrant {index}, customer {entrant.customer_id})" if len(entrants) > 1 else ""
            )
            raise InvalidInput(
                f"must be 1 to {KEY_MAX} characters{where}",
                field="trigger_key",
                fix="derive it from customer + trigger + date bucket",
            )


def plan(
    entrants: Sequence[Entrant],
    new_ids: Sequence[str],
    *,
    active: Mapping[str, str],
    held: Mapping[str, str],
) -> list[Planned]:
    """Each entrant's fate, in order. active: customer -> their active enrolment in the journey;
    held: trigger key -> the enrolment that holds it; new_ids: an unused id per entrant."""
    active_now, held_now = dict(active), dict(held)
    planned: list[Planned] = []
    for entrant, new in zip(entrants, new_ids, strict=True):
        if entrant.customer_id in active_now:
            planned.append(Planned("already_active", active_now[entrant.customer_id]))
        elif entrant.trigger_key in held_now:
            planned.append(Planned("duplicate", held_now[entrant.trigger_key]))
        else:
            planned.append(Planned("insert", new))
            active_now[entrant.customer_id] = held_now[entrant.trigger_key] = new
    return planned


def after_race(
    planned: Sequence[Planned],
    lost: Mapping[str, str | None],
    *,
    to_active: Collection[str] = (),
) -> list[Planned]:
    """The plan once the inserts in `lost` (planned id -> the winner's enrolment id) lost to
    another transaction: those that lost their key are duplicates, those in `to_active` found
    the customer enrolled in the journey already (under another key); entrants held out by
    them are held out by the winner."""
    if not lost:
        return list(planned)
    found: list[Planned] = []
    for item in planned:
        if item.enrolment_id not in lost:
            found.append(item)
        elif item.status == "insert":
            status = "already_active" if item.enrolment_id in to_active else "duplicate"
            found.append(Planned(status, lost[item.enrolment_id]))
        else:
            found.append(replace(item, enrolment_id=lost[item.enrolment_id]))
    return found
