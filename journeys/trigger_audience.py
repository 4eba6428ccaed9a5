"""Read what the trigger gate needs about every customer a journey's trigger fired for, in
one query over the firings: lifecycle stage, segment membership, entry and exclusion criteria,
reachability, touches this week, and the customer's enrolments in this and other journeys.

Firings whose key already enrolled the customer are left out here (the enrolment's unique key
says they are done). The decisions are `journeys.trigger_rules.gate`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, false, func, literal, or_, select, true
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import Select

from core.models import (
    ALL_CHANNELS,
    ChannelConsent,
    CustomerTouch,
    JourneyEnrolment,
    LifecycleStage,
    SegmentMember,
    Suppression,
)
from journeys.spec import Journey
from journeys.trigger_queries import segment_id_of
from journeys.trigger_rules import Facts
from scoring.criteria_sql import segment_query

WEEK = timedelta(days=7)
#: The longest cooling-off period (`MCOPILOT_JOURNEY_COOLING_OFF_DAYS` allows up to 90).
COOLING_MAX = timedelta(days=90)
#: Endings after which the cooling-off period applies (a conversion is a fresh start).
COOLING_ENDS = ("completed", "exited")


@dataclass(frozen=True, slots=True)
class Hit:
    """One firing as detected, with what the gate read about the customer."""

    facts: Facts
    at: datetime
    subject: str | None
    value: int | None


def _reachable(workspace_id: str, customer: Any, channels: set[str]) -> Any:
    """Some channel of the journey has a granted opt-in and no suppression there or on all."""
    options = []
    for channel in sorted(channels):
        consent = aliased(ChannelConsent)
        suppressed = aliased(Suppression)
        options.append(
            and_(
                exists().where(
                    consent.workspace_id == workspace_id,
                    consent.customer_id == customer,
                    consent.channel == channel,
                    consent.status == "granted",
                ),
                ~exists().where(
                    suppressed.workspace_id == workspace_id,
                    suppressed.customer_id == customer,
                    suppressed.channel.in_((channel, ALL_CHANNELS)),
                ),
            )
        )
    return or_(*options) if options else false()


def facts_query(
    session: Session, workspace_id: str, journey: Journey, hits: Select, now: datetime
) -> Select:
    """The firings of `hits` not enrolled yet, each with the gate's facts (one query)."""
    h = hits.subquery("hits")
    customer = h.c.customer_id
    stage = aliased(LifecycleStage)
    columns: list[Any] = [
        h.c.customer_id,
        h.c.trigger_key,
        h.c.at,
        h.c.subject,
        h.c.value,
        stage.stage.label("stage"),
    ]
    target = journey.target
    if target.segment is not None:
        segment_id = segment_id_of(session, workspace_id, target.segment)
        member = (
            exists().where(
                SegmentMember.segment_id == segment_id, SegmentMember.customer_id == customer
            )
            if segment_id is not None
            else false()
        )
        columns.append(member.label("in_segment"))
    else:
        columns.append(true().label("in_segment"))
    for name, criteria in (("entry_ok", target.entry), ("excluded", target.exclusion)):
        if criteria is None:
            columns.append(literal(name == "entry_ok").label(name))
        else:
            matching = segment_query(workspace_id, criteria, include_unsubscribed=True)
            columns.append(customer.in_(matching).label(name))
    columns.append(_reachable(workspace_id, customer, journey.channels()).label("reachable"))
    touches = (
        select(CustomerTouch.customer_id, func.count().label("count"))
        .where(CustomerTouch.workspace_id == workspace_id, CustomerTouch.occurred_at > now - WEEK)
        .group_by(CustomerTouch.customer_id)
        .subquery("touches")
    )
    columns.append(touches.c.count.label("touches_week"))
    other = aliased(JourneyEnrolment)
    others = (
        select(other.customer_id, func.max(other.ended_at).label("ended"))
        .where(
            other.workspace_id == workspace_id,
            other.journey_id != journey.id,
            other.status.in_(COOLING_ENDS),
            other.ended_at > now - COOLING_MAX,
        )
        .group_by(other.customer_id)
        .subquery("others")
    )
    columns.append(others.c.ended.label("other_ended_at"))
    here = aliased(JourneyEnrolment)
    mine = (
        select(
            here.customer_id,
            func.max(case((here.status == "active", 1), else_=0)).label("active"),
            func.max(here.entered_at).label("entered"),
            func.max(here.ended_at).label("ended"),
        )
        .where(here.workspace_id == workspace_id, here.journey_id == journey.id)
        .group_by(here.customer_id)
        .subquery("mine")
    )
    columns.extend([mine.c.active.label("active_here"), mine.c.entered, mine.c.ended])
    done = aliased(JourneyEnrolment)
    return (
        select(*columns)
        .select_from(h)
        .outerjoin(stage, and_(stage.workspace_id == workspace_id, stage.customer_id == customer))
        .outerjoin(touches, touches.c.customer_id == customer)
        .outerjoin(others, others.c.customer_id == customer)
        .outerjoin(mine, mine.c.customer_id == customer)
        .where(
            ~exists().where(
                done.workspace_id == workspace_id,
                done.journey_id == journey.id,
                done.trigger_key == h.c.trigger_key,
            )
        )
        .order_by(h.c.customer_id, h.c.at, h.c.trigger_key)
    )


def read_hits(
    session: Session, workspace_id: str, journey: Journey, hits: Select, now: datetime
) -> list[Hit]:
    """The journey's firings not enrolled yet, with their facts."""
    found: list[Hit] = []
    for row in session.execute(facts_query(session, workspace_id, journey, hits, now)):
        facts = Facts(
            journey_id=journey.id,
            customer_id=row.customer_id,
            trigger_key=row.trigger_key,
            stage=row.stage,
            in_segment=bool(row.in_segment),
            entry_ok=bool(row.entry_ok),
            excluded=bool(row.excluded),
            reachable=bool(row.reachable),
            touches_week=int(row.touches_week or 0),
            other_journey_ended_at=row.other_ended_at,
            active_here=bool(row.active_here),
            entered_here_at=row.entered,
            ended_here_at=row.ended,
        )
        value = None if row.value is None else int(row.value)
        found.append(Hit(facts, row.at, row.subject, value))
    return found
