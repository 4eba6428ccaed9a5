"""The worker runs journeys through the real gate to a loopback SMTP server and webhook
receiver: sends, personalization fallbacks, holdout, splits, deferrals, channel failure and
backup, opt-out mid-journey, exits with transitions, pause and kill switch; on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import select, update

from core.db import session_scope
from core.models import (
    ChannelConsent,
    Customer,
    DomainEvent,
    Event,
    Execution,
    GateControl,
    JourneyEnrolment,
    JourneyTask,
)
from core.settings import Settings
from guardrails.opt_out import opt_out
from journeys import journey_store
from journeys.alerts import ALERT
from journeys.enrolment import enrol
from journeys.worker import Worker, wait_until_idle
from tests.conftest import free_port
from tests.fixtures.receiver import webhook_receiver
from tests.fixtures.smtp import smtp_server
from tests.journeys.runtime_fixtures import (
    JOURNEY,
    START,
    approved_item,
    at,
    db_settings,
    journey_body,
    make_world,
)

__all__ = ["db_settings"]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def smtp_settings(settings: Settings, port: int, **more) -> Settings:
    return settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False, **more}
    )


def worker(settings: Settings, clock: Clock, **more) -> Worker:
    more.setdefault("retry_delay", timedelta(0))
    return Worker(settings, clock=clock, **more)


def enrol_all(world, customers=None, journey_id=JOURNEY, when=START) -> list[str]:
    with session_scope(world.settings) as session:
        return [
            enrol(
                session,
                workspace_id=world.workspace_id,
                journey_id=journey_id,
                customer_id=customer,
                trigger_type="event",
                trigger_key=f"{customer}:day1",
                at=when,
            ).enrolment_id
            for customer in customers or world.customers
        ]


def tasks(settings: Settings) -> list[tuple[str, str, str | None]]:
    with session_scope(settings) as session:
        rows = session.scalars(
            select(JourneyTask).order_by(JourneyTask.customer_id, JourneyTask.due_at)
        )
        return [(t.node_id, t.status, t.outcome) for t in rows]


def enrolment_states(settings: Settings) -> list[str]:
    with session_scope(settings) as session:
        return list(
            session.scalars(select(JourneyEnrolment.status).order_by(JourneyEnrolment.customer_id))
        )


def alerts(settings: Settings) -> list[dict]:
    with session_scope(settings) as session:
        return [
            e.payload for e in session.scalars(select(DomainEvent).where(DomainEvent.name == ALERT))
        ]


def set_traits(settings: Settings, customer_id: str, traits: dict, updated_at: datetime) -> None:
    with session_scope(settings) as session:
        session.execute(
            update(Customer)
            .where(Customer.id == customer_id)
            .values(traits=traits, updated_at=updated_at)
        )


def test_a_journey_sends_each_step_once_with_fallbacks_then_completes(db_settings):
    world = make_world(db_settings, customers=2)
    set_traits(db_settings, "cus_0000", {"first_name": "Ada", "product": "lamp"}, START)
    enrol_all(world)
    clock = Clock(START)
    with smtp_server() as (inbox, port):
        settings = smtp_settings(db_settings, port)
        first = wait_until_idle(worker(settings, clock), timeout_s=30)
        assert first.outcomes == {"sent": 2}
        assert len(inbox.messages) == 2
        clock.now = at(47)  # the second step is due at day 2
        assert wait_until_idle(worker(settings, clock), timeout_s=30).claimed == 0
        clock.now = at(49)
        assert wait_until_idle(worker(settings, clock), timeout_s=30).outcomes == {"sent": 2}
    subjects = sorted(str(m["Subject"]) for m in inbox.messages)
    assert subjects == ["Hello Ada", "Hello Ada", "Hello there", "Hello there"]
    assert any("your basket is waiting" in m.get_content() for m in inbox.messages)
    assert len({m["Message-ID"] for m in inbox.messages}) == 4
    assert enrolment_states(db_settings) == ["completed", "completed"]
    assert [status for _, status, _ in tasks(db_settings)] == ["sent"] * 4
    with session_scope(db_settings) as session:
        assert len(session.scalars(select(Execution)).all()) == 4


def test_stale_data_falls_back_to_the_segment_default(db_settings):
    world = make_world(db_settings, customers=0)
    body = journey_body(world.item_id, id="JRN-STALE")
    body["personalization"]["fields"][0] = {
        "name": "first_name",
        "source": "traits.first_name",
        "segment_default": "friend",
        "generic": "there",
        "max_age_days": 30,
    }
    from tests.guardrails.gate_fixtures import add_customer

    add_customer(db_settings, world.workspace_id, "cus_old", "old@example.com")
    set_traits(db_settings, "cus_old", {"first_name": "Bob"}, START - timedelta(days=90))
    with session_scope(db_settings) as session:
        journey_store.save(session, world.team.marketer, body)
        journey_store.activate(session, world.team.marketer, "JRN-STALE")
    enrol_all(world, ["cus_old"], journey_id="JRN-STALE")
    with smtp_server() as (inbox, port):
        wait_until_idle(worker(smtp_settings(db_settings, port), Clock(START)), timeout_s=30)
    assert [str(m["Subject"]) for m in inbox.messages] == ["Hello friend"]


def test_a_variable_with_no_value_skips_the_step_with_the_reason(db_settings):
    world = make_world(db_settings, customers=1)
    item = approved_item(
        world.team,
        {
            "channel": "email",
            "subject": "Hi {{ nickname }}",
            "body": "Hello. Unsubscribe: https://example.com/u",
        },
    )
    body = journey_body(item, id="JRN-MISSING")
    body["nodes"] = [body["nodes"][0] | {"next": None}]
    body["personalization"] = {"fields": [{"name": "nickname", "source": "traits.nickname"}]}
    with session_scope(db_settings) as session:
        journey_store.save(session, world.team.marketer, body)
        journey_store.activate(session, world.team.marketer, "JRN-MISSING")
    enrol_all(world, journey_id="JRN-MISSING")
    with smtp_server() as (inbox, port):
        report = wait_until_idle(
            worker(smtp_settings(db_settings, port), Clock(START)), timeout_s=30
        )
    assert report.outcomes == {"skipped:personalization": 1}
    assert inbox.messages == []
    assert tasks(db_settings) == [("first", "skipped", "missing_personalization")]
    assert enrolment_states(db_settings) == ["completed"]


def test_holdout_customers_walk_the_journey_without_messages(db_settings):
    world = make_world(db_settings, customers=1)
    (enrolment_id,) = enrol_all(world)
    with session_scope(db_settings) as session:
        session.execute(
            update(JourneyEnrolment)
            .where(JourneyEnrolment.id == enrolment_id)
            .values(assignments={"holdout": True})
        )
    clock = Clock(START)
    with smtp_server() as (inbox, port):
        settings = smtp_settings(db_settings, port)
        wait_until_idle(worker(settings, clock), timeout_s=30)
        clock.now = at(49)
        wait_until_idle(worker(settings, clock), timeout_s=30)
    assert inbox.messages == []
    assert tasks(db_settings) == [("first", "skipped", "holdout"), ("second", "skipped", "holdout")]
    assert enrolment_states(db_settings) == ["completed"]


def test_a_split_sends_each_customer_down_its_branch(db_settings):
    world = make_world(db_settings, customers=2)
    with session_scope(db_settings) as session:
        session.execute(update(Customer).where(Customer.id == "cus_0000").values(locale="fr-FR"))
    body = journey_body(world.item_id, id="JRN-SPLIT", start="which")
    body["nodes"] = [
        {
            "kind": "split",
            "id": "which",
            "branches": [
                {"label": "french", "when": {"customer.locale": {"eq": "fr-FR"}}, "next": "first"},
                {"label": "otherwise", "next": None},
            ],
        },
        body["nodes"][0] | {"next": None},
    ]
    with session_scope(db_settings) as session:
        journey_store.save(session, world.team.marketer, body)
        journey_store.activate(session, world.team.marketer, "JRN-SPLIT")
    enrol_all(world, journey_id="JRN-SPLIT")
    with smtp_server() as (inbox, port):
        report = wait_until_idle(
            worker(smtp_settings(db_settings, port), Clock(START)), timeout_s=30
        )
    assert report.outcomes == {"branch:french": 1, "branch:otherwise": 1, "sent": 1}
    assert [m["To"] for m in inbox.messages] == ["c0000@example.com"]
    assert enrolment_states(db_settings) == ["completed", "completed"]


def test_quiet_hours_defer_the_step_to_the_gates_retry_time(db_settings):
    world = make_world(db_settings, customers=1)
    late = START.replace(hour=21, minute=30)  # 22:30 in Paris: quiet hours
    enrol_all(world, when=late)
    with smtp_server() as (inbox, port):
        report = wait_until_idle(
            worker(smtp_settings(db_settings, port), Clock(late)), timeout_s=30
        )
        assert report.outcomes == {"deferred:quiet_hours": 1}
        with session_scope(db_settings) as session:
            task = session.scalars(select(JourneyTask)).one()
            assert (task.status, task.due_at > late) == ("pending", True)
            retry_at = task.due_at
        wait_until_idle(worker(smtp_settings(db_settings, port), Clock(retry_at)), timeout_s=30)
    assert len(inbox.messages) == 1


def test_a_failing_channel_is_retried_once_then_the_backup_channel_goes_out(db_settings):
    world = make_world(db_settings, customers=1)
    push = approved_item(
        world.team,
        {"channel": "in_app", "title": "Your basket", "body": "Still there, {{ first_name }}"},
    )
    body = journey_body(world.item_id, id="JRN-BACKUP")
    body["nodes"] = [
        body["nodes"][0]
        | {
            "next": None,
            "backup_channel": "in_app",
            "backup_asset": {"title": "In-app", "ref": push},
        }
    ]
    with session_scope(db_settings) as session:
        journey_store.save(session, world.team.marketer, body)
        journey_store.activate(session, world.team.marketer, "JRN-BACKUP")
    with session_scope(db_settings) as session:
        session.add(
            ChannelConsent(
                workspace_id=world.workspace_id,
                customer_id="cus_0000",
                channel="in_app",
                status="granted",
                source="app settings",
                recorded_at=START - timedelta(days=9),
            )
        )
    enrol_all(world, journey_id="JRN-BACKUP")
    with webhook_receiver() as (received, url):
        settings = smtp_settings(
            db_settings,
            free_port(),
            in_app_webhook_url=url,
            webhook_secret=SecretStr("s3cret-for-tests"),
            webhook_max_attempts=1,
            smtp_timeout_s=2.0,
        )
        report = wait_until_idle(worker(settings, Clock(START)), timeout_s=60)
    assert report.outcomes == {"retry": 1, "backup": 1, "sent": 1}
    assert received.distinct == received.total == 1
    (delivered,) = received.bodies.values()
    assert delivered["content"]["body"] == "Still there, there"
    with session_scope(db_settings) as session:
        task = session.scalars(select(JourneyTask)).one()
        assert (task.status, task.channel) == ("sent", "in_app")
        execution = session.get(Execution, task.execution_id)
        assert execution.idempotency_key.endswith("/backup")
    assert [(a["kind"], a["channel"], a["backup_channel"]) for a in alerts(db_settings)] == [
        ("channel_failure", "email", "in_app")
    ]


def test_opting_out_mid_journey_removes_the_customer_and_cancels_the_rest(db_settings):
    world = make_world(db_settings, customers=2)
    enrol_all(world)
    clock = Clock(START)
    with smtp_server() as (inbox, port):
        settings = smtp_settings(db_settings, port)
        wait_until_idle(worker(settings, clock), timeout_s=30)
        with session_scope(db_settings) as session:
            opt_out(session, world.workspace_id, "cus_0000", "all", "unsubscribe link", now=at(1))
        clock.now = at(49)
        report = wait_until_idle(worker(settings, clock), timeout_s=30)
    assert report.removed == 1
    assert len(inbox.messages) == 3
    assert tasks(db_settings) == [
        ("first", "sent", "executed"),
        ("second", "cancelled", "cancelled"),
        ("first", "sent", "executed"),
        ("second", "sent", "executed"),
    ]
    assert enrolment_states(db_settings) == ["removed", "completed"]


def test_an_event_exit_ends_the_journey_and_transitions_to_the_next(db_settings):
    world = make_world(db_settings, customers=1)
    with session_scope(db_settings) as session:
        journey_store.save(session, world.team.marketer, journey_body(world.item_id, id="JRN-NEXT"))
        journey_store.activate(session, world.team.marketer, "JRN-NEXT")
    body = journey_body(
        world.item_id,
        id="JRN-EXIT",
        exits=[
            {
                "id": "bought",
                "event": "Checkout Completed",
                "outcome": "transition",
                "transition_to": "JRN-NEXT",
            }
        ],
    )
    with session_scope(db_settings) as session:
        journey_store.save(session, world.team.marketer, body)
        journey_store.activate(session, world.team.marketer, "JRN-EXIT")
    enrol_all(world, journey_id="JRN-EXIT")
    clock = Clock(START)
    with smtp_server() as (inbox, port):
        settings = smtp_settings(db_settings, port)
        wait_until_idle(worker(settings, clock), timeout_s=30)
        with session_scope(db_settings) as session:
            session.add(
                Event(
                    workspace_id=world.workspace_id,
                    message_id="m1",
                    type="track",
                    name="Checkout Completed",
                    customer_id="cus_0000",
                    properties={},
                    timestamp=at(5),
                )
            )
        clock.now = at(49)
        wait_until_idle(worker(settings, clock, sweep_every=timedelta(days=9)), timeout_s=30)
    with session_scope(db_settings) as session:
        rows = session.scalars(select(JourneyEnrolment).order_by(JourneyEnrolment.entered_at)).all()
        assert [(r.journey_id, r.status, r.exit_id, r.trigger_type) for r in rows] == [
            ("JRN-EXIT", "exited", "bought", "event"),
            ("JRN-NEXT", "active", None, "transition"),
        ]
    # JRN-EXIT sent its first step; its second was cancelled by the exit; JRN-NEXT sent its first
    assert len(inbox.messages) == 2


def test_paused_and_killed_journeys_keep_their_steps_until_resumed(db_settings):
    world = make_world(db_settings, customers=1)
    enrol_all(world)
    with session_scope(db_settings) as session:
        journey_store.pause(session, world.team.marketer, JOURNEY, reason="legal review")
    clock = Clock(START)
    with smtp_server() as (inbox, port):
        settings = smtp_settings(db_settings, port)
        assert wait_until_idle(worker(settings, clock), timeout_s=30).claimed == 0
        with session_scope(db_settings) as session:
            journey_store.resume(session, world.team.marketer, JOURNEY)
            journey_store.kill_switch(session, world.team.admin, None, reason="regulator asked")
        assert wait_until_idle(worker(settings, clock), timeout_s=30).claimed == 0
        from core.errors import PermissionDenied

        with session_scope(db_settings) as session, pytest.raises(PermissionDenied):
            journey_store.resume(session, world.team.marketer, JOURNEY)
        with session_scope(db_settings) as session:
            journey_store.resume(session, world.team.admin, None, reason="cleared")
            session.add(
                GateControl(workspace_id=world.workspace_id, paused=True, changed_by="root")
            )
        assert wait_until_idle(worker(settings, clock), timeout_s=30).claimed == 0
        with session_scope(db_settings) as session:
            session.execute(update(GateControl).values(paused=False))
        assert wait_until_idle(worker(settings, clock), timeout_s=30).outcomes == {"sent": 1}
    assert len(inbox.messages) == 1
