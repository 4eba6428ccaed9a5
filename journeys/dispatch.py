"""Dispatch: the only caller of channel adapters, and only through the execution gate."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import ConfigurationError
from core.models import Customer, CustomerIdentity
from core.settings import Settings
from guardrails.contact_state import customer_not_found
from guardrails.delivery import ChannelAdapter
from guardrails.gate import ExecutionRequest, GateResult, execute
from journeys.channels.email import SmtpEmailAdapter
from journeys.channels.webhook import URL_SETTINGS, WEBHOOK_CHANNELS, WebhookAdapter, webhook_url
from journeys.templates import customer_variables

# The identity kind that addresses a customer on each channel; in-app is addressed by the
# customer's own id. Identities of kind `phone` and `device_token` come from the data loader or
# the API that records them (Segment identify records user_id, anonymous_id and email).
ADDRESS_KINDS = {"email": "email", "sms": "phone", "push": "device_token"}
BY_CUSTOMER_ID = "in_app"


def adapter_for(channel: str, settings: Settings) -> ChannelAdapter:
    """The adapter that delivers on the channel, built from settings; ConfigurationError
    naming the setting when the channel is not set up."""
    if channel == "email":
        if not settings.smtp_host:
            raise ConfigurationError(
                "email is not set up", field="MCOPILOT_SMTP_HOST", fix="name the SMTP server"
            )
        return SmtpEmailAdapter(settings)
    if channel in WEBHOOK_CHANNELS:
        if not webhook_url(settings, channel):
            raise ConfigurationError(
                f"{channel} is not set up",
                field=URL_SETTINGS[channel],
                fix=f"set the {channel} provider's endpoint and MCOPILOT_WEBHOOK_SECRET",
            )
        return WebhookAdapter(channel, settings)
    raise ConfigurationError(
        f"no {channel} channel is set up",
        field="channel",
        fix=f"send on email or {', '.join(WEBHOOK_CHANNELS)}",
    )


def recipient_of(session: Session, workspace_id: str, customer_id: str, channel: str) -> str:
    """The customer's address on the channel (email, phone, device token; their id in-app),
    or "" when unknown."""
    if channel == BY_CUSTOMER_ID:
        return customer_id
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


def variables_of(session: Session, workspace_id: str, customer_id: str) -> dict[str, Any]:
    """The customer's fields a template may read: traits, user_id, email, locale, timezone."""
    customer = session.scalars(
        select(Customer).where(Customer.workspace_id == workspace_id, Customer.id == customer_id)
    ).one_or_none()
    if customer is None:
        raise customer_not_found(customer_id)
    return customer_variables(
        customer.traits or {},
        customer_id=customer.id,
        user_id=customer.user_id,
        email=customer.email,
        locale=customer.locale,
        timezone=customer.timezone,
    )


def dispatch(
    session: Session,
    request: ExecutionRequest,
    *,
    settings: Settings,
    now: datetime | None = None,
    adapter: ChannelAdapter | None = None,
) -> GateResult:
    """Address the request, fill in the customer's template fields (the request's own variables
    win), pick its channel's adapter (or use the one a worker keeps open), and hand all of it
    to the gate."""
    recipient = request.recipient or recipient_of(
        session, request.workspace_id, request.customer_id, request.channel
    )
    if not recipient:
        kind = ADDRESS_KINDS.get(request.channel, "address")
        raise ConfigurationError(
            f"customer {request.customer_id!r} has no {request.channel} address",
            field="customer",
            fix=f"record the customer's {kind} identity first",
        )
    variables = {
        **variables_of(session, request.workspace_id, request.customer_id),
        **request.variables,
    }
    return execute(
        session,
        replace(request, recipient=recipient, variables=variables),
        adapter or adapter_for(request.channel, settings),
        settings=settings,
        now=now,
    )
