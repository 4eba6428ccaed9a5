"""Gate test data: the approval team, a consenting customer with an email, an approved asset."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from core.db import session_scope
from core.models import ChannelConsent, Customer, CustomerIdentity
from core.settings import Settings
from guardrails import approvals
from guardrails.approval_requests import parse_request
from guardrails.gate import ExecutionRequest
from tests.guardrails.approval_fixtures import POLICY, Team, make_team

NOW = datetime(2026, 11, 20, 11, tzinfo=UTC)  # noon in Paris: outside quiet hours
CUSTOMER = "cus_gate_1"
EMAIL = "ada@example.com"
CONTENT: dict[str, Any] = {
    "channel": "email",
    "subject": "Spring is here",
    "body": "Hello Ada, our spring range is in. Unsubscribe: https://example.com/u",
}


@dataclass(frozen=True)
class GateWorld:
    team: Team
    settings: Settings
    item_id: str
    content_hash: str

    def request(
        self, key: str = "journey-1/step-1/cus_gate_1", **overrides: Any
    ) -> ExecutionRequest:
        base = ExecutionRequest(
            workspace_id=self.team.workspace_id,
            actor="journey:spring",
            customer_id=CUSTOMER,
            channel="email",
            recipient=EMAIL,
            content=dict(CONTENT),
            approval_item_id=self.item_id,
            idempotency_key=key,
            action_id="spring_email",
            trigger_id="spring_launch",
        )
        return replace(base, **overrides)


def add_customer(
    settings: Settings, workspace_id: str, customer_id: str = CUSTOMER, email: str = EMAIL
) -> None:
    with session_scope(settings) as session:
        session.add(
            Customer(
                id=customer_id,
                workspace_id=workspace_id,
                user_id=customer_id,
                timezone="Europe/Paris",
            )
        )
        session.flush()
        session.add(
            CustomerIdentity(
                workspace_id=workspace_id, kind="email", value=email, customer_id=customer_id
            )
        )
        session.add(
            ChannelConsent(
                workspace_id=workspace_id,
                customer_id=customer_id,
                channel="email",
                status="granted",
                source="signup form",
                recorded_at=NOW - timedelta(days=90),
            )
        )


def submit_asset(team: Team, content: dict[str, Any] | None = None) -> tuple[str, str]:
    """A pending email asset requested by the marketer: its id and content hash."""
    request = parse_request(
        {"kind": "asset", "title": "Spring email", "content": content or dict(CONTENT)}
    )
    with session_scope(team.settings) as session:
        item = approvals.submit(session, actor=team.marketer, request=request, policy=POLICY)
        return item.id, item.content_hash


def approve(team: Team, item_id: str, content_hash: str) -> None:
    with session_scope(team.settings) as session:
        approvals.decide_item(
            session,
            actor=team.reviewer,
            item_id=item_id,
            action="approve",
            seen_hash=content_hash,
        )


def make_world(settings: Settings, *, approved: bool = True) -> GateWorld:
    team = make_team(settings)
    add_customer(settings, team.workspace_id)
    item_id, digest = submit_asset(team)
    if approved:
        approve(team, item_id, digest)
    return GateWorld(team, settings, item_id, digest)
