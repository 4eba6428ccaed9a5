"""Opt-out: a customer leaves one channel or all of them, effective before the next send.

One transaction writes the revoked consent with its provenance, an `unsubscribe` suppression
and a `customer.opted_out` domain event that journeys consume to remove the customer from
active journeys. It locks the customer's row first, as the execution gate does when it loads
the customer's state, so a send in flight finishes before the opt-out, and every send after it
sees the opt-out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from core.clock import utcnow
from core.models import ALL_CHANNELS, CHANNELS, ChannelConsent, DomainEvent
from guardrails import suppressions
from guardrails.contact_state import lock_customer


@dataclass(frozen=True, slots=True)
class OptOut:
    customer_id: str
    channels: tuple[str, ...]
    newly_revoked: tuple[str, ...]
    event_id: int


def opt_out(
    session: Session,
    workspace_id: str,
    customer_id: str,
    channel: str,
    source: str,
    *,
    now: datetime | None = None,
) -> OptOut:
    """Revoke consent on `channel` (or `all`), suppress, and tell the journeys."""
    suppressions.validate_channel(channel)
    source = suppressions.validate_source(source)
    now = now or utcnow()
    lock_customer(session, workspace_id, customer_id)
    channels = CHANNELS if channel == ALL_CHANNELS else (channel,)
    newly: list[str] = []
    for each in channels:
        consent = session.get(ChannelConsent, (workspace_id, customer_id, each))
        if consent is None:
            consent = ChannelConsent(
                workspace_id=workspace_id, customer_id=customer_id, channel=each
            )
            session.add(consent)
        if consent.status != "revoked":
            newly.append(each)
        consent.status, consent.source, consent.recorded_at = "revoked", source, now
    suppressions.add(
        session,
        workspace_id,
        customer_id,
        channel=channel,
        reason="unsubscribe",
        source=source,
        now=now,
    )
    event = DomainEvent(
        workspace_id=workspace_id,
        name=suppressions.OPTED_OUT,
        customer_id=customer_id,
        payload={"channels": list(channels), "scope": channel, "source": source},
        occurred_at=now,
    )
    session.add(event)
    session.flush()
    return OptOut(customer_id, tuple(channels), tuple(newly), event.id)
