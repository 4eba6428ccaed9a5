"""What the validator knows about a workspace: its journeys, its segments and its contact
policy (caps and the flood limit), read in three small workspace-scoped queries."""

from __future__ import annotations

from sqlalchemy import select, union
from sqlalchemy.orm import Session

from core.models import JourneyState, JourneyVersion, SegmentDefinition
from guardrails.contact_store import policy_of
from journeys.validate import Context


def load_context(session: Session, workspace_id: str, slug: str) -> Context:
    journeys = session.scalars(
        union(
            select(JourneyVersion.journey_id).where(JourneyVersion.workspace_id == workspace_id),
            select(JourneyState.journey_id).where(JourneyState.workspace_id == workspace_id),
        )
    )
    segments = session.scalars(
        select(SegmentDefinition.name).where(SegmentDefinition.workspace_id == workspace_id)
    )
    policy = policy_of(session, workspace_id)
    return Context(
        journeys=frozenset(journeys),
        segments=frozenset(segments),
        caps=policy.caps,
        flood_per_day=policy.rules.flood_per_day,
        note=f"workspace {slug}",
    )
