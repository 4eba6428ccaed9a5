"""Journey targets (a conversion rate per journey): set or clear one, audited; marketers up."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.errors import InvalidInput, NotFound
from core.models import JourneyState, JourneyTarget, JourneyVersion
from core.roles import Member, require_role
from core.settings import Settings
from guardrails.audit.service import append
from journeys.spec import JOURNEY_ID_PATTERN

CONVERSION_RATE = "conversion_rate"


def parse_share(text: str, *, field: str) -> float:
    """`35%`, `35` or `0.35` as 0.35; a share strictly between 0 and 1."""
    raw = text.strip()
    try:
        value = float(raw.rstrip("%"))
    except ValueError:
        raise InvalidInput(
            f"not a number: {text!r}", field=field, fix="give a percent such as 35% or 0.35"
        ) from None
    if raw.endswith("%") or value > 1:
        value /= 100
    if not 0 < value < 1:
        raise InvalidInput(
            f"must be between 0% and 100%, got {text!r}", field=field, fix="e.g. 35%"
        )
    return value


def _known(session: Session, workspace_id: str, journey_id: str) -> bool:
    for model in (JourneyVersion, JourneyState):
        found = session.scalar(
            select(model.journey_id)
            .where(model.workspace_id == workspace_id, model.journey_id == journey_id)
            .limit(1)
        )
        if found is not None:
            return True
    return False


def set_target(
    session: Session,
    member: Member,
    journey_id: str,
    target: float | None,
    *,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> None:
    """Set the journey's conversion-rate target (None clears it); audited, never commits."""
    require_role(member, "marketer", to="set journey targets")
    if not re.fullmatch(JOURNEY_ID_PATTERN, journey_id or ""):
        raise InvalidInput(f"invalid journey id {journey_id!r}", field="JOURNEY")
    if not _known(session, member.workspace_id, journey_id):
        raise NotFound(
            f"no journey {journey_id!r} in workspace {member.workspace_slug!r}",
            field="JOURNEY",
            fix="save the journey first, or check the id",
        )
    key = (member.workspace_id, journey_id, CONVERSION_RATE)
    if target is None:
        session.execute(
            delete(JourneyTarget).where(
                JourneyTarget.workspace_id == member.workspace_id,
                JourneyTarget.journey_id == journey_id,
                JourneyTarget.metric == CONVERSION_RATE,
            )
        )
    else:
        if not 0 < target < 1:
            raise InvalidInput(f"must be between 0 and 1, got {target}", field="--conversion")
        row = session.get(JourneyTarget, key) or JourneyTarget(
            workspace_id=member.workspace_id, journey_id=journey_id, metric=CONVERSION_RATE
        )
        row.target, row.set_by, row.set_at = target, member.handle, now or utcnow()
        session.add(row)
        session.flush()
    append(
        session,
        member.workspace_id,
        actor=member.handle,
        action="journey.target",
        inputs={"journey_id": journey_id, "metric": CONVERSION_RATE, "target": target},
        decision="cleared" if target is None else "set",
        settings=settings,
    )
