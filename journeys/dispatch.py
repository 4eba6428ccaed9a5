"""Dispatch: the only caller of channel adapters, and only through the execution gate.

`dispatch` sends one request; `dispatch_many` a worker's batch, addressed and filled with the
customers' fields in a few set-based queries, through `execute_many` in the caller's
transaction. A worker keeps its adapters open in an `AdapterPool` (one SMTP connection, one
HTTP client per channel) for as long as it runs.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import ConfigurationError
from core.models import Customer, CustomerIdentity
from core.settings import Settings
from guardrails.audit.entry import Entry
from guardrails.contact_state import customer_not_found
from guardrails.delivery import ChannelAdapter
from guardrails.gate import ExecutionRequest, GateResult, execute, execute_many
from journeys.channels.email import SmtpEmailAdapter
from journeys.channels.webhook import URL_SETTINGS, WEBHOOK_CHANNELS, WebhookAdapter, webhook_url
from journeys.templates import customer_variables

# The identity kind that addresses a customer on each channel; in-app is addressed by the
# customer's own id. `phone` comes from Segment identify `traits.phone` (E.164) and
# `device_token` from any message's `context.device.token` (scoring.contact_identities keeps
# one of each per customer); the demo data generator gives a share of customers both.
ADDRESS_KINDS = {"email": "email", "sms": "phone", "push": "device_token"}
BY_CUSTOMER_ID = "in_app"
# Which of a customer's identities of a kind addresses them: the latest claimed (a phone or
# device token carries when it was claimed), then the smallest value (an email has no date).
LATEST_FIRST = (CustomerIdentity.recorded_at.desc().nulls_last(), CustomerIdentity.value)


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


class AdapterPool(Mapping[str, ChannelAdapter]):
    """The adapters of one worker, built on first use from settings and kept open until
    `close()`. Looking up a channel that is not set up raises ConfigurationError."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._open: dict[str, ChannelAdapter] = {}

    def __getitem__(self, channel: str) -> ChannelAdapter:
        if channel not in self._open:
            self._open[channel] = adapter_for(channel, self._settings)
        return self._open[channel]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._open)

    def __len__(self) -> int:
        return len(self._open)

    def close(self) -> None:
        """Close every adapter opened (SMTP QUIT, HTTP clients closed)."""
        for adapter in self._open.values():
            _close(adapter)
        self._open.clear()


def _close(adapter: ChannelAdapter) -> None:
    close = getattr(adapter, "close", None)
    if callable(close):
        close()


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
        .order_by(*LATEST_FIRST)
        .limit(1)
    ).first()
    return address or ""


def recipients_of(
    session: Session, workspace_id: str, customer_ids: Collection[str], channel: str
) -> dict[str, str]:
    """`recipient_of` for many customers in one query (those without an address left out)."""
    if channel == BY_CUSTOMER_ID:
        return {customer_id: customer_id for customer_id in customer_ids}
    kind = ADDRESS_KINDS.get(channel)
    if kind is None or not customer_ids:
        return {}
    rows = session.execute(
        select(CustomerIdentity.customer_id, CustomerIdentity.value)
        .where(
            CustomerIdentity.workspace_id == workspace_id,
            CustomerIdentity.customer_id.in_(sorted(set(customer_ids))),
            CustomerIdentity.kind == kind,
        )
        .order_by(CustomerIdentity.customer_id, *LATEST_FIRST)
    )
    found: dict[str, str] = {}
    for customer_id, value in rows:
        if value:
            found.setdefault(customer_id, value)  # the first row of each customer's is theirs
    return found


def fields_of(customer: Customer) -> dict[str, Any]:
    """The customer's template fields: traits, user_id, email, locale, timezone."""
    return customer_variables(
        customer.traits or {},
        customer_id=customer.id,
        user_id=customer.user_id,
        email=customer.email,
        locale=customer.locale,
        timezone=customer.timezone,
    )


def variables_of_many(
    session: Session, workspace_id: str, customer_ids: Collection[str]
) -> dict[str, dict[str, Any]]:
    """`variables_of` for many customers in one query (unknown customers left out)."""
    if not customer_ids:
        return {}
    customers = session.scalars(
        select(Customer).where(
            Customer.workspace_id == workspace_id, Customer.id.in_(sorted(set(customer_ids)))
        )
    )
    return {customer.id: fields_of(customer) for customer in customers}


def variables_of(session: Session, workspace_id: str, customer_id: str) -> dict[str, Any]:
    """The customer's fields a template may read: traits, user_id, email, locale, timezone."""
    customer = session.scalars(
        select(Customer).where(Customer.workspace_id == workspace_id, Customer.id == customer_id)
    ).one_or_none()
    if customer is None:
        raise customer_not_found(customer_id)
    return fields_of(customer)


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
        raise _no_address(request)
    variables = {
        **variables_of(session, request.workspace_id, request.customer_id),
        **request.variables,
    }
    own = adapter is None
    adapter = adapter or adapter_for(request.channel, settings)
    try:
        return execute(
            session,
            replace(request, recipient=recipient, variables=variables),
            adapter,
            settings=settings,
            now=now,
        )
    finally:
        if own:
            _close(adapter)


def _no_address(request: ExecutionRequest) -> ConfigurationError:
    kind = ADDRESS_KINDS.get(request.channel, "address")
    return ConfigurationError(
        f"customer {request.customer_id!r} has no {request.channel} address",
        field="customer",
        fix=f"record the customer's {kind} identity first",
    )


def dispatch_many(
    session: Session,
    requests: Sequence[ExecutionRequest],
    *,
    settings: Settings,
    adapters: Mapping[str, ChannelAdapter],
    now: datetime | None = None,
    defer_audit: list[tuple[str, Entry]] | None = None,
) -> list[GateResult]:
    """`dispatch` for a batch, in one call to the gate; the results in request order. A
    request that cannot be addressed, or whose channel is not set up, fails (not retryable,
    nothing claimed) without stopping the others. NotFound for an unknown customer, as
    `dispatch`. `defer_audit`: as `execute_many`'s."""
    needed: dict[tuple[str, str], set[str]] = {}
    customers: dict[str, set[str]] = {}
    for request in requests:
        customers.setdefault(request.workspace_id, set()).add(request.customer_id)
        if not request.recipient:
            needed.setdefault((request.workspace_id, request.channel), set()).add(
                request.customer_id
            )
    fields = {ws: variables_of_many(session, ws, ids) for ws, ids in customers.items()}
    addresses = {
        (ws, channel): recipients_of(session, ws, ids, channel)
        for (ws, channel), ids in needed.items()
    }
    results: list[GateResult | None] = [None] * len(requests)
    ready: list[tuple[int, ExecutionRequest]] = []
    for index, request in enumerate(requests):
        known = fields[request.workspace_id].get(request.customer_id)
        if known is None:
            raise customer_not_found(request.customer_id)
        recipient = request.recipient or addresses[(request.workspace_id, request.channel)].get(
            request.customer_id, ""
        )
        try:
            if not recipient:
                raise _no_address(request)
            adapters[request.channel]  # ConfigurationError when the channel is not set up
        except ConfigurationError as exc:
            results[index] = GateResult("failed", "channel", str(exc), retryable=False)
            continue
        variables = {**known, **request.variables}
        ready.append((index, replace(request, recipient=recipient, variables=variables)))
    gate = execute_many(
        session,
        [request for _, request in ready],
        adapters,
        settings=settings,
        now=now,
        defer_audit=defer_audit,
    )
    for (index, _), result in zip(ready, gate, strict=True):
        results[index] = result
    return [result for result in results if result is not None]
