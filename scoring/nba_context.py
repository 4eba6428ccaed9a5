"""Next best action for one customer from the database: gather the context in a few indexed
queries, then decide (the function the API and the CLI call)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.models import CustomerTouch, EmailEvent
from scoring.action_inventory import Inventory
from scoring.action_store import inventory_of
from scoring.criteria import Criterion, parse_criteria
from scoring.criteria_eval import LAST_ORDER_MISSING, evaluate
from scoring.criteria_sql import load_field_values
from scoring.nba import CustomerContext, Decision, Eligibility, Touch, decide
from scoring.nba_log import record_decision
from scoring.propensity_job import Reason, propensities_of
from scoring.segments import resolve_customer

TOUCH_LOOKBACK = timedelta(days=60)
SUPPRESSING_EMAIL_EVENTS = ("bounce", "complaint")
_parsed: dict[str, dict[str, Criterion]] = {}


def eligibility_criteria(inventory: Inventory) -> dict[str, Criterion]:
    """Each action's parsed eligibility, parsed once per inventory version."""
    parsed = _parsed.get(inventory.version)
    if parsed is None:
        parsed = {
            a.id: parse_criteria(a.eligibility, root=f"{a.id}.eligibility")
            for a in inventory.actions
            if a.eligibility  # none: everyone is eligible
        }
        if len(_parsed) > 64:
            _parsed.clear()
        _parsed[inventory.version] = parsed
    return parsed


def eligibility_of(criterion: Criterion, values: Mapping[str, Any]) -> Eligibility:
    """Passed or not and, if not, the first failing condition with the actual value."""
    check = evaluate(criterion, values)
    if check.passed:
        passed = [
            _reads(node)
            for _, node in check.flatten()
            if node.kind == "condition" and node.passed and node.field == LAST_ORDER_MISSING
        ]
        return Eligibility(True, "; ".join(passed))
    for _, node in check.flatten():
        if node.kind == "condition" and not node.passed and node.field is not None:
            return Eligibility(False, f"{node.label} (is {_shown(node.actual)})")
    return Eligibility(False, "eligibility criteria not met")


def _reads(node: Any) -> str:
    """A passed category condition as a person says it."""
    missing = ", ".join(str(v) for v in (node.expected or ()))
    bought = ", ".join(str(v) for v in (node.actual or ()))
    return f"their last order ({bought}) had no {missing}"


def _shown(value: Any) -> str:
    if value is None:
        return "missing"
    if isinstance(value, list | tuple | frozenset | set):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def _raising(reasons: list[Reason]) -> list[str]:
    """The texts of the drivers that raise the score, largest first."""
    return [r.text for r in reasons if r.direction == "up"]


def load_context(
    session: Session, workspace_id: str, customer_id: str, inventory: Inventory, now: datetime
) -> CustomerContext:
    values = load_field_values(session, workspace_id, customer_id) or {}
    scores = propensities_of(session, workspace_id, customer_id)
    since = now - TOUCH_LOOKBACK
    touches = [
        Touch(channel, action_id, at)
        for channel, action_id, at in session.execute(
            select(CustomerTouch.channel, CustomerTouch.action_id, CustomerTouch.occurred_at).where(
                CustomerTouch.workspace_id == workspace_id,
                CustomerTouch.customer_id == customer_id,
                CustomerTouch.occurred_at >= since,
                CustomerTouch.occurred_at <= now,
            )
        )
    ]
    email = session.execute(
        select(EmailEvent.type, EmailEvent.campaign_id, func.max(EmailEvent.occurred_at))
        .where(
            EmailEvent.workspace_id == workspace_id,
            EmailEvent.customer_id == customer_id,
            EmailEvent.occurred_at <= now,
            EmailEvent.type.in_(("sent", *SUPPRESSING_EMAIL_EVENTS)),
        )
        .group_by(EmailEvent.type, EmailEvent.campaign_id)
    ).all()
    suppressed: dict[str, str] = {}
    for kind, campaign, at in email:
        if kind == "sent" and at >= since:
            touches.append(Touch("email", f"campaign:{campaign}", at))
        elif kind in SUPPRESSING_EMAIL_EVENTS:
            suppressed["email"] = f"{kind} on {at.date()}"
    criteria = eligibility_criteria(inventory)
    return CustomerContext(
        customer_id=customer_id,
        stage=values.get("lifecycle.stage"),
        rfm_composite=values.get("rfm.composite"),
        churn_risk=scores.churn_risk if scores else None,
        upgrade_propensity=scores.upgrade_propensity if scores else None,
        churn_reasons=_raising(scores.churn_reasons) if scores else (),
        upgrade_reasons=_raising(scores.upgrade_reasons) if scores else (),
        preferred_channel=values.get("channel.preferred"),
        consent={
            ch: values.get(f"consent.{ch}") or "none" for ch in ("email", "sms", "push", "in_app")
        },
        suppressed=suppressed,
        touches=tuple(touches),
        eligibility={a: eligibility_of(c, values) for a, c in criteria.items()},
        open_cart_cents=values.get("cart.openValue"),
        days_since_first_order=values.get("daysSinceFirstOrder"),
    )


@dataclass(frozen=True, slots=True)
class NbaOutcome:
    customer_id: str
    user_id: str | None
    context: CustomerContext
    decision: Decision


def next_best_action(
    session: Session,
    workspace_id: str,
    customer_ref: str,
    now: datetime | None = None,
    *,
    record: bool = True,
) -> NbaOutcome:
    """The decision for a customer named by userId, email or id (the API's entry point),
    logged in `nba_decisions` in the caller's transaction unless `record` is False."""
    customer, _ = resolve_customer(session, workspace_id, customer_ref)
    inventory = inventory_of(session, workspace_id)
    now = now or utcnow()
    context = load_context(session, workspace_id, customer.id, inventory, now)
    decision = decide(context, inventory, now)
    if record:
        record_decision(session, workspace_id, decision)
    return NbaOutcome(customer.id, customer.user_id, context, decision)
