"""Journey alerts for the operators: a `journey.alert` domain event (the dashboard reads them)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core.models import DomainEvent

ALERT = "journey.alert"
logger = logging.getLogger("mcopilot.journeys")


def raise_alert(
    session: Session,
    workspace_id: str,
    kind: str,
    *,
    customer_id: str | None,
    at: datetime,
    **details: Any,
) -> None:
    """Record an alert (`channel_failure`, `backup_failed`, `approval_missing`...) in the
    caller's transaction, and log it (ids only, no personal data)."""
    payload = {"kind": kind, **details}
    session.add(
        DomainEvent(
            workspace_id=workspace_id,
            name=ALERT,
            customer_id=customer_id,
            payload=payload,
            occurred_at=at,
        )
    )
    logger.warning("journey alert %s in %s: %s", kind, workspace_id, details)
