"""Due tasks: claim a batch under a lease, and put a task back for later.

Claiming is one short transaction the caller commits before running anything: on PostgreSQL
`SELECT ... FOR UPDATE SKIP LOCKED` picks due rows no other worker holds, so any number of
workers can claim side by side; the UPDATE re-checks the state, so a row claimed meanwhile is
never taken twice (on SQLite, which has no row locks, the database's single writer gives the
same guarantee; run one worker there). Claimable: pending and due, or claimed under a lease that
has run out (its worker died). Tasks of journeys that are not running, and of workspaces whose
kill switch is on, are left where they are.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, not_, or_, select, update
from sqlalchemy.orm import Session

from core.models import GateControl, JourneyState, JourneyTask

RUNNING = "active"


def _claimable(now: datetime) -> object:
    return or_(
        and_(JourneyTask.status == "pending", JourneyTask.due_at <= now),
        and_(JourneyTask.status == "claimed", JourneyTask.lease_until < now),
    )


def claim_due(
    session: Session,
    *,
    worker_id: str,
    now: datetime,
    batch: int,
    lease: timedelta,
    workspace_id: str | None = None,
) -> list[str]:
    """Claim up to `batch` due tasks (oldest due first) for `worker_id` until now + lease;
    their ids. The caller commits at once, so the claim is durable before any send."""
    running = exists().where(
        JourneyState.workspace_id == JourneyTask.workspace_id,
        JourneyState.journey_id == JourneyTask.journey_id,
        JourneyState.state == RUNNING,
    )
    paused = exists().where(
        GateControl.workspace_id == JourneyTask.workspace_id, GateControl.paused.is_(True)
    )
    query = select(JourneyTask.id).where(_claimable(now), running, not_(paused))
    if workspace_id is not None:
        query = query.where(JourneyTask.workspace_id == workspace_id)
    query = (
        query.order_by(JourneyTask.due_at)
        .limit(batch)
        .with_for_update(skip_locked=True, of=JourneyTask)
    )
    ids = list(session.scalars(query))
    if not ids:
        return []
    claimed = session.scalars(
        update(JourneyTask)
        .where(JourneyTask.id.in_(ids), _claimable(now))
        .values(
            status="claimed",
            claimed_by=worker_id,
            lease_until=now + lease,
            attempts=JourneyTask.attempts + 1,
            updated_at=now,
        )
        .returning(JourneyTask.id)
        .execution_options(synchronize_session=False)
    )
    return list(claimed)


def release(
    task: JourneyTask, *, due_at: datetime, now: datetime, outcome: str, detail: str
) -> None:
    """Put a claimed task back to pending, due at `due_at`."""
    task.status, task.due_at, task.claimed_by, task.lease_until = "pending", due_at, None, None
    task.outcome, task.detail, task.updated_at = outcome, detail, now


def finish(
    task: JourneyTask,
    status: str,
    *,
    now: datetime,
    outcome: str,
    detail: str = "",
    execution_id: str | None = None,
) -> None:
    """Close a task in a final state (sent, done, blocked, failed, skipped, cancelled)."""
    task.status, task.outcome, task.detail, task.updated_at = status, outcome, detail, now
    task.claimed_by, task.lease_until = None, None
    if execution_id is not None:
        task.execution_id = execution_id
