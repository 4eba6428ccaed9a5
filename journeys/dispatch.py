"""Dispatch: the only caller of channel adapters, and only through the execution gate."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import ConfigurationError
from core.models import CustomerIdentity
from core.settings import Settings
from guardrails.delivery import ChannelAdapter
from guardrails.gate import ExecutionRequest, GateResult, execute
from journeys.channels.email import SmtpEmailAdapter

ADDRESS_KINDS = {"email": "email"}


def adapter_for(channel: str, settings: Settings) -> ChannelAdapter:
    """The adapter that delivers on the channel, built from settings."""
    if channel == "email":
        return SmtpEmailAdapter(settings)
    raise ConfigurationError(
        f"no {channel} channel is set up", field="channel", fix="send on email (SMTP) for now"
    )


def recipient_of(session: Session, workspace_id: str, customer_id: str, channel: str) -> str:
    """The customer's address on the channel (their email for email), or "" when unknown."""
    kind = ADDRESS_KINDS.get(channel)
    if kind is None:
        return ""
    address = session.scalars(
        select(CustomerIdentity.value)
        .where(
            CustomerIdentity.workspace_id == workspace_id,
            CustomerIdentity.customer_id == customer_id,
            CustomerIdentity.kind == kind,
        )
        .order_by(CustomerIdentity.value)
        .limit(1)
    ).first()
    return address or ""


def dispatch(
    session: Session,
    request: ExecutionRequest,
    *,
    settings: Settings,
    now: datetime | None = None,
    adapter: ChannelAdapter | None = None,
) -> GateResult:
    """Address the request, pick its channel's adapter (or use the one a worker keeps open),
    and hand both to the gate."""
    recipient = request.recipient or recipient_of(
        session, request.workspace_id, request.customer_id, request.channel
    )
    if not recipient:
        raise ConfigurationError(
            f"customer {request.customer_id!r} has no {request.channel} address",
            field="customer",
            fix="identify the customer with an email first",
        )
    return execute(
        session,
        replace(request, recipient=recipient),
        adapter or adapter_for(request.channel, settings),
        settings=settings,
        now=now,
    )
