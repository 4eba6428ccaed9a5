"""The journey worker: sweep, claim due tasks, run the batch in one transaction; repeat.

Crash safety. A claim is committed before any task runs, under a lease; the claimed batch then
runs in one transaction with its sends (see `journeys.runner`). A worker killed at any point
leaves either a committed batch (each send once, recorded once) or a rolled-back one whose
lease runs out and which another worker (or the restarted one) claims again. The database holds
each send at most once: the gate's unique idempotency key. The provider may get a message twice
only when the worker died after the provider accepted it and before the commit: the retry sends
the batch's messages again with the same idempotency keys (email: the same Message-ID;
webhooks: the same Idempotency-Key header), so a provider that dedupes by them delivers each
once: at-least-once delivery, exactly-once at the receiver, at most one batch of repeats per
crash. The task row is the outbox between the decision and the delivery: the enrolment's
decision to send is committed as a due task before any delivery is tried.

A batch that raises (a bug, a lost connection, a deadlock the database broke) is rolled back
and its tasks are run again one by one, each in its own transaction, so one bad task cannot
hold up the others; a task that fails alone is given back for `retry_delay`.

Nothing else that goes wrong ends the loop either: a workspace whose sweep or periodic job
(trigger scan) raises is logged and tried again at the next sweep while the other workspaces
are swept and sent; a claim that fails (the database went away) is tried again after a
back-off that doubles from `claim_backoff` up to `claim_backoff_max` while it keeps failing.
Only Exception is caught: KeyboardInterrupt and SystemExit still stop the worker. Failures are
logged with ids only: `guardrails.log_safe` keeps customers' addresses out of the log.

The worker keeps its channel adapters open (one SMTP connection, one HTTP client per channel)
from its first send until it stops.

PostgreSQL: any number of workers (`FOR UPDATE SKIP LOCKED`). SQLite: run one worker; a second
would only wait on SQLite's single write lock.

SIGTERM or SIGINT: the current batch finishes and commits, then the loop ends.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from core.clock import utcnow
from core.db import session_scope
from core.ids import new_id
from core.models import JourneyState, JourneyTask
from core.settings import Settings
from guardrails.delivery import ChannelAdapter
from guardrails.log_safe import describe, stack
from journeys.dispatch import AdapterPool
from journeys.runner import RunConfig, run_batch, run_task
from journeys.sweep import sweep
from journeys.tasks import claim_due, release

logger = logging.getLogger("mcopilot.journeys.worker")


@dataclass
class LoopReport:
    claimed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    removed: int = 0
    exited: int = 0
    converted: int = 0
    errors: int = 0
    #: After a failed claim: how long to wait before claiming again.
    retry_in: timedelta | None = None


def backoff_after(failures: int, base: timedelta, ceiling: timedelta) -> timedelta:
    """The wait after `failures` failed claims in a row: `base`, doubled at each further
    failure, at most `ceiling`."""
    return min(ceiling, base * 2 ** min(max(failures - 1, 0), 30))


def _job_name(job: Callable[..., object]) -> str:
    return str(getattr(job, "__qualname__", None) or type(job).__name__)


@dataclass
class Worker:
    settings: Settings
    workspace_id: str | None = None
    batch: int = 200
    poll_s: float = 1.0
    lease: timedelta = timedelta(seconds=120)
    retry_delay: timedelta = timedelta(seconds=60)
    sweep_every: timedelta = timedelta(seconds=60)
    claim_backoff: timedelta = timedelta(seconds=1)
    claim_backoff_max: timedelta = timedelta(seconds=60)
    adapters: dict[str, ChannelAdapter] | None = None
    clock: Callable[[], datetime] = utcnow
    jobs: list[Callable[[Settings, str, datetime], None]] = field(default_factory=list)
    worker_id: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{new_id('w')}"[:100]
    )
    _last_sweep: datetime | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _pool: AdapterPool | None = None
    _config: RunConfig | None = None
    _claim_failures: int = 0

    @property
    def config(self) -> RunConfig:
        """The run configuration, made once: its adapters and parsed journeys live as long as
        the worker."""
        if self._config is None:
            adapters = self.adapters
            if adapters is None:
                adapters = self._pool = AdapterPool(self.settings)
            self._config = RunConfig(self.settings, self.worker_id, self.retry_delay, adapters)
        return self._config

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        """Close the adapters the worker opened (SMTP QUIT, HTTP clients)."""
        if self._pool is not None:
            self._pool.close()

    def _workspaces(self) -> list[str]:
        if self.workspace_id is not None:
            return [self.workspace_id]
        with session_scope(self.settings) as session:
            return list(session.scalars(select(JourneyState.workspace_id).distinct()))

    def _failed(self, report: LoopReport, what: str, exc: Exception, then: str) -> None:
        report.errors += 1
        logger.error("%s failed; %s: %s\n%s", what, then, describe(exc), stack(exc))

    def sweep_all(self, now: datetime, report: LoopReport) -> None:
        """Sweeps and the extra periodic jobs (trigger scans), one transaction per workspace.
        A workspace whose sweep or job raises is logged and counted in `report.errors`, and
        tried again at the next sweep; the other workspaces go on."""
        try:
            workspaces = self._workspaces()
        except Exception as exc:
            self._failed(report, "listing the workspaces to sweep", exc, "tried again next round")
            return
        for workspace_id in workspaces:
            try:
                with session_scope(self.settings) as session:
                    found = sweep(session, workspace_id, now)
            except Exception as exc:
                self._failed(
                    report, f"the sweep of workspace {workspace_id}", exc, "tried at the next sweep"
                )
            else:
                report.removed += found.removed
                report.exited += found.exited
                report.converted += found.converted
            for job in self.jobs:
                try:
                    job(self.settings, workspace_id, now)
                except Exception as exc:
                    what = f"{_job_name(job)} for workspace {workspace_id}"
                    self._failed(report, what, exc, "tried at the next sweep")
        self._last_sweep = now

    def _claim(self, now: datetime, report: LoopReport) -> list[str] | None:
        """Claim a batch; None when the claim failed (`report.retry_in` says when to retry)."""
        try:
            with session_scope(self.settings) as session:
                ids = claim_due(
                    session,
                    worker_id=self.worker_id,
                    now=now,
                    batch=self.batch,
                    lease=self.lease,
                    workspace_id=self.workspace_id,
                )
        except Exception as exc:
            self._claim_failures += 1
            report.retry_in = backoff_after(
                self._claim_failures, self.claim_backoff, self.claim_backoff_max
            )
            what = f"claiming due tasks ({self._claim_failures} in a row)"
            self._failed(report, what, exc, f"tried again in {report.retry_in}")
            return None
        self._claim_failures = 0
        return ids

    def run_once(self, now: datetime | None = None) -> LoopReport:
        """One round: sweep when due, claim a batch, run it."""
        report = LoopReport()
        now = now or self.clock()
        if self._last_sweep is None or now - self._last_sweep >= self.sweep_every:
            self.sweep_all(now, report)
        if self.settings.kill_switch:
            return report  # MCOPILOT_KILL_SWITCH: nothing is claimed, nothing waits under a lease
        ids = self._claim(now, report)
        if ids is None:
            return report
        report.claimed = len(ids)
        if self._stop.is_set():
            for task_id in ids:
                self._give_back(task_id)
            return report
        try:
            with session_scope(self.settings) as session:
                outcomes = run_batch(session, ids, self.config, now=self.clock())
        except Exception as exc:
            logger.error(
                "a batch of %d failed; its tasks run one by one: %s\n%s",
                len(ids),
                describe(exc),
                stack(exc),
            )
            outcomes = [self._run(task_id, report) for task_id in ids]
        report.outcomes.update(outcomes)
        return report

    def _run(self, task_id: str, report: LoopReport) -> str:
        now = self.clock()
        try:
            with session_scope(self.settings) as session:
                return run_task(session, task_id, self.config, now=now)
        except Exception as exc:
            what = f"task {task_id}"
            self._failed(report, what, exc, f"it is retried after {self.retry_delay}")
            self._give_back(task_id, delay=self.retry_delay, outcome="error")
            return "error"

    def _give_back(
        self, task_id: str, *, delay: timedelta = timedelta(0), outcome: str = "released"
    ) -> None:
        """Release a claimed task this worker will not run now (if that fails too, its lease
        runs out and any worker claims it then)."""
        now = self.clock()
        try:
            with session_scope(self.settings) as session:
                task = session.scalars(
                    select(JourneyTask)
                    .where(
                        JourneyTask.id == task_id,
                        JourneyTask.status == "claimed",
                        JourneyTask.claimed_by == self.worker_id,
                    )
                    .with_for_update()
                ).one_or_none()
                if task is not None:
                    release(task, due_at=now + delay, now=now, outcome=outcome, detail="")
        except Exception as exc:
            logger.error(
                "giving task %s back failed; it waits for its lease to run out: %s",
                task_id,
                describe(exc),
            )

    def run(self, *, once: bool = False) -> LoopReport:
        """Loop until stopped (or one round with `once`); the last round's report."""
        try:
            while True:
                report = self.run_once()
                if once or self._stop.is_set():
                    return report
                if not report.claimed:
                    wait = report.retry_in.total_seconds() if report.retry_in else self.poll_s
                    if self._stop.wait(wait):
                        return report
        finally:
            self.close()

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT stop the loop after the task in hand."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self.stop())


def wait_until_idle(worker: Worker, *, timeout_s: float) -> LoopReport:
    """Run rounds until one claims nothing (tests and the demo); the summed report."""
    total = LoopReport()
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            report = worker.run_once()
            total.claimed += report.claimed
            total.outcomes.update(report.outcomes)
            total.removed += report.removed
            total.exited += report.exited
            total.converted += report.converted
            total.errors += report.errors
            if report.retry_in is not None:  # the claim failed: wait, then claim again
                if worker._stop.wait(report.retry_in.total_seconds()):
                    break
                continue
            if not report.claimed:
                break
    finally:
        worker.close()
    return total
