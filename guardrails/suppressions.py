"""The suppression list of a workspace: add, remove, list, and import from customer events.

A suppression is per customer, per channel (or `all`) and per reason (bounce, complaint,
unsubscribe, manual), with its source and time. Adding twice is a no-op (a unique constraint,
not a check-then-insert). Removing one records a `suppression.removed` domain event, so the
list can be reconstructed. Services never commit: the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, exists, func, insert, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.errors import InvalidInput, NotFound
from core.models import (
    ALL_CHANNELS,
    CHANNELS,
    SUPPRESSION_REASONS,
    ChannelConsent,
    Customer,
    DomainEvent,
    EmailEvent,
    Suppression,
)
from core.sql import dialect_insert

SOURCE_MAX = 200
EVENT_REASONS = {"bounce": "bounce", "complaint": "complaint"}
UNSUBSCRIBE_SOURCE_PREFIX = "unsubscribe:"
OPTED_OUT = "customer.opted_out"


def validate_channel(channel: str, *, field: str = "channel") -> str:
    if channel not in (*CHANNELS, ALL_CHANNELS):
        raise InvalidInput(
            f"unknown channel {channel!r}",
            field=field,
            fix=f"use one of {', '.join((*CHANNELS, ALL_CHANNELS))}",
        )
    return channel


def validate_reason(reason: str, *, field: str = "reason") -> str:
    if reason not in SUPPRESSION_REASONS:
        raise InvalidInput(
            f"unknown reason {reason!r}",
            field=field,
            fix=f"use one of {', '.join(SUPPRESSION_REASONS)}",
        )
    return reason


def validate_source(source: str, *, field: str = "source") -> str:
    source = " ".join((source or "").split())
    if not source:
        raise InvalidInput(
            "a suppression needs its source", field=field, fix="say who or what asked for it"
        )
    if len(source) > SOURCE_MAX:
        raise InvalidInput(f"longer than {SOURCE_MAX} characters", field=field)
    return source


def _customer_in(session: Session, workspace_id: str, customer_id: str) -> None:
    found = session.scalars(
        select(Customer.id).where(Customer.workspace_id == workspace_id, Customer.id == customer_id)
    ).one_or_none()
    if found is None:
        raise NotFound(f"no customer {customer_id!r} in this workspace", field="customer")


def add(
    session: Session,
    workspace_id: str,
    customer_id: str,
    *,
    channel: str,
    reason: str,
    source: str,
    now: datetime | None = None,
) -> bool:
    """Suppress the customer on the channel (or `all`); False when it was suppressed already
    for that reason."""
    validate_channel(channel)
    validate_reason(reason)
    source = validate_source(source)
    _customer_in(session, workspace_id, customer_id)
    statement = (
        dialect_insert(session)(Suppression)
        .values(
            workspace_id=workspace_id,
            customer_id=customer_id,
            channel=channel,
            reason=reason,
            source=source,
            created_at=now or utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["workspace_id", "customer_id", "channel", "reason"])
        .returning(Suppression.id)
    )
    return session.execute(statement).scalar() is not None


def remove(
    session: Session,
    workspace_id: str,
    customer_id: str,
    *,
    channel: str,
    reason: str | None,
    source: str,
    now: datetime | None = None,
) -> int:
    """Lift the customer's suppressions on the channel (of one reason, or all reasons); how
    many were lifted. Consent is untouched: a revoked opt-in still blocks."""
    validate_channel(channel)
    if reason is not None:
        validate_reason(reason)
    source = validate_source(source)
    _customer_in(session, workspace_id, customer_id)
    where = [
        Suppression.workspace_id == workspace_id,
        Suppression.customer_id == customer_id,
        Suppression.channel == channel,
    ]
    if reason is not None:
        where.append(Suppression.reason == reason)
    lifted = session.scalars(select(Suppression).where(*where)).all()
    if not lifted:
        return 0
    session.execute(delete(Suppression).where(Suppression.id.in_([s.id for s in lifted])))
    session.add_all(
        DomainEvent(
            workspace_id=workspace_id,
            name="suppression.removed",
            customer_id=customer_id,
            payload={
                "channel": s.channel,
                "reason": s.reason,
                "source": s.source,
                "created_at": s.created_at.isoformat(),
                "removed_by": source,
            },
            occurred_at=now or utcnow(),
        )
        for s in lifted
    )
    session.flush()
    return len(lifted)


@dataclass(frozen=True, slots=True)
class Listed:
    customer_id: str
    user_id: str | None
    channel: str
    reason: str
    source: str
    created_at: datetime


def list_(
    session: Session,
    workspace_id: str,
    *,
    customer_id: str | None = None,
    channel: str | None = None,
    reason: str | None = None,
    limit: int = 100,
) -> list[Listed]:
    """Suppressions, newest first, optionally of one customer, channel or reason."""
    query = (
        select(
            Suppression.customer_id,
            Customer.user_id,
            Suppression.channel,
            Suppression.reason,
            Suppression.source,
            Suppression.created_at,
        )
        .join(
            Customer,
            and_(Customer.id == Suppression.customer_id, Customer.workspace_id == workspace_id),
        )
        .where(Suppression.workspace_id == workspace_id)
        .order_by(Suppression.created_at.desc(), Suppression.id.desc())
        .limit(limit)
    )
    if customer_id is not None:
        query = query.where(Suppression.customer_id == customer_id)
    if channel is not None:
        query = query.where(Suppression.channel == validate_channel(channel))
    if reason is not None:
        query = query.where(Suppression.reason == validate_reason(reason))
    return [Listed(*row) for row in session.execute(query)]


@dataclass(frozen=True, slots=True)
class ImportReport:
    bounces: int = 0
    complaints: int = 0
    unsubscribes: int = 0


def _not_suppressed(workspace_id: str, customer: object, channel: object, reason: object) -> object:
    return ~exists().where(
        Suppression.workspace_id == workspace_id,
        Suppression.customer_id == customer,
        Suppression.channel == channel,
        Suppression.reason == reason,
    )


def import_from_events(session: Session, workspace_id: str) -> ImportReport:
    """Suppress what imported customer events say: email bounces and complaints (email), and
    unsubscribes (the channel whose opt-in an `Unsubscribed` event revoked); each unsubscribe
    also emits `customer.opted_out` for journeys. Running it again adds nothing."""
    counts = {"bounce": 0, "complaint": 0, "unsubscribe": 0}
    email = session.execute(
        select(
            EmailEvent.customer_id,
            EmailEvent.type,
            func.min(EmailEvent.campaign_id),
            func.min(EmailEvent.occurred_at),
        )
        .where(
            EmailEvent.workspace_id == workspace_id,
            EmailEvent.type.in_(tuple(EVENT_REASONS)),
            _not_suppressed(workspace_id, EmailEvent.customer_id, "email", EmailEvent.type),
        )
        .group_by(EmailEvent.customer_id, EmailEvent.type)
    ).all()
    rows = [
        {
            "workspace_id": workspace_id,
            "customer_id": customer,
            "channel": "email",
            "reason": EVENT_REASONS[kind],
            "source": f"email event {kind}, campaign {campaign}"[:SOURCE_MAX],
            "created_at": at,
        }
        for customer, kind, campaign, at in email
    ]
    for row in rows:
        counts[row["reason"]] += 1
    unsubscribed = session.execute(
        select(
            ChannelConsent.customer_id,
            ChannelConsent.channel,
            ChannelConsent.source,
            ChannelConsent.recorded_at,
        ).where(
            ChannelConsent.workspace_id == workspace_id,
            ChannelConsent.status == "revoked",
            ChannelConsent.source.startswith(UNSUBSCRIBE_SOURCE_PREFIX),
            _not_suppressed(
                workspace_id, ChannelConsent.customer_id, ChannelConsent.channel, "unsubscribe"
            ),
        )
    ).all()
    for customer, channel, source, at in unsubscribed:
        rows.append(
            {
                "workspace_id": workspace_id,
                "customer_id": customer,
                "channel": channel,
                "reason": "unsubscribe",
                "source": f"event {source}"[:SOURCE_MAX],
                "created_at": at,
            }
        )
        counts["unsubscribe"] += 1
    if rows:
        session.execute(
            dialect_insert(session)(Suppression).on_conflict_do_nothing(
                index_elements=["workspace_id", "customer_id", "channel", "reason"]
            ),
            rows,
        )
    if unsubscribed:
        session.execute(
            insert(DomainEvent),
            [
                {
                    "workspace_id": workspace_id,
                    "name": OPTED_OUT,
                    "customer_id": customer,
                    "payload": {"channels": [channel], "scope": channel, "source": source},
                    "occurred_at": at,
                }
                for customer, channel, source, at in unsubscribed
            ],
        )
    session.flush()
    return ImportReport(counts["bounce"], counts["complaint"], counts["unsubscribe"])
