"""Set-based enrolment (`enrol_many`): the same enrolments, tasks and trigger log as `enrol` one
by one, once per key across batches and racing scans, nothing written when it fails midway;
on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from core.db import session_factory, session_scope
from core.errors import InvalidInput
from core.models import JourneyEnrolment, JourneyTask, TriggerFiring
from core.settings import Settings
from journeys import journey_store
from journeys.enrol_plan import Entrant
from journeys.enrolment import end_enrolment, enrol_many
from journeys.triggers_job import scan_job, scan_triggers
from tests.journeys.runtime_fixtures import JOURNEY, START, at, db_settings, make_world
from tests.journeys.scan_world import (
    SCAN_JOURNEY,
    make_scan_world,
    one_by_one,
    scan_journey,
    snapshot,
)
from tests.journeys.trigger_fixtures import T0, days, hours, make_trigger_world

__all__ = ["db_settings"]

VIEWED = {"type": "event", "event": "Viewed"}


def _postgres_only(settings: Settings) -> None:
    if not settings.effective_database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer: transactions cannot race there")


def _twice(settings: Settings, run: Callable[[Any], Any], workspace_id: str) -> tuple[Any, Any]:
    """What `run(session)` returns and writes one by one, then in bulk, on the same data (the
    first transaction is rolled back); the second is committed."""
    session = session_factory(settings)()
    try:
        with one_by_one():
            first = run(session), snapshot(session, workspace_id)
        session.rollback()
        second = run(session), snapshot(session, workspace_id)
        session.commit()
    finally:
        session.close()
    return first, second


def test_a_scan_writes_the_same_in_bulk_as_one_by_one(db_settings):
    world = make_trigger_world(db_settings, customers=12)
    c = world.customers
    ab = scan_journey(world.item_id, "JRN-EV")
    world.journey("JRN-CART", {"type": "abandoned_cart"}, at=T0 - days(5), priority=90)
    world.journey(
        "JRN-EV",
        VIEWED,
        at=T0 - days(5),
        holdout=0.3,
        reentry_days=30,
        start=ab["start"],
        nodes=ab["nodes"],
    )
    world.journey("JRN-OTHER", {"type": "event", "event": "Other"}, at=T0 - days(5))
    world.journey("JRN-P", {"type": "event", "event": "Browse"}, at=T0 - days(5))
    for customer in (c[4], c[5]):  # in the journey since 3 days; c5 left it after a day
        world.event(customer, "Viewed", T0 - days(3) - hours(1))
    world.event(c[8], "Other", T0 - days(3) - hours(1))
    world.cart(c[9], T0 - days(3) - hours(2))
    world.scan(T0 - days(3))
    world.end("JRN-EV", c[5], T0 - days(2))
    world.end("JRN-OTHER", c[8], T0 - days(1))  # cooling off for 2 days
    with session_scope(world.settings) as session:
        journey_store.pause(session, world.team.marketer, "JRN-P", reason="legal review", now=T0)
    for customer in c:
        if customer != c[6]:
            world.event(customer, "Viewed", T0 - hours(1))
    world.event(c[6], "Browse", T0 - hours(1))
    world.cart(c[1], T0 - hours(2))  # the cart journey ranks higher: c1 goes there
    world.revoke(c[2])
    world.touches(c[3], 8, T0 - hours(2))

    def scan(session):
        return scan_triggers(session, world.workspace_id, T0, settings=world.settings).to_json()

    (report_one, wrote_one), (report_bulk, wrote_bulk) = _twice(
        world.settings, scan, world.workspace_id
    )

    assert wrote_bulk == wrote_one and report_bulk == report_one
    assert report_bulk["outcomes"] == {
        "conflict": 2,  # c1 (lost to the cart), c9 (already in the cart journey)
        "duplicate": 2,  # c4 (active), c5 (re-entry)
        "enrolled": 5,  # c0, c7, c10, c11 here and c1 in the cart journey
        "paused": 1,
        "suppressed_cap": 2,  # c3 (cap), c8 (cooling off)
        "suppressed_optout": 1,
    }
    new = [e for e in wrote_bulk["enrolments"] if e[8] == T0]
    assert len(new) == 5 and all(
        dict(e[6]).keys() == {"holdout", "ab"} for e in new if e[0] == "JRN-EV"
    )
    assert sorted(t[4] for t in wrote_bulk["tasks"] if t[11] == T0) == ["ab"] * 4 + ["first"]
    assert world.enrolled("JRN-EV").count(c[4]) == 1


def test_enrol_many_decides_each_entrant_as_enrol_one_after_another(db_settings):
    world = make_world(db_settings, customers=5)
    c = world.customers
    args = {"workspace_id": world.workspace_id, "journey_id": JOURNEY, "trigger_type": "event"}
    with session_scope(world.settings) as session:
        enrol_many(
            session, **args, entrants=[Entrant(c[2], "kA", START), Entrant(c[1], "kX", START)]
        )
    with session_scope(world.settings) as session:
        ended = session.scalars(
            select(JourneyEnrolment.id).where(JourneyEnrolment.trigger_key == "kX")
        )
        assert end_enrolment(session, ended.one(), status="completed", at=at(0.5))
    entrants = [
        Entrant(c[0], "k0", at(1)),  # enrolled
        Entrant(c[0], "k0", at(1)),  # already_active (by the entrant before)
        Entrant(c[0], "k0b", at(1)),  # already_active, on another key
        Entrant(c[1], "kX", at(1)),  # duplicate: the key enrolled c1 before, now ended
        Entrant(c[1], "k1", at(1)),  # enrolled: c1 is not active any more
        Entrant(c[2], "k2", at(1)),  # already_active since before
        Entrant(c[3], "kA", at(1)),  # duplicate: c2 holds the key
        Entrant(c[4], "k4", at(5)),  # enrolled later: its first task is due then
        Entrant(c[3], "k3", at(1)),  # enrolled
    ]

    def run(session):
        results = enrol_many(session, **args, entrants=entrants)
        keys = dict(
            session.execute(select(JourneyEnrolment.id, JourneyEnrolment.trigger_key)).all()
        )
        return [(r.status, keys.get(r.enrolment_id), r.detail, r.assignments) for r in results]

    (one, wrote_one), (bulk, wrote_bulk) = _twice(world.settings, run, world.workspace_id)

    assert bulk == one and wrote_bulk == wrote_one
    assert [(status, key) for status, key, _, _ in bulk] == [
        ("enrolled", "k0"),
        ("already_active", "k0"),
        ("already_active", "k0"),
        ("duplicate", "kX"),
        ("enrolled", "k1"),
        ("already_active", "kA"),
        ("duplicate", "kA"),
        ("enrolled", "k4"),
        ("enrolled", "k3"),
    ]
    due = {t[1]: t[7] for t in wrote_bulk["tasks"]}
    assert (due["k0"], due["k4"]) == (at(1), at(5))


def test_enrol_many_refuses_a_bad_key_before_writing_and_answers_for_a_paused_journey(db_settings):
    world = make_world(db_settings, customers=2)
    c = world.customers
    args = {"workspace_id": world.workspace_id, "journey_id": JOURNEY, "trigger_type": "event"}
    with session_scope(world.settings) as session:
        with pytest.raises(InvalidInput) as refused:
            enrol_many(
                session, **args, entrants=[Entrant(c[0], "k0", START), Entrant(c[1], " ", START)]
            )
        assert refused.value.field == "trigger_key" and "customer cus_0001" in str(refused.value)
        assert session.scalar(select(func.count()).select_from(JourneyEnrolment)) == 0
        journey_store.pause(session, world.team.marketer, JOURNEY, reason="legal review")
        paused = enrol_many(
            session, **args, entrants=[Entrant(c[0], "k0", START), Entrant(c[1], "", START)]
        )
    assert [r.status for r in paused] == ["paused", "paused"] and paused[0] is not paused[1]


def test_a_key_enrolled_by_one_batch_is_a_duplicate_in_the_next(db_settings):
    world = make_scan_world(db_settings, 90, T0)
    c = world.customers
    args = {"workspace_id": world.workspace_id, "journey_id": SCAN_JOURNEY, "trigger_type": "event"}

    def batch(customers):
        with session_scope(world.settings) as session:
            return enrol_many(
                session, **args, entrants=[Entrant(x, f"{x}:k", T0) for x in customers]
            )

    first = batch(c[:60])
    with session_scope(world.settings) as session:
        for result in first[30:45]:
            end_enrolment(session, result.enrolment_id, status="completed", at=T0 + hours(1))
    second = batch(c[30:90])

    assert [r.status for r in first] == ["enrolled"] * 60
    assert [r.status for r in second] == ["duplicate"] * 15 + ["already_active"] * 15 + [
        "enrolled"
    ] * 30
    assert [r.enrolment_id for r in second[:30]] == [r.enrolment_id for r in first[30:]]
    with session_scope(world.settings) as session:
        assert session.scalar(select(func.count()).select_from(JourneyEnrolment)) == 90
        assert session.scalar(select(func.count()).select_from(JourneyTask)) == 90


def test_a_second_scan_enrols_nobody_and_logs_nothing(db_settings):
    world = make_scan_world(db_settings, 200, T0)
    assert scan_job(world.settings, world.workspace_id, T0).enrolled == 200
    with session_scope(world.settings) as session:
        ids = session.scalars(select(JourneyEnrolment.id).limit(50)).all()
        for enrolment_id in ids:  # ended: the key still holds for the day
            end_enrolment(session, enrolment_id, status="completed", at=T0 + hours(1))
    again = scan_job(world.settings, world.workspace_id, T0 + hours(2))
    assert (again.enrolled, again.logged, sum(again.outcomes.values())) == (0, 0, 0)
    with session_scope(world.settings) as session:
        assert session.scalar(select(func.count()).select_from(JourneyEnrolment)) == 200
        assert session.scalar(select(func.count()).select_from(JourneyTask)) == 200


def test_two_scans_racing_on_postgresql_enrol_each_customer_once(db_settings):
    _postgres_only(db_settings)
    world = make_scan_world(db_settings, 300, T0)
    reports, errors = [], []
    barrier = threading.Barrier(2)

    def scan() -> None:
        try:
            barrier.wait()
            reports.append(scan_job(world.settings, world.workspace_id, T0))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(r.enrolled for r in reports) == [0, 300]
    with session_scope(world.settings) as session:
        customers = session.scalars(select(JourneyEnrolment.customer_id)).all()
        assert sorted(customers) == list(world.customers)
        assert session.scalar(select(func.count()).select_from(JourneyTask)) == 300
        outcomes = session.scalars(select(TriggerFiring.outcome)).all()
        assert outcomes == ["enrolled"] * 300


def _blocked(settings: Settings, pid: list[int], timeout: float = 30.0) -> bool:
    """Wait until the backend `pid[0]` waits on a lock; False after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pid:
            with session_scope(settings) as session:
                waiting = session.scalar(
                    text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                    {"pid": pid[0]},
                )
            if waiting == "Lock":
                return True
        time.sleep(0.02)
    return False


