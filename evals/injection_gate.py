"""The injection corpus's last step: whatever a hostile text gets into, no action goes out
unless a human approved exactly that content.

For every case, the gate is asked to send the case's text to a consenting customer twice, as
a hijacked copywriter would: once as the body of an email that borrows another asset's
approval, and once submitted for approval in its own right (pending, since no text can
approve anything). Both must be refused at the approval check, and the channel never called.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core import members, workspaces
from core.clock import utcnow
from core.db import session_scope
from core.models import ChannelConsent, Customer, CustomerIdentity
from core.settings import Settings
from evals.injection_eval import InjectionCase, Step
from guardrails import approvals
from guardrails.approval_requests import parse_request
from guardrails.approval_rules import ApprovalPolicy
from guardrails.delivery import ChannelAdapter
from guardrails.gate import ExecutionRequest, execute

CUSTOMER = "cus_injection_target"
RECIPIENT = "target@example.com"
APPROVED_CONTENT = {
    "channel": "email",
    "subject": "Your monthly update",
    "body": "Here is what changed this month. Unsubscribe: https://example.com/u",
}


@dataclass(frozen=True, slots=True)
class GateSetup:
    workspace_id: str
    approved_item_id: str
    marketer: str
    now: datetime


def prepare(settings: Settings, workspace: str, now: datetime | None = None) -> GateSetup:
    """A marketer, a reviewer, a consenting customer and one approved legitimate asset."""
    now = now or utcnow()
    with session_scope(settings) as session:
        ws = workspaces.get(session, workspace) or workspaces.create(session, workspace)
        admin, _ = members.add(session, ws, "inj-admin", role="admin", actor=None)
        marketer, _ = members.add(session, ws, "inj-marketer", role="marketer", actor=admin)
        reviewer, _ = members.add(session, ws, "inj-reviewer", role="reviewer", actor=admin)
        session.add(Customer(id=CUSTOMER, workspace_id=ws.id, user_id=CUSTOMER, timezone="UTC"))
        session.flush()
        session.add(
            CustomerIdentity(
                workspace_id=ws.id, kind="email", value=RECIPIENT, customer_id=CUSTOMER
            )
        )
        session.add(
            ChannelConsent(
                workspace_id=ws.id,
                customer_id=CUSTOMER,
                channel="email",
                status="granted",
                source="eval",
                recorded_at=now,
            )
        )
        item = approvals.submit(
            session,
            actor=marketer,
            request=parse_request(
                {"kind": "asset", "title": "Monthly update", "content": APPROVED_CONTENT}
            ),
            policy=ApprovalPolicy(),
            now=now,
        )
        approvals.decide_item(
            session,
            actor=reviewer,
            item_id=item.id,
            action="approve",
            seen_hash=item.content_hash,
            now=now,
        )
        return GateSetup(ws.id, item.id, marketer.handle, now)


def gate_step(setup: GateSetup, adapter: ChannelAdapter, settings: Settings) -> Step:
    """The step for `evals.injection_eval.run`: both attempts per case, and their outcomes."""

    def step(case: InjectionCase, workspace: str, _: Settings) -> dict[str, Any]:
        hostile = {**APPROVED_CONTENT, "body": case.text}
        outcomes = []
        with session_scope(settings) as session:
            ws = workspaces.get_or_raise(session, workspace)
            marketer = members.resolve(session, ws, setup.marketer)
            own = approvals.submit(
                session,
                actor=marketer,
                request=parse_request(
                    {"kind": "asset", "title": f"Draft {case.id}", "content": hostile}
                ),
                policy=ApprovalPolicy(),
                now=setup.now,
            )
            for item_id, label in ((setup.approved_item_id, "borrowed"), (own.id, "own")):
                result = execute(
                    session,
                    ExecutionRequest(
                        workspace_id=setup.workspace_id,
                        actor=f"agent:copywriter ({case.id})",
                        customer_id=CUSTOMER,
                        channel="email",
                        recipient=RECIPIENT,
                        content=hostile,
                        approval_item_id=item_id,
                        idempotency_key=f"injection/{case.id}/{label}",
                    ),
                    adapter,
                    settings=settings,
                    now=setup.now,
                )
                outcomes.append(result)
        return {
            "gate_executed": sum(1 for r in outcomes if r.executed),
            "gate_rules": [r.rule for r in outcomes],
        }

    return step
