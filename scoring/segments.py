"""Saved segments: create (validated, within the workspace quota), get, list, delete, preview,
members, explain one customer, and the seed's five segments. Never commits: the caller owns
the transaction. Recomputing membership is `scoring.segment_refresh`."""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.errors import Conflict, InvalidInput, NotFound
from core.ids import new_id
from core.models import (
    Customer,
    CustomerCategory,
    CustomerFeatures,
    CustomerIdentity,
    RfmSnapshot,
    SegmentChange,
    SegmentDefinition,
    SegmentMember,
    SegmentRun,
    Workspace,
)
from core.statistics import analyze_stale
from scoring.criteria import Criterion, conditions, fields_used, parse_criteria
from scoring.criteria_eval import Check, evaluate, matches, unsubscribed
from scoring.criteria_sql import SEGMENT_TABLES, check_channel, load_field_values, segment_query
from scoring.segment_fields import FieldType, Source, spec_for

MAX_NAME = 100
MAX_DESCRIPTION = 500
MAX_LIMIT = 10_000

#: The seed's segment examples (section 4), for the email channel.
SEED_SEGMENTS: tuple[tuple[str, dict[str, Any], str], ...] = (
    ("VIP", {"rfm.composite": {"gte": 38}}, "Best customers: RFM composite 38 or more."),
    (
        "Churn Risk",
        {"lifecycle.stage": "ACTIVE", "daysSinceLastOrder": {"gte": 45}},
        "Active customers whose last order is 45 or more days ago.",
    ),
    (
        "New Customers",
        {"orders.count": {"lte": 1}, "daysSinceFirstOrder": {"lte": 14}},
        "At most one order, the first within 14 days.",
    ),
    (
        "High Discount Sensitivity",
        {"promotions.redeemedRatio": {"gte": 0.5}},
        "Half or more of their orders used a promotion.",
    ),
    (
        "Cross-Sell Opportunity",
        {"categories.lastOrderMissing": ["Accessories"]},
        "Their last order held no Accessories.",
    ),
)


@dataclass(frozen=True, slots=True)
class CustomerRef:
    id: str
    user_id: str | None
    email: str | None

    @property
    def label(self) -> str:
        """How a person knows the customer: userId, else email, else the internal id."""
        return self.user_id or self.email or self.id


@dataclass(frozen=True, slots=True)
class Member:
    customer: CustomerRef
    entered_at: datetime


