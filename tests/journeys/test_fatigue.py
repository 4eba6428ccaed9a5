"""The unsubscribe-rate monitor: a journey that drives its recipients away is paused at once,
with an alert, and then fires nothing; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.db import session_scope
from core.ids import new_id
from core.models import DomainEvent, Execution, JourneyEnrolment, JourneyState, JourneyTask
from journeys.fatigue import ALERT, MONITOR, UnsubscribeRate, too_high, unsubscribe_rates
from tests.journeys.runtime_fixtures import db_settings
from tests.journeys.trigger_fixtures import T0, TriggerWorld, days, hours, make_trigger_world

__all__ = ["db_settings"]


def _sends(world: TriggerWorld, journey_id: str, customers: list[str], per_customer: int) -> None:
    """`per_customer` executed sends of the journey to each customer in the last days."""
    with session_scope(world.settings) as session:
        for customer_id in customers:
            enrolment = JourneyEnrolment(
                id=new_id("je"),
                workspace_id=world.workspace_id,
                journey_id=journey_id,
                version="1.0",
                customer_id=customer_id,
                trigger_type="event",
                trigger_key=f"{customer_id}:event:seed",
                status="active",
                assignments={},
                entered_at=T0 - days(6),
            )
            session.add(enrolment)
            session.flush()
            for n in range(per_customer):
                key = f"{journey_id}/{customer_id}/{n}"
                execution = Execution(
                    id=new_id("exe"),
                    workspace_id=world.workspace_id,
                    idempotency_key=key,
                    customer_id=customer_id,
                    channel="email",
                    approval_item_id=world.item_id,
                    content_hash="x" * 64,
                    actor=f"journey:{journey_id}",
                    executed_at=T0 - days(5) + hours(n),
                )
                session.add(execution)
                session.add(
                    JourneyTask(
                        id=new_id("jt"),
                        workspace_id=world.workspace_id,
                        enrolment_id=enrolment.id,
                        journey_id=journey_id,
                        customer_id=customer_id,
                        node_id=f"n{n}",
                        channel="email",
                        idempotency_key=key,
                        due_at=execution.executed_at,
                        status="sent",
                        execution_id=execution.id,
                        updated_at=execution.executed_at,
                    )
                )


def test_too_high_needs_enough_sends():
    assert too_high(UnsubscribeRate("j", 100, 3), threshold=0.02, min_sends=100)
    assert not too_high(UnsubscribeRate("j", 100, 2), threshold=0.02, min_sends=100)
    assert not too_high(UnsubscribeRate("j", 10, 5), threshold=0.02, min_sends=100)


def test_a_journey_above_the_unsubscribe_threshold_is_paused_with_an_alert(db_settings):
    world = make_trigger_world(db_settings, customers=12)
    c = world.customers
    for journey_id in ("JRN-A", "JRN-B", "JRN-C"):
        world.journey(journey_id, {"type": "event", "event": "Viewed"})
    _sends(world, "JRN-A", list(c[0:5]), 20)  # 100 sends
    _sends(world, "JRN-B", list(c[5:10]), 20)  # 100 sends
    _sends(world, "JRN-C", list(c[10:12]), 5)  # 10 sends: too few to judge
    for customer in (c[0], c[1], c[2], c[5], c[10], c[11]):
        world.suppress(customer, "email", at=T0 - days(1))
    world.suppress(c[3], "email", at=T0 - days(20))  # before any send: not this journey's

    with session_scope(world.settings) as session:
        rates = unsubscribe_rates(session, world.workspace_id, now=T0, window=timedelta(days=7))
    assert [(r.journey_id, r.sends, r.unsubscribes) for r in rates] == [
        ("JRN-A", 100, 3),
        ("JRN-B", 100, 1),
        ("JRN-C", 10, 2),
    ]

    world.event(c[0], "Viewed", T0 - hours(1))
    report = world.scan(T0)

    assert report.paused_by_monitor == ["JRN-A"]
    with session_scope(world.settings) as session:
        states = dict(session.execute(select(JourneyState.journey_id, JourneyState.state)).all())
        alert = session.scalars(select(DomainEvent).where(DomainEvent.name == ALERT)).one()
        changed_by = session.get_one(JourneyState, (world.workspace_id, "JRN-A")).changed_by
    assert states == {"JRN-A": "paused", "JRN-B": "active", "JRN-C": "active"}
    assert changed_by == MONITOR
    assert alert.payload["journey_id"] == "JRN-A" and alert.payload["action"] == "paused"
    assert alert.payload["sends"] == 100 and alert.payload["unsubscribes"] == 3
    assert "unsubscribe rate 3.0% (3 of 100 sends in 7 days)" in alert.payload["detail"]
    # the paused journey enrols nobody; the others go on
    assert world.outcome_of("JRN-A", c[0]) == ["paused"]

    again = world.scan(T0 + hours(1))  # already paused: no second alert
    assert again.paused_by_monitor == []