def _race(world: Any, first: list[Entrant], second: list[Entrant]) -> tuple[Any, Any]:
    """Batch A enrols `first` and, before it commits, batch B reads and tries `second`: A
    commits once B waits on its lock. The results of A and of B."""
    args = {"workspace_id": world.workspace_id, "journey_id": SCAN_JOURNEY, "trigger_type": "event"}
    results: dict[str, Any] = {}
    errors: list[Exception] = []
    inserted, pid = threading.Event(), []

    def batch_a() -> None:
        session = session_factory(world.settings)()
        try:
            results["a"] = enrol_many(session, **args, entrants=first)
            inserted.set()
            results["blocked"] = _blocked(world.settings, pid)
            session.commit()
        except Exception as exc:
            errors.append(exc)
            inserted.set()
        finally:
            session.close()

    def batch_b() -> None:
        session = session_factory(world.settings)()
        try:
            pid.append(session.scalar(text("SELECT pg_backend_pid()")))
            inserted.wait(60)
            results["b"] = enrol_many(session, **args, entrants=second)
            session.commit()
        except Exception as exc:
            errors.append(exc)
        finally:
            session.close()

    threads = [threading.Thread(target=batch_a), threading.Thread(target=batch_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and results["blocked"]
    return results["a"], results["b"]


def test_the_unique_key_decides_between_two_racing_batches(db_settings):
    """Batch B reads before batch A commits, so it plans to insert A's keys too; its insert
    waits for A, then skips them: they are reported as duplicates of A's enrolments."""
    _postgres_only(db_settings)
    world = make_scan_world(db_settings, 90, T0)
    c = world.customers
    a, b = _race(
        world,
        [Entrant(x, f"{x}:k", T0) for x in c[:60]],
        [Entrant(x, f"{x}:k", T0) for x in c[30:]],
    )
    assert [r.status for r in a] == ["enrolled"] * 60
    assert [r.status for r in b] == ["duplicate"] * 30 + ["enrolled"] * 30
    assert [r.enrolment_id for r in b[:30]] == [r.enrolment_id for r in a[30:]]
    with session_scope(world.settings) as session:
        customers = session.scalars(select(JourneyEnrolment.customer_id)).all()
        assert sorted(customers) == list(c)
        tasks = session.scalars(select(JourneyTask.enrolment_id)).all()
        assert sorted(tasks) == sorted(r.enrolment_id for r in a + b[30:])


def test_one_active_enrolment_per_customer_whatever_the_keys(db_settings):
    """Batch B (an exit's transitions, say) enrols the same customers as batch A under other
    keys, having read before A committed: the active-enrolment index refuses B's rows, which
    are reported as already active in A's enrolments; nobody is in the journey twice."""
    _postgres_only(db_settings)
    world = make_scan_world(db_settings, 40, T0)
    c = world.customers
    a, b = _race(
        world,
        [Entrant(x, f"{x}:scan", T0) for x in c[:20]],
        [Entrant(x, f"{x}:transition", T0) for x in c[10:30]],
    )
    assert [r.status for r in a] == ["enrolled"] * 20
    assert [r.status for r in b] == ["already_active"] * 10 + ["enrolled"] * 10
    assert [r.enrolment_id for r in b[:10]] == [r.enrolment_id for r in a[10:]]
    with session_scope(world.settings) as session:
        customers = session.scalars(select(JourneyEnrolment.customer_id)).all()
        assert sorted(customers) == list(c[:30])  # each once
        tasks = session.scalars(select(JourneyTask.enrolment_id)).all()
        assert sorted(tasks) == sorted(r.enrolment_id for r in a + b[10:])


def test_the_database_refuses_a_second_active_enrolment(db_settings):
    """Whatever writes it, on both databases; once the first has ended, a new one may start."""
    world = make_scan_world(db_settings, 2, T0)
    customer = world.customers[0]
    args = {"workspace_id": world.workspace_id, "journey_id": SCAN_JOURNEY, "trigger_type": "event"}
    with session_scope(world.settings) as session:
        (first,) = enrol_many(session, **args, entrants=[Entrant(customer, "k1", T0)])
    with session_scope(world.settings) as session, pytest.raises(IntegrityError):
        session.execute(
            JourneyEnrolment.__table__.insert().values(
                id="je_second",
                workspace_id=world.workspace_id,
                journey_id=SCAN_JOURNEY,
                version="1.0",
                customer_id=customer,
                trigger_type="event",
                trigger_key="k2",
                status="active",
                assignments={},
                node_id="first",
                entered_at=T0,
            )
        )
    with session_scope(world.settings) as session:
        end_enrolment(session, first.enrolment_id, status="completed", at=T0 + hours(1))
    with session_scope(world.settings) as session:
        (again,) = enrol_many(session, **args, entrants=[Entrant(customer, "k2", T0 + hours(2))])
    assert (first.status, again.status) == ("enrolled", "enrolled")


INJECT = {
    "sqlite": [
        "CREATE TRIGGER inject_failure BEFORE INSERT ON {table} "
        "WHEN NEW.customer_id = 'cus_000150' BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION inject_failure() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.customer_id = 'cus_000150' THEN "
        "RAISE EXCEPTION 'injected failure' USING ERRCODE = 'check_violation'; END IF; "
        "RETURN NEW; END $$",
        "CREATE TRIGGER inject_failure BEFORE INSERT ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION inject_failure()",
    ],
}
REMOVE = {
    "sqlite": ["DROP TRIGGER inject_failure"],
    "postgresql": ["DROP TRIGGER inject_failure ON {table}", "DROP FUNCTION inject_failure()"],
}


@pytest.mark.parametrize("table", ["journey_enrolments", "journey_tasks", "trigger_firings"])
def test_a_scan_that_fails_midway_writes_nothing(db_settings, table):
    world = make_scan_world(db_settings, 300, T0)

    def run(statements: dict[str, list[str]]) -> None:
        with session_scope(world.settings) as session:
            for statement in statements[session.get_bind().dialect.name]:
                session.execute(text(statement.format(table=table)))

    def counts() -> list[int]:
        with session_scope(world.settings) as session:
            return [
                session.scalar(select(func.count()).select_from(model))
                for model in (JourneyEnrolment, JourneyTask, TriggerFiring)
            ]

    run(INJECT)
    with pytest.raises(IntegrityError, match="injected failure"):
        scan_job(world.settings, world.workspace_id, T0)
    assert counts() == [0, 0, 0]

    run(REMOVE)
    assert scan_job(world.settings, world.workspace_id, T0).enrolled == 300
    assert counts() == [300, 300, 300]
