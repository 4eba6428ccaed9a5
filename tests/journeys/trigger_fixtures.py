"""Trigger test data: a team, consenting customers, running journeys of each trigger type, and
small hand-built carts, orders, events, stages, RFM snapshots and segment runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from core.db import session_scope
from core.ids import new_id
from core.models import (
    Cart,
    ChannelConsent,
    Customer,
    CustomerTouch,
    Event,
    JourneyEnrolment,
    LifecycleStage,
    Order,
    RfmRun,
    RfmSnapshot,
    SegmentChange,
    SegmentDefinition,
    SegmentMember,
    SegmentRun,
    Suppression,
    TriggerFiring,
)
from core.order_log import note_order_write
from core.settings import Settings
from journeys import journey_store
from journeys.enrolment import end_enrolment
from journeys.triggers_job import ScanReport, scan_triggers
from tests.guardrails.approval_fixtures import Team, make_team
from tests.guardrails.gate_fixtures import NOW, add_customer
from tests.journeys.runtime_fixtures import approved_item, journey_body

T0 = NOW  # 2026-11-20 11:00 UTC


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def days(n: float) -> timedelta:
    return timedelta(days=n)


@dataclass(frozen=True)
class TriggerWorld:
    team: Team
    settings: Settings
    item_id: str
    customers: tuple[str, ...]

    @property
    def workspace_id(self) -> str:
        return self.team.workspace_id

    def journey(
        self,
        journey_id: str,
        trigger: dict[str, Any],
        *,
        at: datetime = T0 - days(30),
        **extra: Any,
    ) -> str:
        """Save and activate a two-step email journey with this trigger."""
        body = journey_body(self.item_id, id=journey_id, trigger=trigger, **extra)
        with session_scope(self.settings) as session:
            journey_store.save(session, self.team.marketer, body, now=at)
            journey_store.activate(session, self.team.marketer, journey_id, now=at)
        return journey_id

    def scan(self, now: datetime) -> ScanReport:
        with session_scope(self.settings) as session:
            return scan_triggers(session, self.workspace_id, now, settings=self.settings)

    def firings(self, journey_id: str | None = None) -> list[tuple[str, str, str]]:
        """(journey, customer, outcome) of every logged firing, in order."""
        with session_scope(self.settings) as session:
            query = select(
                TriggerFiring.journey_id, TriggerFiring.customer_id, TriggerFiring.outcome
            ).where(TriggerFiring.workspace_id == self.workspace_id)
            if journey_id is not None:
                query = query.where(TriggerFiring.journey_id == journey_id)
            return [tuple(row) for row in session.execute(query.order_by(TriggerFiring.id))]

    def outcome_of(self, journey_id: str, customer_id: str) -> list[str]:
        return [o for j, c, o in self.firings(journey_id) if c == customer_id]

    def details(self, journey_id: str, customer_id: str) -> list[str]:
        with session_scope(self.settings) as session:
            return list(
                session.scalars(
                    select(TriggerFiring.detail)
                    .where(
                        TriggerFiring.workspace_id == self.workspace_id,
                        TriggerFiring.journey_id == journey_id,
                        TriggerFiring.customer_id == customer_id,
                    )
                    .order_by(TriggerFiring.id)
                )
            )

    def enrolments(self, journey_id: str | None = None) -> list[JourneyEnrolment]:
        with session_scope(self.settings) as session:
            query = select(JourneyEnrolment).where(
                JourneyEnrolment.workspace_id == self.workspace_id
            )
            if journey_id is not None:
                query = query.where(JourneyEnrolment.journey_id == journey_id)
            rows = list(session.scalars(query.order_by(JourneyEnrolment.entered_at)))
            session.expunge_all()
            return rows

    def enrolled(self, journey_id: str) -> list[str]:
        return [e.customer_id for e in self.enrolments(journey_id)]

    def end(self, journey_id: str, customer_id: str, at: datetime, status: str = "completed"):
        with session_scope(self.settings) as session:
            enrolment = session.scalars(
                select(JourneyEnrolment).where(
                    JourneyEnrolment.workspace_id == self.workspace_id,
                    JourneyEnrolment.journey_id == journey_id,
                    JourneyEnrolment.customer_id == customer_id,
                    JourneyEnrolment.status == "active",
                )
            ).one()
            assert end_enrolment(session, enrolment.id, status=status, reason="test", at=at)

    # --- data -----------------------------------------------------------------------------

    def cart(
        self,
        customer_id: str,
        updated_at: datetime,
        *,
        status: str = "open",
        cents: int = 4500,
        activity_at: datetime | None = None,
    ) -> str:
        """A cart last written at `updated_at` and last changed by the shopper at
        `activity_at` (the same moment unless given)."""
        cart_id = new_id("cart")
        activity_at = activity_at or updated_at
        with session_scope(self.settings) as session:
            session.add(
                Cart(
                    workspace_id=self.workspace_id,
                    id=cart_id,
                    customer_id=customer_id,
                    status=status,
                    created_at=min(activity_at, updated_at) - hours(1),
                    updated_at=updated_at,
                    activity_at=activity_at,
                    total_cents=cents,
                )
            )
        return cart_id

    def set_cart(self, cart_id: str, status: str, *, updated_at: datetime | None = None) -> None:
        """A write that is not the shopper's (a system clear, a price refresh): the cart's
        activity stays."""
        values: dict[str, Any] = {"status": status}
        if updated_at is not None:
            values["updated_at"] = updated_at
        with session_scope(self.settings) as session:
            session.execute(
                update(Cart)
                .where(Cart.workspace_id == self.workspace_id, Cart.id == cart_id)
                .values(**values)
            )

    def order(
        self, customer_id: str, ordered_at: datetime, *, status: str = "paid", cents: int = 5000
    ) -> str:
        order_id = new_id("ord")
        with session_scope(self.settings) as session:
            session.add(
                Order(
                    workspace_id=self.workspace_id,
                    id=order_id,
                    customer_id=customer_id,
                    ordered_at=ordered_at,
                    status=status,
                    total_cents=cents,
                    currency="EUR",
                )
            )
            note_order_write(session, self.workspace_id, ordered_at)
        return order_id

    def set_order(self, order_id: str, status: str) -> None:
        with session_scope(self.settings) as session:
            order = session.get_one(Order, (self.workspace_id, order_id))
            order.status = status
            note_order_write(session, self.workspace_id, order.ordered_at)

    def event(self, customer_id: str, name: str, at: datetime) -> None:
        with session_scope(self.settings) as session:
            session.add(
                Event(
                    workspace_id=self.workspace_id,
                    message_id=new_id("msg"),
                    type="track",
                    name=name,
                    customer_id=customer_id,
                    properties={},
                    timestamp=at,
                    received_at=at,
                )
            )

    def seen(self, customer_id: str, at: datetime) -> None:
        with session_scope(self.settings) as session:
            session.execute(
                update(Customer)
                .where(Customer.id == customer_id)
                .values(last_seen_at=at, first_seen_at=at - days(400))
            )

    def profile(self, customer_id: str, **values: Any) -> None:
        with session_scope(self.settings) as session:
            session.execute(update(Customer).where(Customer.id == customer_id).values(**values))

    def stage(self, customer_id: str, stage: str, since: date | None = None) -> None:
        with session_scope(self.settings) as session:
            row = session.get(LifecycleStage, (self.workspace_id, customer_id))
            if row is None:
                session.add(
                    LifecycleStage(
                        workspace_id=self.workspace_id,
                        customer_id=customer_id,
                        stage=stage,
                        since=since or (T0 - days(30)).date(),
                        previous_stage=None,
                        rule="test",
                    )
                )
            else:
                row.previous_stage, row.stage = row.stage, stage
                row.since = since or T0.date()

    def rfm(self, as_of: date, composites: dict[str, int]) -> None:
        with session_scope(self.settings) as session:
            computed = datetime(as_of.year, as_of.month, as_of.day, 2, tzinfo=T0.tzinfo)
            session.add(
                RfmRun(
                    workspace_id=self.workspace_id,
                    as_of=as_of,
                    window_days=180,
                    weights="4,3,3",
                    orders_seq=0,
                    incremental=False,
                    computed_at=computed,
                )
            )
            for customer_id, composite in composites.items():
                session.add(
                    RfmSnapshot(
                        workspace_id=self.workspace_id,
                        as_of=as_of,
                        customer_id=customer_id,
                        recency_days=3,
                        frequency=2,
                        monetary_cents=10_000,
                        r=3,
                        f=3,
                        m=3,
                        composite=composite,
                        window_days=180,
                        weights="4,3,3",
                        computed_at=computed,
                    )
                )

    def segment(self, name: str) -> str:
        segment_id = new_id("seg")
        with session_scope(self.settings) as session:
            session.add(
                SegmentDefinition(
                    id=segment_id,
                    workspace_id=self.workspace_id,
                    name=name,
                    criteria={"orders.count": {"gte": 1}},
                )
            )
        return segment_id

    def segment_run(
        self, segment_id: str, at: datetime, entered: list[str], *, members: list[str] | None = None
    ) -> str:
        """A refresh at `at` in which `entered` entered; `members` (default: `entered`) are
        added to the members."""
        run_id = new_id("run")
        with session_scope(self.settings) as session:
            session.add(
                SegmentRun(
                    id=run_id,
                    segment_id=segment_id,
                    workspace_id=self.workspace_id,
                    as_of=at.date(),
                    computed_at=at,
                    previous_population=None,
                    population=len(entered),
                    entered=len(entered),
                    exited=0,
                    drift_pct=None,
                    drift_alert=False,
                )
            )
            for customer_id in entered:
                session.add(
                    SegmentChange(
                        run_id=run_id,
                        segment_id=segment_id,
                        workspace_id=self.workspace_id,
                        customer_id=customer_id,
                        change="entered",
                    )
                )
            for customer_id in entered if members is None else members:
                session.add(
                    SegmentMember(
                        segment_id=segment_id,
                        customer_id=customer_id,
                        workspace_id=self.workspace_id,
                        entered_at=at,
                    )
                )
        return run_id

    def touches(self, customer_id: str, count: int, at: datetime) -> None:
        with session_scope(self.settings) as session:
            for index in range(count):
                session.add(
                    CustomerTouch(
                        workspace_id=self.workspace_id,
                        customer_id=customer_id,
                        channel="email",
                        action_id=f"a{index}",
                        action_type="message",
                        occurred_at=at - hours(index),
                    )
                )

    def revoke(self, customer_id: str, channel: str = "email") -> None:
        with session_scope(self.settings) as session:
            consent = session.get_one(ChannelConsent, (self.workspace_id, customer_id, channel))
            consent.status, consent.source = "revoked", "test"

    def suppress(self, customer_id: str, channel: str = "all", at: datetime = T0) -> None:
        with session_scope(self.settings) as session:
            session.add(
                Suppression(
                    workspace_id=self.workspace_id,
                    customer_id=customer_id,
                    channel=channel,
                    reason="unsubscribe",
                    source="test",
                    created_at=at,
                )
            )


def make_trigger_world(settings: Settings, customers: int = 4) -> TriggerWorld:
    team = make_team(settings)
    ids = []
    for index in range(customers):
        customer_id = f"cus_{index:04d}"
        add_customer(settings, team.workspace_id, customer_id, f"c{index:04d}@example.com")
        ids.append(customer_id)
    world = TriggerWorld(team, settings, approved_item(team), tuple(ids))
    for customer_id in ids:
        world.seen(customer_id, T0 - days(1))
    return world
