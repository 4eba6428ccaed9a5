"""What the execution gate hands a channel adapter, and what it gets back: the adapter contract."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message for one customer on one channel, exactly as approved."""

    workspace_id: str
    customer_id: str
    channel: str
    recipient: str
    content: Mapping[str, Any]
    idempotency_key: str
    headers: Mapping[str, str] = field(default_factory=dict)
    variables: Mapping[str, Any] = field(default_factory=dict)
    """What the adapter fills the content's template with (customer fields: personal data,
    never written to the audit log)."""


@dataclass(frozen=True, slots=True)
class Receipt:
    """The provider's word that it took the message."""

    provider_message_id: str
    detail: str = ""


class DeliveryFailed(Exception):
    """The channel refused or could not be reached; the message is safe to show and log."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class ChannelAdapter(Protocol):
    """A channel (email, SMS, push, in-app). Only the execution gate calls `deliver`."""

    channel: str

    def deliver(self, delivery: Delivery) -> Receipt: ...
