"""Everything scored about one customer, for people to read: RFM, lifecycle stage with its
rule and history, propensities with their reasons, and segment memberships."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import (
    LifecycleStage,
    LifecycleTransition,
    RfmSnapshot,
    SegmentDefinition,
    SegmentMember,
)
from scoring.propensity_job import Propensities, propensities_of
from scoring.segments import resolve_customer


@dataclass(frozen=True, slots=True)
class StageMove:
    entered_on: date
    stage: str
    previous_stage: str | None
    rule: str


@dataclass(frozen=True, slots=True)
class CustomerScores:
    customer_id: str
    user_id: str | None
    rfm: dict[str, Any] | None
    stage: str | None
    stage_since: date | None
    stage_rule: str | None
    history: list[StageMove]
    propensities: Propensities | None
    segments: list[str]


def customer_scores(session: Session, workspace_id: str, ref: str) -> CustomerScores:
    customer, _ = resolve_customer(session, workspace_id, ref)
    rfm = session.scalars(
        select(RfmSnapshot)
        .where(RfmSnapshot.workspace_id == workspace_id, RfmSnapshot.customer_id == customer.id)
        .order_by(RfmSnapshot.as_of.desc())
        .limit(1)
    ).first()
    stage = session.get(LifecycleStage, (workspace_id, customer.id))
    history = [
        StageMove(t.entered_on, t.stage, t.previous_stage, t.rule)
        for t in session.scalars(
            select(LifecycleTransition)
            .where(
                LifecycleTransition.workspace_id == workspace_id,
                LifecycleTransition.customer_id == customer.id,
            )
            .order_by(LifecycleTransition.entered_on)
        )
    ]
    segments = session.scalars(
        select(SegmentDefinition.name)
        .join(SegmentMember, SegmentMember.segment_id == SegmentDefinition.id)
        .where(SegmentMember.workspace_id == workspace_id, SegmentMember.customer_id == customer.id)
        .order_by(SegmentDefinition.name)
    ).all()
    return CustomerScores(
        customer_id=customer.id,
        user_id=customer.user_id,
        rfm=None
        if rfm is None
        else {
            "as_of": rfm.as_of.isoformat(),
            "recency_days": rfm.recency_days,
            "frequency": rfm.frequency,
            "monetary": rfm.monetary_cents / 100,
            "r": rfm.r,
            "f": rfm.f,
            "m": rfm.m,
            "composite": rfm.composite,
        },
        stage=stage.stage if stage else None,
        stage_since=stage.since if stage else None,
        stage_rule=stage.rule if stage else None,
        history=history,
        propensities=propensities_of(session, workspace_id, customer.id),
        segments=list(segments),
    )
