"""Provider feedback and unsubscribe links, applied: the database edge of `journeys.feedback`.

Every event is tied to the send it is about through `executions.provider_message_id` (and its
channel), which also names the workspace and the customer. A new event is recorded in
`message_events`, whose unique (workspace, event id) makes a redelivered event a no-op; then
its effect: email events also land in `email_events`, hard bounces and complaints suppress, an
unsubscribe opts the customer out at once (consent revoked, suppressed, `customer.opted_out` for
the journeys). Suppressions and opt-outs are audited. Nothing here commits: the request does.

Lock order, as the execution gate's: every customer the request is about is locked first, all
at once in id order (the rows each event writes point at its customer, so even an open takes a
key-share lock on it), and the audit records are appended last, in one go; so a request about
several customers never holds the audit head, or one customer, while it waits for a customer a
worker's batch holds (that worker waiting for it: a deadlock, and a rolled-back batch).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.models import CHANNELS, ChannelConsent, EmailEvent, Execution, MessageEvent, Suppression
from core.settings import Settings
from core.sql import dialect_insert
from guardrails import suppressions
from guardrails.audit.entry import Entry, build_entry
from guardrails.audit.service import append, append_each
from guardrails.contact_state import lock_customer, lock_customers
from guardrails.opt_out import opt_out
from journeys.feedback import FeedbackEvent, effect_of
from journeys.unsubscribe import UnsubscribeToken

FEEDBACK_ACTOR = "provider:feedback"
LINK_ACTOR = "customer:unsubscribe-link"
Status = Literal["applied", "duplicate", "ignored"]


@dataclass(frozen=True, slots=True)
class Outcome:
    event_id: str
    status: Status
    detail: str


def _execution_of(session: Session, event: FeedbackEvent) -> Execution | str:
    """The send the event is about, or why there is none to tie it to."""
    found = session.scalars(
        select(Execution)
        .where(
            Execution.provider_message_id == event.provider_message_id,
            Execution.channel == event.channel,
        )
        .limit(2)
    ).all()
    if not found:
        return f"no {event.channel} message {event.provider_message_id!r} was sent from here"
    if len(found) > 1:
        return f"message id {event.provider_message_id!r} names more than one send"
    return found[0]


def _claim(session: Session, event: FeedbackEvent, execution: Execution, now: datetime) -> bool:
    """Record the event; False when this workspace has it already (the database decides)."""
    statement = (
        dialect_insert(session)(MessageEvent)
        .values(
            workspace_id=execution.workspace_id,
            event_id=event.id,
            execution_id=execution.id,
            customer_id=execution.customer_id,
            channel=event.channel,
            type=event.type,
            bounce_type=event.bounce_type,
            provider_message_id=event.provider_message_id,
            occurred_at=event.occurred_at,
            received_at=now,
        )
        .on_conflict_do_nothing(index_elements=["workspace_id", "channel", "event_id"])
        .returning(MessageEvent.id)
    )
    return session.execute(statement).scalar_one_or_none() is not None


def _source(event: FeedbackEvent) -> str:
    return f"{event.channel} {event.type} feedback, event {event.id}"[: suppressions.SOURCE_MAX]


def _lock(session: Session, executions: list[Execution | str]) -> None:
    """Lock the customers of the events' sends, per workspace in id order, before anything
    else is locked."""
    customers: dict[str, set[str]] = {}
    for execution in executions:
        if isinstance(execution, Execution):
            customers.setdefault(execution.workspace_id, set()).add(execution.customer_id)
    for workspace_id, ids in sorted(customers.items()):
        lock_customers(session, workspace_id, ids)


def _apply(
    session: Session, event: FeedbackEvent, execution: Execution
) -> tuple[str, Entry | None]:
    """The event's effect beyond its record: what it did, in a few words, and its audit entry
    (appended by the caller, last). Its customer is locked already."""
    effect = effect_of(event)
    ws, customer = execution.workspace_id, execution.customer_id
    if effect.email_event is not None:
        session.add(
            EmailEvent(
                workspace_id=ws,
                customer_id=customer,
                campaign_id=(execution.trigger_id or execution.approval_item_id)[:100],
                type=effect.email_event,
                occurred_at=event.occurred_at,
            )
        )
    inputs = {
        "event_id": event.id,
        "type": event.type,
        "channel": event.channel,
        "customer_id": customer,
        "execution_id": execution.id,
        "bounce_type": event.bounce_type,
    }
    if effect.suppress is not None:
        added = suppressions.add(
            session,
            ws,
            customer,
            channel=event.channel,
            reason=effect.suppress,
            source=_source(event),
            now=event.occurred_at,
        )
        decision = "suppressed" if added else "already_suppressed"
        entry = build_entry(
            actor=FEEDBACK_ACTOR,
            action=f"feedback.{event.type}",
            inputs=inputs,
            decision=decision,
            result={"channel": event.channel, "reason": effect.suppress},
        )
        return f"{decision.replace('_', ' ')} on {event.channel} ({effect.suppress})", entry
    if effect.opt_out is not None:
        done = opt_out(session, ws, customer, effect.opt_out, _source(event))
        entry = build_entry(
            actor=FEEDBACK_ACTOR,
            action="feedback.unsubscribe",
            inputs=inputs,
            decision="opted_out",
            result={"scope": effect.opt_out, "newly_revoked": list(done.newly_revoked)},
        )
        return f"opted out of {effect.opt_out}", entry
    return "recorded", None


def record_feedback(
    session: Session,
    events: list[FeedbackEvent],
    *,
    settings: Settings,
    now: datetime | None = None,
) -> list[Outcome]:
    """Apply each event once, in order; an event about no known send is ignored (not an error
    a provider should retry). The customers first, the audit records last (see above)."""
    now = now or utcnow()
    found = [(event, _execution_of(session, event)) for event in events]
    _lock(session, [execution for _, execution in found])
    outcomes: list[Outcome] = []
    entries: list[tuple[str, Entry]] = []
    for event, execution in found:
        if isinstance(execution, str):
            outcomes.append(Outcome(event.id, "ignored", execution))
            continue
        if not _claim(session, event, execution, now):
            outcomes.append(Outcome(event.id, "duplicate", "seen before; nothing changed"))
            continue
        detail, entry = _apply(session, event, execution)
        if entry is not None:
            entries.append((execution.workspace_id, entry))
        outcomes.append(Outcome(event.id, "applied", detail))
    append_each(session, entries, settings=settings)
    session.flush()
    return outcomes


@dataclass(frozen=True, slots=True)
class Unsubscribed:
    customer_id: str
    channel: str
    already: bool


def _already_out(session: Session, token: UnsubscribeToken) -> bool:
    """Whether every channel the token names is revoked and suppressed already."""
    channels = CHANNELS if token.channel == "all" else (token.channel,)
    revoked = set(
        session.scalars(
            select(ChannelConsent.channel).where(
                ChannelConsent.workspace_id == token.workspace_id,
                ChannelConsent.customer_id == token.customer_id,
                ChannelConsent.status == "revoked",
            )
        )
    )
    suppressed = session.scalars(
        select(Suppression.id).where(
            Suppression.workspace_id == token.workspace_id,
            Suppression.customer_id == token.customer_id,
            Suppression.channel == token.channel,
            Suppression.reason == "unsubscribe",
        )
    ).first()
    return suppressed is not None and set(channels) <= revoked


def unsubscribe(
    session: Session,
    token: UnsubscribeToken,
    *,
    via: str,
    settings: Settings,
    now: datetime | None = None,
) -> Unsubscribed:
    """Opt the customer the (verified) token names out of its channel, at once, audited; a
    second use changes nothing and says so."""
    lock_customer(session, token.workspace_id, token.customer_id)
    already = _already_out(session, token)
    if not already:
        opt_out(
            session,
            token.workspace_id,
            token.customer_id,
            token.channel,
            f"unsubscribe link ({via})",
            now=now,
        )
    append(
        session,
        token.workspace_id,
        actor=LINK_ACTOR,
        action="unsubscribe.link",
        inputs={"customer_id": token.customer_id, "channel": token.channel, "via": via},
        decision="already_opted_out" if already else "opted_out",
        settings=settings,
    )
    return Unsubscribed(token.customer_id, token.channel, already)