@dataclass(frozen=True, slots=True)
class Preview:
    population: int
    active_customers: int
    sample: list[CustomerRef]
    warnings: list[str]


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why one customer is in a segment or not, criterion by criterion."""

    segment: str
    customer: CustomerRef
    resolved_from: str | None
    check: Check
    excluded: str | None
    in_segment: bool
    computed: bool
    member_since: datetime | None
    notes: list[str]

    @property
    def agrees(self) -> bool | None:
        """Whether the stored membership says the same as the live check (None: never run)."""
        if not self.computed:
            return None
        return (self.member_since is not None) == self.in_segment


def validate_name(name: str) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise InvalidInput("the segment name is empty", field="NAME")
    if len(cleaned) > MAX_NAME:
        raise InvalidInput(f"at most {MAX_NAME} characters, got {len(cleaned)}", field="NAME")
    return cleaned


def check_limit(limit: int, *, field: str = "--limit") -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"must be between 1 and {MAX_LIMIT}, got {limit}", field=field)
    return limit


def criterion_of(segment: SegmentDefinition) -> Criterion:
    """The segment's stored criteria, parsed; InvalidInput naming the segment if they no
    longer validate."""
    try:
        return parse_criteria(segment.criteria)
    except InvalidInput as exc:
        raise InvalidInput(
            f"segment {segment.name!r} has invalid stored criteria: {exc.message}",
            field=exc.field,
            fix="delete it and create it again with valid criteria",
        ) from None


def _slug(session: Session, workspace_id: str) -> str:
    return session.scalars(select(Workspace.slug).where(Workspace.id == workspace_id)).one()


def list_all(session: Session, workspace_id: str) -> list[SegmentDefinition]:
    return list(
        session.scalars(
            select(SegmentDefinition)
            .where(SegmentDefinition.workspace_id == workspace_id)
            .order_by(SegmentDefinition.name)
        )
    )


def get(session: Session, workspace_id: str, name: str) -> SegmentDefinition | None:
    """The segment with this name: exact, else the one equal ignoring case."""
    wanted = " ".join((name or "").split())
    segments = list_all(session, workspace_id)
    for segment in segments:
        if segment.name == wanted:
            return segment
    folded = [s for s in segments if s.name.casefold() == wanted.casefold()]
    return folded[0] if len(folded) == 1 else None


def get_or_raise(session: Session, workspace_id: str, name: str) -> SegmentDefinition:
    segment = get(session, workspace_id, name)
    if segment is None:
        slug = _slug(session, workspace_id)
        raise NotFound(
            f"no segment {name!r} in this workspace",
            field="NAME",
            fix=f"see `mcopilot segment list -w {slug}`",
        )
    return segment


def count(session: Session, workspace_id: str) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(SegmentDefinition)
            .where(SegmentDefinition.workspace_id == workspace_id)
        )
        or 0
    )


def create(
    session: Session,
    *,
    workspace_id: str,
    name: str,
    criteria: Any,
    quota: int | None,
    channel: str | None = None,
    include_unsubscribed: bool = False,
    drift_threshold_pct: float = 20.0,
    description: str = "",
    created_by: str = "cli",
) -> SegmentDefinition:
    """A new, not yet computed segment. InvalidInput for bad criteria or options; Conflict for a
    taken name or a full quota (None: no quota)."""
    name = validate_name(name)
    parse_criteria(criteria)
    check_channel(channel, field="--channel")
    if not math.isfinite(drift_threshold_pct) or drift_threshold_pct < 0:
        raise InvalidInput(
            f"must be a percentage of 0 or more, got {drift_threshold_pct}",
            field="--drift-threshold",
        )
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(f"at most {MAX_DESCRIPTION} characters", field="--description")
    # the workspace row serialises segment creation, so two creates cannot both pass the quota
    session.execute(select(Workspace.id).where(Workspace.id == workspace_id).with_for_update())
    slug = _slug(session, workspace_id)
    if any(s.name.casefold() == name.casefold() for s in list_all(session, workspace_id)):
        raise Conflict(
            f"segment {name!r} exists already",
            field="NAME",
            fix="pick another name, or delete it with "
            f"`mcopilot segment delete {shlex.quote(name)} -w {slug}`",
        )
    existing = count(session, workspace_id)
    if quota is not None and existing >= quota:
        raise Conflict(
            f"the workspace has {existing} segments and its quota is {quota}",
            field="segment",
            fix=f"delete one with `mcopilot segment delete NAME -w {slug}`, "
            "or raise MCOPILOT_SEGMENT_QUOTA",
        )
    now = utcnow()
    segment = SegmentDefinition(
        id=new_id("seg"),
        workspace_id=workspace_id,
        name=name,
        description=description,
        criteria=criteria,
        channel=channel,
        include_unsubscribed=include_unsubscribed,
        drift_threshold_pct=float(drift_threshold_pct),
        population=None,
        computed_at=None,
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
    session.add(segment)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent create of the same name won
        raise Conflict(f"segment {name!r} exists already", field="NAME") from exc
    return segment


def delete(session: Session, segment: SegmentDefinition) -> None:
    """The segment with its members, runs and changes (its domain events stay: history).
    Members and changes are derived rows without foreign keys: deleted here, not cascaded."""
    session.execute(sql_delete(SegmentMember).where(SegmentMember.segment_id == segment.id))
    runs = select(SegmentRun.id).where(SegmentRun.segment_id == segment.id)
    session.execute(sql_delete(SegmentChange).where(SegmentChange.run_id.in_(runs)))
    session.execute(sql_delete(SegmentDefinition).where(SegmentDefinition.id == segment.id))
    session.expunge(segment)


def ensure_seed_segments(
    session: Session, workspace_id: str, *, quota: int | None = None
) -> list[SegmentDefinition]:
    """The seed's five segments (channel email), created where missing; the ones created.

    With a quota they count against it like any other; without one they are always made.
    """
    created = []
    for name, criteria, description in SEED_SEGMENTS:
        if get(session, workspace_id, name) is None:
            created.append(
                create(
                    session,
                    workspace_id=workspace_id,
                    name=name,
                    criteria=criteria,
                    quota=quota,
                    channel="email",
                    description=description,
                    created_by="seed",
                )
            )
    return created


def active_customers(session: Session, workspace_id: str) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Customer)
            .where(Customer.workspace_id == workspace_id, Customer.merged_into.is_(None))
        )
        or 0
    )


def require_features(session: Session, workspace_id: str) -> date | None:
    """The day of the workspace's features (None when it has no customers at all); Conflict
    when it has customers but they were never scored."""
    as_of = session.scalar(
        select(func.max(CustomerFeatures.as_of)).where(
            CustomerFeatures.workspace_id == workspace_id
        )
    )
    if as_of is None and active_customers(session, workspace_id):
        slug = _slug(session, workspace_id)
        raise Conflict(
            "the workspace's customers have no features yet, so segments cannot be computed",
            field="workspace",
            fix=f"run `mcopilot score run -w {slug}` first",
        )
    return as_of


def unscored_customers(session: Session, workspace_id: str) -> int:
    """Active customers without features."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Customer)
            .where(
                Customer.workspace_id == workspace_id,
                Customer.merged_into.is_(None),
                ~exists().where(
                    CustomerFeatures.workspace_id == Customer.workspace_id,
                    CustomerFeatures.customer_id == Customer.id,
                ),
            )
        )
        or 0
    )


