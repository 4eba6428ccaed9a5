"""Enrolment once per trigger key, assignments, the first task, ending; on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from core.db import session_scope
from core.models import JourneyEnrolment, JourneyTask
from journeys import journey_store
from journeys.enrolment import end_enrolment, enrol
from journeys.schedule import step_key
from tests.journeys.runtime_fixtures import (
    JOURNEY,
    START,
    at,
    db_settings,
    journey_body,
    make_world,
)

__all__ = ["db_settings"]


def _enrol(world, customer="cus_0000", key="k1", when=START):
    with session_scope(world.settings) as session:
        return enrol(
            session,
            workspace_id=world.workspace_id,
            journey_id=JOURNEY,
            customer_id=customer,
            trigger_type="event",
            trigger_key=key,
            at=when,
        )


def test_enrol_once_per_key_with_the_first_task_due_at_entry(db_settings):
    world = make_world(db_settings)
    first = _enrol(world)
    assert first.status == "enrolled" and first.assignments == {"holdout": False}
    again = _enrol(world)
    assert (again.status, again.enrolment_id) == ("already_active", first.enrolment_id)
    with session_scope(world.settings) as session:
        tasks = session.scalars(select(JourneyTask)).all()
        assert [(t.node_id, t.status, t.due_at, t.channel) for t in tasks] == [
            ("first", "pending", START, "email")
        ]
        assert tasks[0].idempotency_key == step_key(
            world.workspace_id, JOURNEY, first.enrolment_id, "first"
        )
        assert end_enrolment(
            session, first.enrolment_id, status="removed", reason="opted out", at=at(1)
        )
        assert not end_enrolment(session, first.enrolment_id, status="removed", at=at(2))
    with session_scope(world.settings) as session:
        task = session.scalars(select(JourneyTask)).one()
        assert task.status == "cancelled"
        enrolment = session.get(JourneyEnrolment, first.enrolment_id)
        assert (enrolment.status, enrolment.exit_reason) == ("removed", "opted out")
    # the same key after the enrolment ended is still a duplicate (the key is the trigger's)
    assert _enrol(world).status == "duplicate"
    assert _enrol(world, key="k2").status == "enrolled"


def test_paused_and_draft_journeys_enrol_nobody(db_settings):
    world = make_world(db_settings)
    with session_scope(world.settings) as session:
        journey_store.pause(session, world.team.marketer, JOURNEY, reason="legal review")
    assert _enrol(world).status == "paused"
    with session_scope(world.settings) as session:
        journey_store.save(
            session, world.team.marketer, journey_body(world.item_id, id="JRN-DRAFT")
        )
        result = enrol(
            session,
            workspace_id=world.workspace_id,
            journey_id="JRN-DRAFT",
            customer_id="cus_0000",
            trigger_type="event",
            trigger_key="k",
            at=START,
        )
    assert result.status == "not_active"


def test_every_run_state_change_is_kept_with_its_moment(db_settings):
    from datetime import timedelta

    from sqlalchemy import select

    from core.models import JourneyStateChange

    world = make_world(db_settings)  # saved, then activated
    later = START + timedelta(hours=3)
    with session_scope(world.settings) as session:
        journey_store.pause(session, world.team.marketer, JOURNEY, reason="legal review", now=START)
        journey_store.kill_switch(session, world.team.admin, None, reason="regulator", now=later)
        journey_store.resume(session, world.team.admin, JOURNEY, now=later + timedelta(hours=1))
    with session_scope(world.settings) as session:
        changes = session.execute(
            select(JourneyStateChange.state, JourneyStateChange.changed_at)
            .where(
                JourneyStateChange.workspace_id == world.workspace_id,
                JourneyStateChange.journey_id == JOURNEY,
            )
            .order_by(JourneyStateChange.id)
        ).all()
    assert [state for state, _ in changes] == ["draft", "active", "paused", "killed", "active"]
    assert [at for _, at in changes][2:] == [START, later, later + timedelta(hours=1)]


def test_holdout_and_experiment_assignments_are_deterministic(db_settings):
    world = make_world(db_settings, customers=0)
    body = journey_body(world.item_id, id="JRN-AB", holdout=0.3, start="ab")
    body["nodes"] = [
        {
            "kind": "experiment",
            "id": "ab",
            "variants": [{"id": "control", "next": "first"}, {"id": "b", "next": "second"}],
        },
        *body["nodes"],
    ]
    from tests.guardrails.gate_fixtures import add_customer

    for index in range(40):
        add_customer(world.settings, world.workspace_id, f"cx{index}", f"x{index}@example.com")
    with session_scope(world.settings) as session:
        journey_store.save(session, world.team.marketer, body)
        journey_store.activate(session, world.team.marketer, "JRN-AB")
        results = [
            enrol(
                session,
                workspace_id=world.workspace_id,
                journey_id="JRN-AB",
                customer_id=f"cx{index}",
                trigger_type="event",
                trigger_key=f"cx{index}",
                at=START,
            )
            for index in range(40)
        ]
    held = sum(r.assignments["holdout"] for r in results)
    assert 3 <= held <= 22
    assert {r.assignments["ab"] for r in results} == {"control", "b"}
    from journeys.schedule import assignments_for
    from journeys.spec import parse_journey

    journey = parse_journey(body)
    assert all(r.assignments == assignments_for(journey, f"cx{i}") for i, r in enumerate(results))
