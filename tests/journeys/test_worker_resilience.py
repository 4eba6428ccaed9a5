"""The worker outlives what goes wrong around it: a workspace whose sweep or trigger scan
raises is logged (ids only, no personal data) and tried again at the next sweep while the other
workspaces' steps go out; a claim that fails (the database went away) is tried again after a
back-off; KeyboardInterrupt and SystemExit still stop it. On SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from core.settings import Settings
from journeys import worker as worker_module
from journeys.sweep import SweepReport
from journeys.worker import backoff_after, wait_until_idle
from tests.fixtures.smtp import smtp_server
from tests.journeys.runtime_fixtures import START, db_settings, make_world
from tests.journeys.test_worker import Clock, enrol_all, smtp_settings, worker

__all__ = ["db_settings"]
PII = "c0000@example.com"


def test_a_failing_workspace_does_not_stop_the_others_steps(db_settings, monkeypatch, caplog):
    broken = make_world(db_settings)
    fine = make_world(db_settings, slug="beta", prefix="b")
    enrol_all(broken)
    enrol_all(fine)
    real_sweep = worker_module.sweep

    def sweep(session: Session, workspace_id: str, now: datetime) -> SweepReport:
        if workspace_id == broken.workspace_id:
            raise RuntimeError(f"the sweep broke on {PII}")
        return real_sweep(session, workspace_id, now)

    scanned: list[str] = []

    def scan(settings: Settings, workspace_id: str, now: datetime) -> None:
        if workspace_id == broken.workspace_id:
            raise RuntimeError(f"the scan broke on {PII}")
        scanned.append(workspace_id)

    monkeypatch.setattr(worker_module, "sweep", sweep)
    caplog.set_level(logging.INFO, logger="mcopilot.journeys.worker")
    clock = Clock(START)
    with smtp_server() as (inbox, port):
        settings = smtp_settings(db_settings, port)
        runner = worker(settings, clock, jobs=[scan], sweep_every=timedelta(minutes=1))
        report = wait_until_idle(runner, timeout_s=30)
        assert report.errors == 2
        assert sorted(str(m["To"]) for m in inbox.messages) == [
            "b0000@example.com",
            "c0000@example.com",
        ]
        assert scanned == [fine.workspace_id]
        clock.now = START + timedelta(minutes=2)  # the next sweep tries the broken one again
        assert wait_until_idle(runner, timeout_s=30).errors == 2
        assert scanned == [fine.workspace_id] * 2
    assert broken.workspace_id in caplog.text
    assert "@example.com" not in caplog.text


def test_the_claim_back_off_doubles_up_to_its_ceiling():
    base, ceiling = timedelta(seconds=1), timedelta(seconds=10)
    assert [backoff_after(n, base, ceiling) for n in range(1, 7)] == [
        timedelta(seconds=s) for s in (1, 2, 4, 8, 10, 10)
    ]


def test_a_claim_that_fails_is_tried_again_after_the_back_off(db_settings, monkeypatch, caplog):
    world = make_world(db_settings, customers=2)
    enrol_all(world)
    real_claim = worker_module.claim_due
    calls: list[datetime] = []

    def flaky_claim(session: Session, **kwargs) -> list[str]:
        calls.append(kwargs["now"])
        if len(calls) == 1:
            raise OperationalError(
                "SELECT journey_tasks.id ...",
                {"email": PII},
                Exception("server closed the connection unexpectedly"),
            )
        return real_claim(session, **kwargs)

    monkeypatch.setattr(worker_module, "claim_due", flaky_claim)
    with smtp_server() as (inbox, port):
        settings = smtp_settings(db_settings, port)
        runner = worker(
            settings, Clock(START), poll_s=0.01, claim_backoff=timedelta(milliseconds=20)
        )
        first = runner.run_once()
        assert (first.claimed, first.errors, first.retry_in) == (0, 1, timedelta(milliseconds=20))
        thread = threading.Thread(target=runner.run)  # the loop itself waits and tries again
        thread.start()
        deadline = time.monotonic() + 30  # a guard, not a measure
        while len(inbox.messages) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        runner.stop()
        thread.join(timeout=30)
        assert not thread.is_alive()
    assert len(inbox.messages) == 2
    assert len(calls) >= 2
    assert "@example.com" not in caplog.text


@pytest.mark.parametrize("stop", [KeyboardInterrupt, SystemExit])
def test_keyboard_interrupt_and_system_exit_still_stop_the_worker(db_settings, stop):
    make_world(db_settings)

    def scan(settings: Settings, workspace_id: str, now: datetime) -> None:
        raise stop()

    with pytest.raises(stop):
        worker(db_settings, Clock(START), jobs=[scan]).run_once()
