"""Reading an experiment's arms from the journey's enrolments: who was assigned what, who converted.

An enrolment's `assignments` holds `{"holdout": bool, "<experiment node id>": "<variant id>"}`;
a variant is recorded when the customer reaches the decision point, so only exposed
customers count. Converted means the journey's goal happened within its window
(`converted_at`). Only the running version's enrolments are read: a new version may change
the variants.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.errors import InvalidInput, NotFound
from core.models import JourneyEnrolment, JourneyState, JourneyVersion
from journeys.experiment_stats import Arm, Readout, readout
from journeys.spec import Experiment, Journey, parse_journey

HOLDOUT = "holdout"
JOURNEY_ARM = "journey"
RATE_DAYS = 7


def running_version(session: Session, workspace_id: str, journey_id: str) -> Journey:
    """The spec of the journey's current version in the workspace."""
    state = session.get(JourneyState, (workspace_id, journey_id))
    if state is None:
        raise NotFound(f"no journey {journey_id!r} in this workspace", field="journey")
    spec = session.scalars(
        select(JourneyVersion.spec).where(
            JourneyVersion.workspace_id == workspace_id,
            JourneyVersion.journey_id == journey_id,
            JourneyVersion.version == state.version,
        )
    ).one()
    return parse_journey(spec)


def experiment_node(journey: Journey, node_id: str | None) -> Experiment:
    """The named experiment node, or the journey's only one when none is named."""
    experiments = [node for node in journey.nodes if isinstance(node, Experiment)]
    if node_id is None:
        if len(experiments) != 1:
            names = ", ".join(e.id for e in experiments) or "none"
            raise InvalidInput(
                f"the journey has {len(experiments)} experiments ({names})",
                field="--experiment",
                fix="name the experiment node to read",
            )
        return experiments[0]
    for node in experiments:
        if node.id == node_id:
            return node
    raise InvalidInput(
        f"{journey.id} has no experiment node {node_id!r}",
        field="--experiment",
        fix=f"use one of: {', '.join(e.id for e in experiments) or 'none'}",
    )


def count_arms(rows: list[tuple[dict[str, object], bool]], key: str, names: list[str]) -> list[Arm]:
    """Arms named `names` from (assignments, converted) rows, by the variant under `key`."""
    enrolled: Counter[str] = Counter()
    converted: Counter[str] = Counter()
    for assignments, did_convert in rows:
        arm = assignments.get(key)
        if key == HOLDOUT:
            arm = HOLDOUT if assignments.get(HOLDOUT) else JOURNEY_ARM
        if not isinstance(arm, str) or arm not in names:
            continue
        enrolled[arm] += 1
        converted[arm] += int(did_convert)
    return [Arm(name, enrolled[name], converted[name]) for name in names]


def _rows(
    session: Session, workspace_id: str, journey: Journey
) -> list[tuple[dict[str, object], bool]]:
    result = session.execute(
        select(JourneyEnrolment.assignments, JourneyEnrolment.converted_at.is_not(None)).where(
            JourneyEnrolment.workspace_id == workspace_id,
            JourneyEnrolment.journey_id == journey.id,
            JourneyEnrolment.version == journey.version,
        )
    )
    return [(dict(assignments or {}), bool(converted)) for assignments, converted in result]


def daily_enrolments(
    session: Session, workspace_id: str, journey: Journey, now: datetime
) -> float | None:
    """Enrolments per day over the last week, or None when there were none."""
    count = session.scalar(
        select(func.count()).where(
            JourneyEnrolment.workspace_id == workspace_id,
            JourneyEnrolment.journey_id == journey.id,
            JourneyEnrolment.version == journey.version,
            JourneyEnrolment.entered_at >= now - timedelta(days=RATE_DAYS),
        )
    )
    return count / RATE_DAYS if count else None


def journey_readout(
    session: Session,
    workspace_id: str,
    journey_id: str,
    *,
    experiment: str | None = None,
    holdout: bool = False,
    alpha: float = 0.05,
    power: float = 0.8,
    min_effect: float | None = None,
    now: datetime | None = None,
) -> tuple[Journey, str, Readout]:
    """The readout of one experiment node (the first variant is control), or with `holdout`
    of the journey against its holdout group (its lift); returns the journey and what was read."""
    journey = running_version(session, workspace_id, journey_id)
    rows = _rows(session, workspace_id, journey)
    if holdout:
        if journey.holdout <= 0:
            raise InvalidInput(
                f"{journey.id} has no holdout group", field="--holdout", fix="set `holdout`"
            )
        control, variant = count_arms(rows, HOLDOUT, [HOLDOUT, JOURNEY_ARM])
        arms, subject = [variant], "holdout"
    else:
        node = experiment_node(journey, experiment)
        control, *arms = count_arms(rows, node.id, [v.id for v in node.variants])
        subject = node.id
    rate = daily_enrolments(session, workspace_id, journey, now or utcnow())
    result = readout(
        control, arms, alpha=alpha, power=power, min_effect=min_effect, daily_enrolments=rate
    )
    return journey, subject, result
