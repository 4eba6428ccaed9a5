"""Crash safety on PostgreSQL: a worker process sending through the real gate to a loopback
SMTP server is killed with SIGKILL at 20+ random points and restarted until every step is done;
then 4 workers run side by side.

What "0 duplicates" means here: every send reaches the receiver under exactly one Message-ID
(derived from its idempotency key), the receiver keeps one message per Message-ID, as a
provider that dedupes does, and the database holds one execution per key. A worker killed after
the SMTP server accepted a message and before its transaction committed makes the retry send
the same message again, with the same Message-ID: that repeat is counted (`redelivered`) and
must be dropped by the receiver's dedupe, never shown to the customer twice. A worker runs its
claimed batch in one transaction, so one kill can repeat at most the batch's messages (`BATCH`).
0 lost: every expected key arrives, and every task is `sent`.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db import session_scope
from core.models import Execution, JourneyTask
from core.settings import Settings
from guardrails.audit.service import verify
from journeys.channels.email import message_id
from tests.fixtures.smtp import Inbox, smtp_server
from tests.journeys.load_world import LoadWorld, make_load_world, task_states

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.postgres
KILLS = 22
BATCH = 5  # the worker's --batch: what one kill can make it send again
LOGS: dict[int, Path] = {}  # worker pid -> its stderr file
STARTED: list[subprocess.Popen[bytes]] = []  # killed at the test's end if still running


@pytest.fixture(autouse=True)
def _no_worker_outlives_its_test():
    yield
    while STARTED:
        process = STARTED.pop()
        if process.poll() is None:
            process.kill()
            process.wait()


def _worker(settings: Settings, port: int, *extra: str) -> subprocess.Popen[bytes]:
    """A worker process; its stderr goes to a file of its own in the data dir (a pipe nobody
    reads until the end fills up, and the worker then blocks on its next log line)."""
    log = settings.data_dir / f"worker-{time.monotonic_ns()}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MCOPILOT_")},
        "PYTHONPATH": str(REPO),
        "MCOPILOT_DATABASE_URL": settings.effective_database_url,
        "MCOPILOT_DATA_DIR": str(settings.data_dir),
        "MCOPILOT_SMTP_HOST": "127.0.0.1",
        "MCOPILOT_SMTP_PORT": str(port),
        "MCOPILOT_SMTP_STARTTLS": "false",
        "PYTHONFAULTHANDLER": "1",  # SIGABRT prints every thread's stack to the log
    }
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from api.cli.main import run; run()",
                "worker",
                "--batch",
                str(BATCH),
                "--poll",
                "0.1",
                "--lease",
                "2",
                *extra,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    LOGS[process.pid] = log
    STARTED.append(process)
    return process


def _stderr(process: subprocess.Popen[bytes]) -> str:
    """The tail of what the worker wrote to stderr."""
    return LOGS[process.pid].read_text(encoding="utf-8", errors="replace")[-8000:]


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, and the worker finishes its batch and exits 0; if it hangs instead, its stacks
    (faulthandler on SIGABRT) say where."""
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)
        process.wait()
        raise AssertionError(
            f"no exit 30 s after SIGTERM; its stacks:\n{_stderr(process)}"
        ) from None
    assert code == 0, _stderr(process)


def _wait_for_progress(inbox: Inbox, before: int, process: subprocess.Popen[bytes]) -> None:
    """Until the worker has sent something since `before` (it is mid-batch from then on)."""
    deadline = time.monotonic() + 20
    while len(inbox.messages) <= before and time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(_stderr(process) or "died")
        time.sleep(0.01)


def _done(settings: Settings, world: LoadWorld) -> bool:
    states = task_states(settings, world.workspace_id)
    return set(states) == {"sent"} and states["sent"] == len(world.expected_keys())


def _check(settings: Settings, world: LoadWorld, inbox: Inbox) -> Counter[str]:
    """The receiver and the database agree: one message per key, none lost; the repeats."""
    domain = settings.smtp_from.rpartition("@")[2]
    from guardrails.delivery import Delivery

    expected = {
        message_id(Delivery(world.workspace_id, "", "email", "", {}, key), domain): key
        for key in world.expected_keys()
    }
    received = Counter(str(m["Message-ID"]) for m in inbox.messages)
    assert set(received) == set(expected), "a message arrived under an unknown id, or was lost"
    by_id = {}
    for message in inbox.messages:  # a repeat is the same message, byte for byte in content
        by_id.setdefault(str(message["Message-ID"]), message.get_content())
        assert by_id[str(message["Message-ID"])] == message.get_content()
    with session_scope(settings) as session:
        executions = session.scalars(
            select(Execution.idempotency_key).where(Execution.workspace_id == world.workspace_id)
        ).all()
        assert sorted(executions) == sorted(expected.values())
        tasks = session.scalars(
            select(JourneyTask).where(JourneyTask.workspace_id == world.workspace_id)
        ).all()
        assert {t.status for t in tasks} == {"sent"}
        assert len({t.execution_id for t in tasks}) == len(tasks)
        assert verify(session, world.workspace_id, settings=settings).intact
    return received


def test_sigkill_at_random_points_loses_nothing_and_sends_nothing_twice(tmp_path, postgres_url):
    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_url)
    # enough work that two workers at full speed on a quiet machine do not finish it before
    # the last kill
    world = make_load_world(settings, customers=100, steps=3)
    rng = random.Random(20261126)
    kills = 0
    with smtp_server() as (inbox, port):
        # two workers at a time: the one killed next, and its replacement (started one round
        # earlier, so its start-up overlaps the work); each kill lands after the victim's batch
        # has begun sending, at a random moment
        current, warming = _worker(settings, port), _worker(settings, port)
        while kills < KILLS and not _done(settings, world):
            _wait_for_progress(inbox, len(inbox.messages), current)
            time.sleep(rng.uniform(0.0, 0.1))
            current.send_signal(signal.SIGKILL)
            current.wait()
            kills += 1
            current, warming = warming, _worker(settings, port)
        assert kills >= 20, f"the work ran out after {kills} kills; give it more customers"
        deadline = time.monotonic() + 60
        while not _done(settings, world) and time.monotonic() < deadline:
            time.sleep(0.1)
        for process in (current, warming):  # the graceful stop
            _stop(process)
        received = _check(settings, world, inbox)
    redelivered = sum(received.values()) - len(received)
    assert redelivered <= kills * BATCH  # at most the batch in flight at each kill
    print(f"\n{kills} kills, {len(received)} sends, {redelivered} redelivered (deduped)")


def test_four_workers_side_by_side_send_each_step_exactly_once(tmp_path, postgres_url):
    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_url)
    world = make_load_world(settings, customers=30, steps=2)
    with smtp_server() as (inbox, port):
        workers = [_worker(settings, port) for _ in range(4)]
        deadline = time.monotonic() + 60
        while not _done(settings, world) and time.monotonic() < deadline:
            time.sleep(0.1)
        for process in workers:
            _stop(process)
        received = _check(settings, world, inbox)
    assert sum(received.values()) == len(received) == 60  # not even a repeat: nobody died
    with session_scope(settings) as session:
        claimers = set(session.scalars(select(Execution.actor)).all())
    assert claimers  # every send is recorded under the journey's actor
