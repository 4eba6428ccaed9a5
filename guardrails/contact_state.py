"""Load what the contact decision needs about one customer: two indexed, workspace-scoped
queries (the profile, then consent, suppressions, bounces and recent touches in one UNION ALL).

With `lock=True` the customer's row is locked (`SELECT ... FOR UPDATE` on PostgreSQL) until the
transaction ends, and `opt_out` takes the same lock: an opt-out and a send to the same customer
never interleave, so an opt-out is seen by the very next send.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Boolean, String, cast, false, literal, select, union_all
from sqlalchemy.orm import Session

from core.contact_rules import Touch
from core.errors import NotFound
from core.models import ChannelConsent, Customer, CustomerTouch, EmailEvent, Suppression
from guardrails.contact import ConsentRecord, CustomerState, SuppressionEntry
from guardrails.contact_policy import ContactPolicy

SUPPRESSING_EMAIL_EVENTS = ("bounce", "complaint")
MIN_LOOKBACK = timedelta(days=7)


def lookback_of(policy: ContactPolicy) -> timedelta:
    """How far back touches matter: the longest window any rule looks at."""
    return max(
        MIN_LOOKBACK,
        timedelta(hours=policy.rules.trigger_window_hours),
        timedelta(days=policy.caps.high_value_cooldown_days),
    )


def customer_not_found(customer_id: str) -> NotFound:
    return NotFound(
        f"no customer {customer_id!r} in this workspace",
        field="customer",
        fix="name a customer by userId, email or id (see `mcopilot segment members`)",
    )


def lock_customer(session: Session, workspace_id: str, customer_id: str) -> Customer:
    """The customer's row, locked for the rest of the transaction; NotFound outside the
    workspace."""
    customer = session.scalars(
        select(Customer)
        .where(Customer.workspace_id == workspace_id, Customer.id == customer_id)
        .with_for_update()
    ).one_or_none()
    if customer is None:
        raise customer_not_found(customer_id)
    return customer


def load_customer_state(
    session: Session,
    workspace_id: str,
    customer_id: str,
    now: datetime,
    *,
    lookback: timedelta = MIN_LOOKBACK,
    lock: bool = False,
) -> CustomerState:
    """The customer's consent (with provenance), suppressions (stored, and email bounces and
    complaints not imported yet), touches since `now - lookback` and time zone."""
    query = select(Customer.timezone).where(
        Customer.workspace_id == workspace_id, Customer.id == customer_id
    )
    if lock:
        query = query.with_for_update()
    found = session.execute(query).one_or_none()
    if found is None:
        raise customer_not_found(customer_id)
    since = now - lookback
    consent = select(
        literal("consent", String).label("kind"),
        ChannelConsent.channel.label("channel"),
        ChannelConsent.status.label("a"),
        ChannelConsent.source.label("b"),
        ChannelConsent.recorded_at.label("at"),
        cast(false(), Boolean).label("flag"),
    ).where(ChannelConsent.workspace_id == workspace_id, ChannelConsent.customer_id == customer_id)
    suppressions = select(
        literal("suppression", String),
        Suppression.channel,
        Suppression.reason,
        Suppression.source,
        Suppression.created_at,
        cast(false(), Boolean),
    ).where(Suppression.workspace_id == workspace_id, Suppression.customer_id == customer_id)
    email = select(
        literal("email_event", String),
        literal("email", String),
        EmailEvent.type,
        EmailEvent.campaign_id,
        EmailEvent.occurred_at,
        cast(false(), Boolean),
    ).where(
        EmailEvent.workspace_id == workspace_id,
        EmailEvent.customer_id == customer_id,
        EmailEvent.occurred_at <= now,
        (EmailEvent.type.in_(SUPPRESSING_EMAIL_EVENTS))
        | ((EmailEvent.type == "sent") & (EmailEvent.occurred_at >= since)),
    )
    touches = select(
        literal("touch", String),
        CustomerTouch.channel,
        CustomerTouch.action_id,
        CustomerTouch.trigger_id,
        CustomerTouch.occurred_at,
        CustomerTouch.high_value,
    ).where(
        CustomerTouch.workspace_id == workspace_id,
        CustomerTouch.customer_id == customer_id,
        CustomerTouch.occurred_at >= since,
        CustomerTouch.occurred_at <= now,
    )
    rows = session.execute(union_all(consent, suppressions, email, touches)).all()
    consents: dict[str, ConsentRecord] = {}
    suppressed: list[SuppressionEntry] = []
    recent: list[Touch] = []
    for kind, channel, a, b, at, flag in rows:
        at = _aware(at)
        if kind == "consent":
            consents[channel] = ConsentRecord(a, b, at)
        elif kind == "suppression":
            suppressed.append(SuppressionEntry(channel, a, b, at))
        elif kind == "email_event" and a in SUPPRESSING_EMAIL_EVENTS:
            suppressed.append(SuppressionEntry("email", a, f"email event, campaign {b}", at))
        elif kind == "email_event":  # an email sent by another tool still counts against caps
            recent.append(Touch("email", f"campaign:{b}", at))
        else:
            recent.append(Touch(channel, a, at, trigger_id=b, high_value=bool(flag)))
    return CustomerState(
        customer_id=customer_id,
        timezone=found.timezone,
        consent=consents,
        suppressions=tuple(suppressed),
        touches=tuple(sorted(recent, key=lambda t: t.occurred_at)),
    )


def _aware(value: datetime) -> datetime:
    """UTC and timezone-aware, whatever the driver returned for the UNION's column."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
