"""One lock order for every transaction that touches customers and the audit log: its customers
(in id order) first, the audit chain head last. On PostgreSQL, with real concurrent connections:
provider feedback racing a worker's batch on the same customers never deadlocks (a deadlock
rolls back a batch that may have gone out already); and a worker's batch that runs in several
rounds locks its enrolments and customers before anything else, and nothing after the audit
head."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

from core.db import get_engine, session_factory, session_scope
from core.models import Customer, Execution, JourneyEnrolment, JourneyTask
from core.settings import Settings
from journeys.enrolment import schedule_node
from journeys.feedback import FeedbackEvent
from journeys.feedback_store import record_feedback
from journeys.journey_store import spec_of
from journeys.runner import RunConfig, run_batch
from journeys.tasks import claim_due
from journeys.worker import wait_until_idle
from tests.fixtures.lock_waits import described, in_thread, wait_blocked
from tests.fixtures.smtp import smtp_server
from tests.journeys.runtime_fixtures import JOURNEY, START, at, make_world
from tests.journeys.test_worker import Clock, enrol_all, smtp_settings, worker

pytestmark = pytest.mark.postgres
RACER = "racer"


@pytest.fixture
def pg_settings(tmp_path, postgres_url) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=postgres_url)


def _claim(settings: Settings, now) -> list[str]:
    with session_scope(settings) as session:
        return claim_due(session, worker_id=RACER, now=now, batch=50, lease=timedelta(minutes=10))


def _feedback(settings: Settings) -> list[FeedbackEvent]:
    """A hard bounce for cus_0001, then an unsubscribe for cus_0000: customers in the order
    that crosses the worker's (id order)."""
    with session_scope(settings) as session:
        sent = dict(
            session.execute(select(Execution.customer_id, Execution.provider_message_id)).all()
        )
    return [
        FeedbackEvent(
            id="evt-bounce",
            type="bounce",
            provider_message_id=sent["cus_0001"],
            occurred_at=at(2),
            channel="email",
        ),
        FeedbackEvent(
            id="evt-unsub",
            type="unsubscribe",
            provider_message_id=sent["cus_0000"],
            occurred_at=at(2),
            channel="email",
        ),
    ]


def test_feedback_racing_a_worker_batch_on_the_same_customers_does_not_deadlock(pg_settings):
    world = make_world(pg_settings, customers=2)
    enrol_all(world)
    with smtp_server() as (inbox, port):
        settings = smtp_settings(pg_settings, port)
        assert wait_until_idle(worker(settings, Clock(START)), timeout_s=30).outcomes == {"sent": 2}
        events = _feedback(settings)
        ids = _claim(settings, at(49))  # the second step, due at day 2, for both customers
        assert len(ids) == 2
        pids: dict[str, int] = {}
        errors: list[tuple[str, BaseException]] = []
        # A third transaction holds cus_0000 (FOR NO KEY UPDATE: foreign-key checks pass), so
        # the worker, then the feedback, queue on it: the interleaving a busy system reaches
        # by chance, made certain.
        blocker = session_factory(settings)()
        blocker.execute(
            select(Customer).where(Customer.id == "cus_0000").with_for_update(key_share=True)
        )
        config = RunConfig(settings, RACER)
        worker_thread = in_thread(
            "worker",
            lambda session: run_batch(session, ids, config, now=at(49)),
            settings,
            pids,
            errors,
        )
        wait_blocked(settings, pids, "worker")
        feedback_thread = in_thread(
            "feedback",
            lambda session: record_feedback(session, events, settings=settings, now=at(49)),
            settings,
            pids,
            errors,
        )
        wait_blocked(settings, pids, "feedback")
        blocker.commit()
        blocker.close()
        worker_thread.join(timeout=120)
        feedback_thread.join(timeout=120)
        assert not worker_thread.is_alive() and not feedback_thread.is_alive()
    assert not errors, described(errors)
    per_customer = Counter(str(m["To"]) for m in inbox.messages)
    assert all(count <= 2 for count in per_customer.values()), per_customer
    with session_scope(pg_settings) as session:
        executions = session.scalars(select(Execution)).all()
        statuses = session.scalars(select(JourneyTask.status).order_by(JourneyTask.id)).all()
    assert len(executions) == len(inbox.messages)  # nothing delivered twice, none unrecorded
    assert set(statuses) <= {"sent", "skipped", "cancelled"}


def test_a_batch_of_several_rounds_takes_no_lock_after_the_audit_head(pg_settings):
    world = make_world(pg_settings, customers=2)
    enrol_all(world)
    with session_scope(pg_settings) as session:
        # a second task of cus_0001's enrolment due with the first: the batch runs two rounds
        enrolment = session.scalars(
            select(JourneyEnrolment).where(JourneyEnrolment.customer_id == "cus_0001")
        ).one()
        journey = spec_of(session, world.workspace_id, JOURNEY, enrolment.version)
        schedule_node(session, enrolment, journey, "second", reached_at=START)
        session.execute(update(JourneyTask).values(due_at=START))
    ids = _claim(pg_settings, START)
    assert len(ids) == 3
    statements: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(" ".join(statement.lower().split()))

    engine = get_engine(pg_settings)
    with smtp_server() as (_, port):
        settings = smtp_settings(pg_settings, port)
        event.listen(engine, "before_cursor_execute", note)
        try:
            with session_scope(settings) as session:
                outcomes = run_batch(session, ids, RunConfig(settings, RACER), now=START)
        finally:
            event.remove(engine, "before_cursor_execute", note)
    assert "sent" in outcomes
    head = next(i for i, s in enumerate(statements) if "audit_heads" in s)
    after = [s[:60] for s in statements[head:] if "audit_heads" not in s]
    assert all(s.startswith("insert into audit_records") for s in after), after
    locks = [s for s in statements if " for update" in s or " for share" in s]
    assert "from journey_enrolments" in locks[0], locks[0]  # the batch's enrolments, then
    assert "from customers" in locks[1], locks[1]  # its customers, before anything else
