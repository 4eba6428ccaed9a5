"""Hand-built records for the analytics tests: one call per row, times relative to `T`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest
from sqlalchemy.orm import Session

from core import workspaces
from core.ids import new_id
from core.models import (
    AppliedPromotion,
    Cart,
    Customer,
    CustomerTouch,
    DomainEvent,
    EmailEvent,
    Execution,
    JourneyEnrolment,
    JourneyState,
    JourneyStateChange,
    JourneyTarget,
    JourneyTask,
    JourneyVersion,
    NbaDecision,
    Order,
    Suppression,
    TriggerFiring,
)
from core.settings import Settings

T = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)
DB_PARAMS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def db_settings_for(request: pytest.FixtureRequest, tmp_path: Any) -> Settings:
    if request.param == "postgres":
        return Settings(
            data_dir=tmp_path / "data", database_url=request.getfixturevalue("postgres_url")
        )
    return Settings(data_dir=tmp_path / "data")


_seq = count(1)


@dataclass
class Records:
    """Adds rows to one workspace; customers are named and created on first use."""

    session: Session
    workspace_id: str
    customers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def new(cls, session: Session, slug: str) -> Records:
        return cls(session, workspaces.create(session, slug).id)

    def c(self, name: str) -> str:
        """The id of customer `name`, created on first use."""
        if name not in self.customers:
            customer_id = new_id("cus")
            self.session.add(Customer(id=customer_id, workspace_id=self.workspace_id, user_id=name))
            self.session.flush()
            self.customers[name] = customer_id
        return self.customers[name]

    def journey(
        self, journey_id: str, name: str, state: str = "active", since: datetime = T - 90 * D
    ) -> None:
        """A journey in `state` since `since` (its run state now and its history)."""
        self.change(journey_id, state, since)
        self.session.add_all(
            [
                JourneyVersion(
                    id=new_id("jv"),
                    workspace_id=self.workspace_id,
                    journey_id=journey_id,
                    version="1.0",
                    spec={"id": journey_id, "name": name},
                    spec_hash="0" * 64,
                    created_by="test",
                ),
                JourneyState(
                    workspace_id=self.workspace_id,
                    journey_id=journey_id,
                    version="1.0",
                    state=state,
                    changed_by="test",
                    changed_at=since,
                ),
            ]
        )

    def change(self, journey_id: str, state: str, at: datetime) -> None:
        """A change of the journey's run state at `at`, in its history."""
        self.session.add(
            JourneyStateChange(
                workspace_id=self.workspace_id,
                journey_id=journey_id,
                version="1.0",
                state=state,
                reason="",
                changed_by="test",
                changed_at=at,
            )
        )

    def enrol(
        self,
        journey_id: str,
        customer: str,
        entered: datetime,
        *,
        status: str = "active",
        ended: datetime | None = None,
        converted: datetime | None = None,
        holdout: bool = False,
        trigger_type: str = "segment_entry",
    ) -> str:
        enrolment_id = new_id("enr")
        self.session.add(
            JourneyEnrolment(
                id=enrolment_id,
                workspace_id=self.workspace_id,
                journey_id=journey_id,
                version="1.0",
                customer_id=self.c(customer),
                trigger_type=trigger_type,
                trigger_key=f"k{next(_seq)}",
                status=status,
                assignments={"holdout": holdout},
                entered_at=entered,
                ended_at=ended,
                converted_at=converted,
            )
        )
        self.session.flush()
        return enrolment_id

    def task(
        self,
        enrolment_id: str,
        updated: datetime,
        *,
        status: str,
        outcome: str | None = None,
        channel: str = "email",
        journey_id: str = "j",
        customer: str = "task-owner",
        execution_id: str | None = None,
    ) -> None:
        self.session.add(
            JourneyTask(
                id=new_id("tsk"),
                workspace_id=self.workspace_id,
                enrolment_id=enrolment_id,
                journey_id=journey_id,
                customer_id=self.c(customer),
                node_id="s1",
                channel=channel,
                idempotency_key=f"key-{next(_seq)}",
                due_at=updated,
                status=status,
                outcome=outcome,
                execution_id=execution_id,
                updated_at=updated,
            )
        )

    def firing(self, at: datetime, outcome: str, customer: str = "fired") -> None:
        self.session.add(
            TriggerFiring(
                workspace_id=self.workspace_id,
                trigger_type="abandoned_cart",
                journey_id="j",
                customer_id=self.c(customer),
                trigger_key=f"f{next(_seq)}",
                outcome=outcome,
                fired_at=at,
            )
        )

    def execution(
        self,
        at: datetime,
        customer: str = "sent",
        channel: str = "email",
        trigger_id: str | None = None,
    ) -> str:
        execution_id = new_id("exe")
        self.session.add(
            Execution(
                id=execution_id,
                workspace_id=self.workspace_id,
                idempotency_key=f"x{next(_seq)}",
                customer_id=self.c(customer),
                channel=channel,
                trigger_id=trigger_id,
                approval_item_id="apr_test",
                content_hash="0" * 64,
                actor="test",
                executed_at=at,
            )
        )
        return execution_id

    def touch(self, customer: str, at: datetime, channel: str = "email") -> None:
        self.session.add(
            CustomerTouch(
                workspace_id=self.workspace_id,
                customer_id=self.c(customer),
                channel=channel,
                action_type="message",
                occurred_at=at,
            )
        )

    def email(self, customer: str, campaign: str, kind: str, at: datetime) -> None:
        self.session.add(
            EmailEvent(
                workspace_id=self.workspace_id,
                customer_id=self.c(customer),
                campaign_id=campaign,
                type=kind,
                occurred_at=at,
            )
        )

    def suppression(self, customer: str, reason: str, at: datetime) -> None:
        self.session.add(
            Suppression(
                workspace_id=self.workspace_id,
                customer_id=self.c(customer),
                channel="all",
                reason=reason,
                source="test",
                created_at=at,
            )
        )

    def order(
        self,
        customer: str,
        at: datetime,
        cents: int,
        *,
        status: str = "paid",
        promo: bool = False,
        currency: str = "USD",
    ) -> str:
        order_id = f"o{next(_seq)}"
        self.session.add(
            Order(
                workspace_id=self.workspace_id,
                id=order_id,
                customer_id=self.c(customer),
                ordered_at=at,
                status=status,
                total_cents=cents,
                currency=currency,
            )
        )
        self.session.flush()
        if promo:
            self.session.add(
                AppliedPromotion(
                    workspace_id=self.workspace_id,
                    order_id=order_id,
                    promotion_code="SAVE10",
                    discount_cents=500,
                )
            )
        return order_id

    def cart(
        self,
        customer: str,
        created: datetime,
        *,
        status: str = "open",
        updated: datetime | None = None,
        order_id: str | None = None,
        activity: datetime | None = None,
    ) -> None:
        """A cart; its last activity, unless given, as migration 0023 backfills it: its last
        update, or its creation when an order converted it."""
        self.session.add(
            Cart(
                workspace_id=self.workspace_id,
                id=f"k{next(_seq)}",
                customer_id=self.c(customer),
                status=status,
                created_at=created,
                updated_at=updated or created,
                activity_at=activity or (created if order_id else updated or created),
                converted_order_id=order_id,
                total_cents=1000,
            )
        )

    def decision(
        self, at: datetime, action_id: str | None, confidence: float | None, channel: str = "email"
    ) -> None:
        self.session.add(
            NbaDecision(
                workspace_id=self.workspace_id,
                customer_id=self.c("decided"),
                action_id=action_id,
                channel=channel if action_id else None,
                confidence=confidence,
                inventory_version="v1",
                decided_at=at,
            )
        )

    def alert_event(self, at: datetime, payload: dict[str, Any], name: str = "journey.alert"):
        self.session.add(
            DomainEvent(workspace_id=self.workspace_id, name=name, payload=payload, occurred_at=at)
        )

    def target(self, journey_id: str, value: float) -> None:
        self.session.add(
            JourneyTarget(
                workspace_id=self.workspace_id,
                journey_id=journey_id,
                metric="conversion_rate",
                target=value,
                set_by="test",
            )
        )
