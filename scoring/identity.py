"""Identity resolution: which customer profile a message belongs to, and which profiles an
identify proves to be one person. Only user_id, anonymous_id and email decide that; a phone or
push token is an address (`scoring.contact_identities`), never a reason to merge.

`plan_merge` decides on plain data; `resolve` reads and writes the database around it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.orm import Session

from core.ids import new_id
from core.models import (
    Cart,
    ChannelConsent,
    Customer,
    CustomerIdentity,
    EmailEvent,
    Event,
    Order,
)
from core.order_log import note_order_write
from scoring.contact_identities import keep_latest_on_merge


@dataclass(frozen=True, slots=True)
class Candidate:
    id: str
    user_id: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MergePlan:
    """The profile that stays, the profiles folded into it, and a userId to give it."""

    winner: str | None
    losers: tuple[str, ...]
    set_user_id: str | None


def plan_merge(candidates: list[Candidate], user_id: str | None) -> MergePlan:
    """Profiles found for a message's identities, reduced to one.

    Two profiles with different userIds are two people and are never merged: the one with the
    message's userId wins and a profile with another userId is left alone. Among the rest the
    profile that has a userId wins, else the oldest; the others are merged into it.
    """
    if user_id:
        owner = [c for c in candidates if c.user_id == user_id]
        mergeable = [c for c in candidates if c.user_id in (None, user_id)]
        if owner:
            winner = owner[0]
        elif mergeable:
            winner = min(mergeable, key=lambda c: (c.created_at, c.id))
        else:
            return MergePlan(None, (), user_id)
        losers = tuple(c.id for c in mergeable if c.id != winner.id)
        return MergePlan(winner.id, losers, None if winner.user_id else user_id)
    if not candidates:
        return MergePlan(None, (), None)
    named = {c.user_id for c in candidates if c.user_id}
    if len(named) > 1:  # an anonymous id seen with two users: keep the newest link only
        winner = max(candidates, key=lambda c: (c.created_at, c.id))
        return MergePlan(winner.id, (), None)
    winner = min(candidates, key=lambda c: (c.user_id is None, c.created_at, c.id))
    return MergePlan(winner.id, tuple(c.id for c in candidates if c.id != winner.id), None)


def identities_of(
    user_id: str | None, anonymous_id: str | None, email: str | None
) -> list[tuple[str, str]]:
    found = [("user_id", user_id), ("anonymous_id", anonymous_id), ("email", email)]
    return [(kind, value) for kind, value in found if value]


class Resolver:
    """Resolves identities to customer ids within one workspace and one transaction."""

    def __init__(self, session: Session, workspace_id: str) -> None:
        self.session = session
        self.workspace_id = workspace_id
        self.created = 0
        self.merged = 0

    def resolve(
        self,
        *,
        user_id: str | None,
        anonymous_id: str | None,
        email: str | None,
        at: datetime,
    ) -> str:
        """The customer these identities belong to: found, linked, merged or created."""
        keys = identities_of(user_id, anonymous_id, email)
        rows = self.session.execute(
            select(
                CustomerIdentity.kind, CustomerIdentity.value, CustomerIdentity.customer_id
            ).where(
                CustomerIdentity.workspace_id == self.workspace_id,
                tuple_(CustomerIdentity.kind, CustomerIdentity.value).in_(keys),
            )
        )
        linked = {(kind, value): customer for kind, value, customer in rows}
        candidates = [
            Candidate(c.id, c.user_id, c.created_at)
            for c in self.session.scalars(
                select(Customer).where(Customer.id.in_(set(linked.values())))
            )
        ]
        plan = plan_merge(candidates, user_id)
        if plan.winner is None:
            customer = Customer(
                id=new_id("cus"),
                workspace_id=self.workspace_id,
                user_id=user_id,
                email=email,
                traits={},
                preferred_channels=[],
                first_seen_at=at,
                last_seen_at=at,
                created_at=at,
                updated_at=at,
            )
            self.session.add(customer)
            self.session.flush()
            self.created += 1
            winner = customer.id
        else:
            winner = plan.winner
            if plan.set_user_id:
                self.session.execute(
                    update(Customer).where(Customer.id == winner).values(user_id=plan.set_user_id)
                )
            for loser in plan.losers:
                self._merge(loser, winner)
        owned_elsewhere = {
            key for key, owner in linked.items() if owner not in {winner, *plan.losers}
        }
        for kind, value in keys:
            if (kind, value) in owned_elsewhere and kind != "anonymous_id":
                continue  # another person's userId or email is not taken over
            self.session.merge(
                CustomerIdentity(
                    workspace_id=self.workspace_id, kind=kind, value=value, customer_id=winner
                )
            )
        return winner

    def _merge(self, loser: str, winner: str) -> None:
        """Move everything of the loser's to the winner; the loser points at the winner."""
        ws = self.workspace_id
        moved_from = self.session.scalar(
            select(func.min(Order.ordered_at)).where(
                Order.workspace_id == ws, Order.customer_id == loser
            )
        )
        if moved_from is not None:  # the loser's orders change customer: RFM must know
            note_order_write(self.session, ws, moved_from)
        keep_latest_on_merge(self.session, ws, loser, winner)  # one phone, one device token
        for model in (CustomerIdentity, Event, Order, Cart, EmailEvent):
            self.session.execute(
                update(model)
                .where(model.workspace_id == ws, model.customer_id == loser)  # type: ignore[attr-defined]
                .values(customer_id=winner)
            )
        kept = {
            c.channel: c
            for c in self.session.scalars(
                select(ChannelConsent).where(
                    ChannelConsent.workspace_id == ws, ChannelConsent.customer_id == winner
                )
            )
        }
        for consent in self.session.scalars(
            select(ChannelConsent).where(
                ChannelConsent.workspace_id == ws, ChannelConsent.customer_id == loser
            )
        ).all():
            current = kept.get(consent.channel)
            if current is None or consent.recorded_at > current.recorded_at:
                if current is not None:
                    self.session.delete(current)
                    self.session.flush()
                self.session.add(
                    ChannelConsent(
                        workspace_id=ws,
                        customer_id=winner,
                        channel=consent.channel,
                        status=consent.status,
                        source=consent.source,
                        recorded_at=consent.recorded_at,
                    )
                )
            self.session.delete(consent)
        self.session.execute(
            update(Customer).where(Customer.id == loser).values(merged_into=winner)
        )
        self.session.flush()
        self.merged += 1
