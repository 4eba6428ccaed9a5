"""The decision log: one row per next-best-action decision served, for the dashboard."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.orm import Session

from core.models import NbaDecision
from scoring.nba import Decision


def record_decision(session: Session, workspace_id: str, decision: Decision) -> None:
    """Log the decision's top action (or none) and its confidence; one plain INSERT in the
    caller's transaction, no ORM bookkeeping, never a commit."""
    top = decision.primary
    session.execute(
        insert(NbaDecision).values(
            workspace_id=workspace_id,
            customer_id=decision.customer_id,
            action_id=top.action_id if top else None,
            channel=top.channel if top else None,
            confidence=top.confidence if top else None,
            inventory_version=decision.inventory_version,
            decided_at=decision.decided_at,
        )
    )
