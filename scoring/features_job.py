"""Write the live features of a workspace's customers (and their category stats) as of a day."""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, func, insert, literal, select
from sqlalchemy.orm import Session

from core.batch_settings import use_batch_settings
from core.clock import utcnow
from core.models import CustomerCategory, CustomerFeatures
from core.models.base import UTCDateTime
from scoring.features import category_stats_select, features_select


def write_features(session: Session, workspace_id: str, as_of: date) -> int:
    """Replace the workspace's features with those as of the day; the customers written."""
    use_batch_settings(session)
    session.execute(delete(CustomerCategory).where(CustomerCategory.workspace_id == workspace_id))
    categories = category_stats_select(workspace_id, as_of).subquery()
    session.execute(
        insert(CustomerCategory).from_select(
            ["workspace_id", *categories.c.keys()],
            select(literal(workspace_id), *categories.c),
        )
    )
    stored_categories = (
        select(CustomerCategory)
        .where(CustomerCategory.workspace_id == workspace_id)
        .subquery("stored_categories")
    )
    session.execute(delete(CustomerFeatures).where(CustomerFeatures.workspace_id == workspace_id))
    features = features_select(workspace_id, as_of, stored_categories).subquery()
    session.execute(
        insert(CustomerFeatures).from_select(
            ["workspace_id", "as_of", "computed_at", *features.c.keys()],
            select(
                literal(workspace_id),
                literal(as_of),
                literal(utcnow(), UTCDateTime()),
                *features.c,
            ),
        )
    )
    return (
        session.scalar(
            select(func.count())
            .select_from(CustomerFeatures)
            .where(CustomerFeatures.workspace_id == workspace_id)
        )
        or 0
    )
