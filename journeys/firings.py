"""The trigger log: every firing and what came of it, one row per journey, key and outcome."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from core.models import TriggerFiring
from core.sql import insert_rows

DETAIL_MAX = 1000


@dataclass(frozen=True, slots=True)
class Firing:
    journey_id: str
    trigger_type: str
    customer_id: str
    trigger_key: str
    outcome: str
    detail: str = ""
    subject: str | None = None


def record(session: Session, workspace_id: str, firings: Sequence[Firing], *, at: datetime) -> int:
    """Write the firings not logged yet with the same outcome; how many were new."""
    if not firings:
        return 0
    rows = [
        {
            "workspace_id": workspace_id,
            "trigger_type": firing.trigger_type,
            "journey_id": firing.journey_id,
            "customer_id": firing.customer_id,
            "trigger_key": firing.trigger_key,
            "outcome": firing.outcome,
            "detail": firing.detail[:DETAIL_MAX],
            "subject": firing.subject,
            "fired_at": at,
        }
        for firing in firings
    ]
    statement, parameters = insert_rows(session, TriggerFiring.__table__, rows)
    statement = statement.on_conflict_do_nothing(
        index_elements=["workspace_id", "journey_id", "trigger_key", "outcome"]
    ).returning(TriggerFiring.id)
    return len(session.execute(statement, parameters).all())
