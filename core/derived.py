"""Delete the derived scoring rows of customers or of a whole workspace (they have no cascades).

The derived tables (`DERIVED`) are written by set-based jobs from SELECTs over `customers`
and carry no foreign keys, so nothing cascades into them: every delete of customers or of a
workspace calls `delete_derived_rows` first, in the same transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from core.models import (
    CustomerCategory,
    CustomerFeatures,
    DomainEvent,
    LifecycleRun,
    LifecycleStage,
    LifecycleTransition,
    PropensityScore,
    RfmRun,
    RfmSnapshot,
    SegmentChange,
    SegmentMember,
    TriggerFiring,
)

# Every table whose rows are keyed by (workspace_id, customer_id) without a foreign key.
DERIVED: tuple[Any, ...] = (
    RfmSnapshot,
    CustomerFeatures,
    CustomerCategory,
    LifecycleStage,
    LifecycleTransition,
    PropensityScore,
    SegmentMember,
    SegmentChange,
    DomainEvent,
)
# Logs keyed by customer without a foreign key (the trigger log): deleted with them too.
LOGS: tuple[Any, ...] = (TriggerFiring,)
# What the derived rows of a whole workspace were computed as of: gone with them.
RUNS: tuple[Any, ...] = (RfmRun, LifecycleRun)


def delete_derived_rows(
    session: Session,
    workspace_id: str,
    customer_ids: Select[Any] | None = None,
) -> int:
    """Delete the derived rows of the workspace's customers in customer_ids (a SELECT of ids),
    or of the whole workspace when it is None (domain events without a customer included);
    the rows deleted. The workspace's RFM and lifecycle runs go either way: a snapshot that
    lost rows is no longer whole, so no later snapshot may start from it."""
    deleted = 0
    for model in RUNS:
        session.execute(delete(model).where(model.workspace_id == workspace_id))
    for model in (*DERIVED, *LOGS):
        statement = delete(model).where(model.workspace_id == workspace_id)
        if customer_ids is not None:
            statement = statement.where(model.customer_id.in_(customer_ids))
        deleted += session.execute(statement).rowcount or 0
    return deleted