def criteria_warnings(
    session: Session,
    workspace_id: str,
    criterion: Criterion,
    as_of: date | None,
    unscored: int | None = None,
) -> list[str]:
    """What makes a result suspicious though not wrong: unscored customers, no RFM snapshot for
    the features' day, categories nobody bought (names match exactly). A caller refreshing
    several segments in one transaction passes `unscored_customers` counted once."""
    if as_of is None:
        return []
    warnings = []
    slug = _slug(session, workspace_id)
    if unscored is None:
        unscored = unscored_customers(session, workspace_id)
    if unscored:
        who = "1 active customer has" if unscored == 1 else f"{unscored} active customers have"
        warnings.append(
            f"{who} no features yet, so their feature values are missing; "
            f"run `mcopilot score run -w {slug}`"
        )
    used = fields_used(criterion)
    if any(spec_for(name).source is Source.RFM for name in used):
        has_rfm = session.scalar(
            select(
                exists().where(RfmSnapshot.workspace_id == workspace_id, RfmSnapshot.as_of == as_of)
            )
        )
        if not has_rfm:
            warnings.append(
                f"no RFM snapshot as of {as_of} (the features' day), so rfm.* values are missing; "
                f"run `mcopilot score rfm -w {slug} --as-of {as_of}`"
            )
    named = {
        value
        for c in conditions(criterion)
        if spec_for(c.field, c.test, c.operand).type is FieldType.CATEGORIES and c.test != "exists"
        for value in c.operand
    }
    # Each named category looked up alone (a scan stops at its first buyer); the workspace's
    # categories listed only for a warning (a scan of every customer's categories).
    missing = [
        name
        for name in sorted(named)
        if not session.scalar(
            select(
                exists().where(
                    CustomerCategory.workspace_id == workspace_id,
                    CustomerCategory.category == name,
                )
            )
        )
    ]
    if missing:
        known = set(
            session.scalars(
                select(CustomerCategory.category)
                .where(CustomerCategory.workspace_id == workspace_id)
                .distinct()
            )
        )
        for name in missing:
            listed = ", ".join(sorted(known)[:10]) or "none"
            warnings.append(
                f"no customer bought a category named {name!r} (names match exactly; "
                f"known: {listed})"
            )
    return warnings


def _ref(row: Any) -> CustomerRef:
    return CustomerRef(row.id, row.user_id, row.email)


def preview(
    session: Session,
    *,
    workspace_id: str,
    criteria: Any,
    channel: str | None = None,
    include_unsubscribed: bool = False,
    limit: int = 10,
) -> Preview:
    """How many customers the criteria select now, and a few of them; nothing is saved."""
    check_limit(limit)
    criterion = parse_criteria(criteria)
    check_channel(channel, field="--channel")
    as_of = require_features(session, workspace_id)
    analyze_stale(session, SEGMENT_TABLES)
    query = segment_query(workspace_id, criterion, channel, include_unsubscribed)
    population = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    sample = session.execute(
        query.with_only_columns(Customer.id, Customer.user_id, Customer.email)
        .order_by(Customer.id)
        .limit(limit)
    ).all()
    return Preview(
        population=population,
        active_customers=active_customers(session, workspace_id),
        sample=[_ref(row) for row in sample],
        warnings=criteria_warnings(session, workspace_id, criterion, as_of),
    )


