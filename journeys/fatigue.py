"""The unsubscribe-rate monitor (seed 000's fatigue edge case): per journey, recipients who
unsubscribed after one of its sends over a window, against its sends; above the threshold the
journey is paused at once and a `journey.alert` domain event raised for the dashboard.

A send is a journey task that executed (its gate execution, by `executed_at`); an unsubscribe
is an `unsubscribe` suppression (any channel) created at or after one of the journey's sends
to that customer in the window, so each unsubscribed customer counts once per journey.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from core.models import DomainEvent, Execution, JourneyTask, Suppression, Workspace
from core.roles import Member
from core.settings import Settings
from journeys import journey_store

ALERT = "journey.alert"
MONITOR = "system:unsubscribe-monitor"


@dataclass(frozen=True, slots=True)
class UnsubscribeRate:
    journey_id: str
    sends: int
    unsubscribes: int

    @property
    def rate(self) -> float:
        return self.unsubscribes / self.sends if self.sends else 0.0


def too_high(rate: UnsubscribeRate, *, threshold: float, min_sends: int) -> bool:
    """Whether the journey's rate is above the threshold on enough sends to judge (pure)."""
    return rate.sends >= min_sends and rate.rate > threshold


def unsubscribe_rates(
    session: Session, workspace_id: str, *, now: datetime, window: timedelta
) -> list[UnsubscribeRate]:
    """Sends and attributed unsubscribes per journey over the window ending at `now`."""
    since = now - window
    sent = and_(
        Execution.id == JourneyTask.execution_id,
        Execution.workspace_id == workspace_id,
        Execution.executed_at > since,
        Execution.executed_at <= now,
    )
    sends = dict(
        session.execute(
            select(JourneyTask.journey_id, func.count())
            .join(Execution, sent)
            .where(JourneyTask.workspace_id == workspace_id)
            .group_by(JourneyTask.journey_id)
        ).all()
    )
    unsubscribed = dict(
        session.execute(
            select(JourneyTask.journey_id, func.count(func.distinct(Suppression.customer_id)))
            .join(Execution, sent)
            .join(
                Suppression,
                and_(
                    Suppression.workspace_id == workspace_id,
                    Suppression.customer_id == JourneyTask.customer_id,
                    Suppression.reason == "unsubscribe",
                    Suppression.created_at >= Execution.executed_at,
                    Suppression.created_at <= now,
                ),
            )
            .where(JourneyTask.workspace_id == workspace_id)
            .group_by(JourneyTask.journey_id)
        ).all()
    )
    return [
        UnsubscribeRate(journey_id, int(count), int(unsubscribed.get(journey_id, 0)))
        for journey_id, count in sorted(sends.items())
    ]


def _monitor(session: Session, workspace_id: str) -> Member:
    """The monitor acts as a system member of the workspace (it may pause, like a marketer)."""
    workspace = session.get_one(Workspace, workspace_id)
    return Member(workspace_id, workspace.slug, MONITOR, MONITOR, "marketer")


def check_unsubscribe_rates(
    session: Session, workspace_id: str, *, now: datetime, settings: Settings
) -> list[UnsubscribeRate]:
    """Pause every active journey whose unsubscribe rate is too high, raise an alert for each;
    the journeys paused."""
    window = timedelta(days=settings.unsubscribe_window_days)
    active = set(journey_store.running_journeys(session, workspace_id))
    paused: list[UnsubscribeRate] = []
    for rate in unsubscribe_rates(session, workspace_id, now=now, window=window):
        if rate.journey_id not in active or not too_high(
            rate,
            threshold=settings.unsubscribe_rate_threshold,
            min_sends=settings.unsubscribe_min_sends,
        ):
            continue
        detail = (
            f"unsubscribe rate {rate.rate:.1%} ({rate.unsubscribes} of {rate.sends} sends in "
            f"{settings.unsubscribe_window_days} days) is above "
            f"{settings.unsubscribe_rate_threshold:.1%}: journey paused"
        )
        journey_store.pause(
            session, _monitor(session, workspace_id), rate.journey_id, reason=detail, now=now
        )
        session.add(
            DomainEvent(
                workspace_id=workspace_id,
                name=ALERT,
                customer_id=None,
                payload={
                    "journey_id": rate.journey_id,
                    "kind": "unsubscribe_rate",
                    "severity": "critical",
                    "detail": detail,
                    "sends": rate.sends,
                    "unsubscribes": rate.unsubscribes,
                    "rate": round(rate.rate, 6),
                    "threshold": settings.unsubscribe_rate_threshold,
                    "window_days": settings.unsubscribe_window_days,
                    "action": "paused",
                },
                occurred_at=now,
            )
        )
        paused.append(rate)
    session.flush()
    return paused
