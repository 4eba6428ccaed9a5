"""Channel test data: the gate world plus a phone, a device token and consent on every
channel, and approved templated assets per channel."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from core.db import session_scope
from core.models import ChannelConsent, Customer, CustomerIdentity
from core.settings import Settings
from guardrails.gate import ExecutionRequest
from tests.guardrails.gate_fixtures import CUSTOMER, NOW, GateWorld, approve, submit_asset

PHONE = "+33612345678"
DEVICE = "device-token-abc"
TEMPLATES: dict[str, dict[str, Any]] = {
    "email": {
        "channel": "email",
        "subject": "{{ first_name }}, spring is here",
        "body": "Hello {{ first_name }}, our spring range is in.\n"
        "Unsubscribe: {{ unsubscribe_url }}",
        "html": '<p>Hello {{ first_name }}</p><a href="{{ unsubscribe_url }}">Unsubscribe</a>',
    },
    "sms": {"channel": "sms", "body": "Hi {{ first_name }}, spring sale today. STOP to opt out"},
    "push": {"channel": "push", "title": "Spring", "body": "{{ first_name }}, it is here"},
    "in_app": {"channel": "in_app", "title": "Spring", "body": "Welcome back {{ first_name }}"},
}


def reach_everywhere(settings: Settings, workspace_id: str) -> None:
    """Give the gate world's customer a first name, a phone, a device and consent everywhere."""
    with session_scope(settings) as session:
        session.execute(
            update(Customer)
            .where(Customer.id == CUSTOMER)
            .values(traits={"first_name": "Ada", "plan": "gold"})
        )
        for kind, value in (("phone", PHONE), ("device_token", DEVICE)):
            session.add(
                CustomerIdentity(
                    workspace_id=workspace_id, kind=kind, value=value, customer_id=CUSTOMER
                )
            )
        for channel in ("sms", "push", "in_app"):
            session.add(
                ChannelConsent(
                    workspace_id=workspace_id,
                    customer_id=CUSTOMER,
                    channel=channel,
                    status="granted",
                    source="signup form",
                    recorded_at=NOW - timedelta(days=90),
                )
            )


def approved(world: GateWorld, channel: str) -> str:
    """The id of an approved asset holding the channel's template."""
    item_id, digest = submit_asset(world.team, dict(TEMPLATES[channel]))
    approve(world.team, item_id, digest)
    return item_id


def request_for(world: GateWorld, channel: str, item_id: str, key: str, **overrides: Any):
    return world.request(
        key=key,
        channel=channel,
        recipient="",
        content=dict(TEMPLATES[channel]),
        approval_item_id=item_id,
        **overrides,
    )


__all__ = ["DEVICE", "PHONE", "TEMPLATES", "ExecutionRequest", "approved", "reach_everywhere"]
