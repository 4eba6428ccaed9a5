"""Load what the contact decision needs about customers: two indexed, workspace-scoped queries
for one customer or a whole batch (the profiles, then consent, suppressions, bounces and recent
touches in one UNION ALL).

With `lock=True` the customer's row is locked (`SELECT ... FOR UPDATE` on PostgreSQL) until the
transaction ends, and `opt_out` takes the same lock: an opt-out and a send to the same customer
never interleave, so an opt-out is seen by the very next send.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
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


def lock_customers(
    session: Session, workspace_id: str, customer_ids: Collection[str]
) -> dict[str, str | None]:
    """Lock the customers' rows in id order (so two batches never deadlock) for the rest of
    the transaction; their time zones. NotFound naming the first one not in the workspace."""
    wanted = sorted(set(customer_ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(Customer.id, Customer.timezone)
        .where(Customer.workspace_id == workspace_id, Customer.id.in_(wanted))
        .order_by(Customer.id)
        .with_for_update()
    ).all()
    found = {customer_id: timezone for customer_id, timezone in rows}
    for customer_id in wanted:
        if customer_id not in found:
            raise customer_not_found(customer_id)
    return found


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
    states = load_customer_states(
        session, workspace_id, {customer_id: found.timezone}, now, lookback=lookback
    )
    return states[customer_id]


def load_customer_states(
    session: Session,
    workspace_id: str,
    timezones: Mapping[str, str | None],
    now: datetime,
    *,
    lookback: timedelta = MIN_LOOKBACK,
) -> dict[str, CustomerState]:
    """The state of each customer in `timezones` (customer id -> time zone, as
    `lock_customers` returns them), read in one UNION ALL query."""
    ids = sorted(timezones)
    if not ids:
        return {}
    since = now - lookback
    consent = select(
        ChannelConsent.customer_id.label("customer_id"),
        literal("consent", String).label("kind"),
        ChannelConsent.channel.label("channel"),
        ChannelConsent.status.label("a"),
        ChannelConsent.source.label("b"),
        ChannelConsent.recorded_at.label("at"),
        cast(false(), Boolean).label("flag"),
    ).where(ChannelConsent.workspace_id == workspace_id, ChannelConsent.customer_id.in_(ids))
    suppressions = select(
        Suppression.customer_id,
        literal("suppression", String),
        Suppression.channel,
        Suppression.reason,
        Suppression.source,
        Suppression.created_at,
        cast(false(), Boolean),
    ).where(Suppression.workspace_id == workspace_id, Suppression.customer_id.in_(ids))
    email = select(
        EmailEvent.customer_id,
        literal("email_event", String),
        literal("email", String),
        EmailEvent.type,
        EmailEvent.campaign_id,
        EmailEvent.occurred_at,
        cast(false(), Boolean),
    ).where(
        EmailEvent.workspace_id == workspace_id,
        EmailEvent.customer_id.in_(ids),
        EmailEvent.occurred_at <= now,
        (EmailEvent.type.in_(SUPPRESSING_EMAIL_EVENTS))
        | ((EmailEvent.type == "sent") & (EmailEvent.occurred_at >= since)),
    )
    touches = select(
        CustomerTouch.customer_id,
        literal("touch", String),
        CustomerTouch.channel,
        CustomerTouch.action_id,
        CustomerTouch.trigger_id,
        CustomerTouch.occurred_at,
        CustomerTouch.high_value,
    ).where(
        CustomerTouch.workspace_id == workspace_id,
        CustomerTouch.customer_id.in_(ids),
        CustomerTouch.occurred_at >= since,
        CustomerTouch.occurred_at <= now,
    )
    consents: dict[str, dict[str, ConsentRecord]] = {c: {} for c in ids}
    suppressed: dict[str, list[SuppressionEntry]] = {c: [] for c in ids}
    recent: dict[str, list[Touch]] = {c: [] for c in ids}
    for customer_id, kind, channel, a, b, at, flag in session.execute(
        union_all(consent, suppressions, email, touches)
    ):
        at = _aware(at)
        if kind == "consent":
            consents[customer_id][channel] = ConsentRecord(a, b, at)
        elif kind == "suppression":
            suppressed[customer_id].append(SuppressionEntry(channel, a, b, at))
        elif kind == "email_event" and a in SUPPRESSING_EMAIL_EVENTS:
            suppressed[customer_id].append(
                SuppressionEntry("email", a, f"email event, campaign {b}", at)
            )
        elif kind == "email_event":  # an email sent by another tool still counts against caps
            recent[customer_id].append(Touch("email", f"campaign:{b}", at))
        else:
            recent[customer_id].append(Touch(channel, a, at, trigger_id=b, high_value=bool(flag)))
    return {
        customer_id: CustomerState(
            customer_id=customer_id,
            timezone=timezones[customer_id],
            consent=consents[customer_id],
            suppressions=tuple(suppressed[customer_id]),
            touches=tuple(sorted(recent[customer_id], key=lambda t: t.occurred_at)),
        )
        for customer_id in ids
    }


def _aware(value: datetime) -> datetime:
    """UTC and timezone-aware, whatever the driver returned for the UNION's column."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