def members(session: Session, segment: SegmentDefinition, *, limit: int = 100) -> list[Member]:
    """The stored members, longest-standing first."""
    check_limit(limit)
    rows = session.execute(
        select(Customer.id, Customer.user_id, Customer.email, SegmentMember.entered_at)
        .join(Customer, Customer.id == SegmentMember.customer_id)
        .where(SegmentMember.segment_id == segment.id)
        .order_by(SegmentMember.entered_at, SegmentMember.customer_id)
        .limit(limit)
    ).all()
    return [Member(_ref(row), row.entered_at) for row in rows]


def resolve_customer(session: Session, workspace_id: str, ref: str) -> tuple[Customer, str | None]:
    """The active customer a userId, email, identity or internal id points at, and the id of
    the merged profile it was reached through (None when ref named it directly)."""
    ref = (ref or "").strip()
    in_workspace = Customer.workspace_id == workspace_id
    customer = session.scalars(select(Customer).where(in_workspace, Customer.id == ref)).first()
    customer = (
        customer
        or session.scalars(select(Customer).where(in_workspace, Customer.user_id == ref)).first()
    )
    if customer is None:
        owner = session.scalars(
            select(CustomerIdentity.customer_id)
            .where(CustomerIdentity.workspace_id == workspace_id, CustomerIdentity.value == ref)
            .limit(1)
        ).first()
        if owner is not None:
            customer = session.get(Customer, owner)
    if customer is None and "@" in ref:
        matches_ = list(
            session.scalars(
                select(Customer).where(
                    in_workspace,
                    Customer.merged_into.is_(None),
                    func.lower(Customer.email) == ref.lower(),
                )
            )
        )
        if len(matches_) > 1:
            raise Conflict(
                f"{len(matches_)} customers have the email {ref!r}",
                field="CUSTOMER",
                fix="pass the userId or the customer id instead",
            )
        customer = matches_[0] if matches_ else None
    if customer is None:
        raise NotFound(
            f"no customer {ref!r} in this workspace",
            field="CUSTOMER",
            fix="pass the customer's userId, email or id",
        )
    resolved_from = None
    for _ in range(20):  # follow merges to the surviving profile
        if customer.merged_into is None:
            break
        resolved_from = resolved_from or customer.id
        survivor = session.get(Customer, customer.merged_into)
        if survivor is None:
            break
        customer = survivor
    return customer, resolved_from


def explain(session: Session, segment: SegmentDefinition, ref: str) -> Explanation:
    """Each criterion with the customer's actual value, the consent exclusion, and whether the
    stored membership agrees with the live check."""
    criterion = criterion_of(segment)
    customer, resolved_from = resolve_customer(session, segment.workspace_id, ref)
    values = load_field_values(session, segment.workspace_id, customer.id)
    assert values is not None
    check = evaluate(criterion, values)
    excluded = unsubscribed(values, segment.channel, segment.include_unsubscribed)
    member_since = session.scalar(
        select(SegmentMember.entered_at).where(
            SegmentMember.segment_id == segment.id, SegmentMember.customer_id == customer.id
        )
    )
    notes = []
    if resolved_from:
        notes.append(f"{resolved_from} was merged into {customer.id}; explaining {customer.id}")
    has_features = session.scalar(
        select(
            exists().where(
                CustomerFeatures.workspace_id == segment.workspace_id,
                CustomerFeatures.customer_id == customer.id,
            )
        )
    )
    if not has_features:
        notes.append("the customer has no features yet, so feature values are missing")
    if customer.merged_into is not None:
        notes.append("the customer is a merged profile and is never a member")
    live = matches(criterion, values) and excluded is None and customer.merged_into is None
    if segment.computed_at is not None and (member_since is not None) != live:
        notes.append(
            "the stored membership predates the current values; "
            "run `mcopilot segment refresh` to bring it up to date"
        )
    return Explanation(
        segment=segment.name,
        customer=CustomerRef(customer.id, customer.user_id, customer.email),
        resolved_from=resolved_from,
        check=check,
        excluded=excluded,
        in_segment=live,
        computed=segment.computed_at is not None,
        member_since=member_since,
        notes=notes,
    )
