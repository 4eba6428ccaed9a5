"""Next best action: rank a customer's eligible actions, after the constraints, with reasons.

Pure and deterministic: plain data in (the customer's context, the inventory, the time),
plain data out. Each action is first checked against the constraints, in this order, and the
first that fails blocks it with its reason: channel health (down), blackout dates, consent
(every channel needs a granted opt-in), suppression (bounce, complaint, unsubscribe), the
action's eligibility criteria, its own cooldown, the high-value offer cooldown (14 days), the
channel's cap for the last 24 hours, for the last 7 days, and the cross-channel weekly cap.

Each remaining action is scored:

    relevance  from the action's goal: winback and retain = churn risk; expand = upgrade
               propensity; recover = 0.9 with an open cart; activate = 0.8 in the activation
               stage (else 0.1); nurture = 0.6 before a first purchase (else 0.1); advocacy =
               0.8 in the advocacy stage (else 0.3 for VIPs, 0.1 otherwise); cross_sell =
               0.5 x (1 - churn risk).
    fit        1.0 on the customer's preferred channel, 0.85 on another consented channel,
               x 0.7 when the channel is degraded.
    fatigue    1 - 0.5 x (touches in 7 days / weekly cross-channel cap).
    confidence = relevance x fit x fatigue, kept within 1%..99%.
    score      = confidence x the action's value.

The top 3 by score (ties by action id) are returned with their confidence and a rationale
built from the reason codes of the propensity that drove them, as in seed 000's example.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.contact_rules import Touch, first_cap_breach
from scoring.action_inventory import Action, Inventory

TOP = 3
VIP_COMPOSITE = 38


@dataclass(frozen=True, slots=True)
class Eligibility:
    passed: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class CustomerContext:
    customer_id: str
    stage: str | None = None
    rfm_composite: int | None = None
    churn_risk: float | None = None
    upgrade_propensity: float | None = None
    churn_reasons: Sequence[str] = ()
    upgrade_reasons: Sequence[str] = ()
    preferred_channel: str | None = None
    consent: Mapping[str, str] = field(default_factory=dict)
    suppressed: Mapping[str, str] = field(default_factory=dict)
    touches: Sequence[Touch] = ()
    eligibility: Mapping[str, Eligibility] = field(default_factory=dict)
    open_cart_cents: int | None = None
    days_since_first_order: int | None = None


@dataclass(frozen=True, slots=True)
class RankedAction:
    action_id: str
    title: str
    channel: str
    type: str
    confidence: float
    score: float
    rationale: str


@dataclass(frozen=True, slots=True)
class BlockedAction:
    action_id: str
    constraint: str
    detail: str


@dataclass(frozen=True, slots=True)
class Decision:
    customer_id: str
    decided_at: datetime
    inventory_version: str
    actions: list[RankedAction]
    blocked: list[BlockedAction]

    @property
    def primary(self) -> RankedAction | None:
        return self.actions[0] if self.actions else None


def _blocked_by(
    action: Action, context: CustomerContext, inventory: Inventory, now: datetime
) -> BlockedAction | None:
    def block(constraint: str, detail: str) -> BlockedAction:
        return BlockedAction(action.id, constraint, detail)

    channel = action.channel
    if inventory.channel_health.get(channel) == "down":
        return block("channel_down", f"{channel} is marked down")
    today = now.date()
    for blackout in inventory.blackouts:
        if blackout.start <= today <= blackout.end and (
            not blackout.channels or channel in blackout.channels
        ):
            reason = f" ({blackout.reason})" if blackout.reason else ""
            return block("blackout", f"blackout {blackout.start}..{blackout.end}{reason}")
    consent = context.consent.get(channel, "none")
    if consent != "granted":
        return block("consent", f"no {channel} opt-in ({consent})")
    if channel in context.suppressed:
        return block("suppressed", f"{channel} suppressed: {context.suppressed[channel]}")
    eligibility = context.eligibility.get(action.id, Eligibility(True))
    if not eligibility.passed:
        return block("ineligible", eligibility.detail or "eligibility criteria not met")
    last_same = max(
        (t.occurred_at for t in context.touches if t.action_id == action.id), default=None
    )
    if last_same is not None and now - last_same < timedelta(days=action.cooldown_days):
        return block(
            "cooldown",
            f"sent {(now - last_same).days} days ago; cooldown {action.cooldown_days} days",
        )
    if action.high_value:
        offers = {a.id for a in inventory.actions if a.high_value}
        window = timedelta(days=inventory.caps.high_value_cooldown_days)
        recent = [
            t for t in context.touches if t.action_id in offers and now - t.occurred_at < window
        ]
        if recent:
            return block(
                "high_value_cooldown",
                f"a high-value offer went out {(now - max(t.occurred_at for t in recent)).days} "
                f"days ago; cooldown {inventory.caps.high_value_cooldown_days} days",
            )
    breach = first_cap_breach(context.touches, channel, inventory.caps, now)
    if breach is not None:
        return block(breach.rule, breach.detail)
    return None


def _relevance(action: Action, c: CustomerContext) -> float:
    churn = c.churn_risk or 0.0
    upgrade = c.upgrade_propensity or 0.0
    match action.goal:
        case "winback" | "retain":
            return churn
        case "expand":
            return upgrade
        case "recover":
            return 0.9 if (c.open_cart_cents or 0) > 0 else 0.0
        case "activate":
            return 0.8 if c.stage == "activation" else 0.1
        case "nurture":
            return 0.6 if c.stage in ("awareness", "consideration", None) else 0.1
        case "advocacy":
            if c.stage == "advocacy":
                return 0.8
            return 0.3 if (c.rfm_composite or 0) >= VIP_COMPOSITE else 0.1
        case "cross_sell":
            return 0.5 * (1 - churn)
    return 0.0  # pragma: no cover - Goal is a closed set


def _because(action: Action, c: CustomerContext) -> str:
    def listed(reasons: Sequence[str]) -> str:
        return " and ".join(reasons[:2])

    match action.goal:
        case "winback" | "retain":
            lead = listed(c.churn_reasons) or "their activity is slowing"
            return f"{lead} (churn risk {c.churn_risk or 0:.0%})"
        case "expand":
            lead = listed(c.upgrade_reasons) or "their use is growing"
            return f"{lead} (upgrade propensity {c.upgrade_propensity or 0:.0%})"
        case "recover":
            return f"{(c.open_cart_cents or 0) / 100:,.2f} is waiting in an open cart"
        case "activate":
            days = c.days_since_first_order
            return (
                f"they bought for the first time {days} days ago"
                if days is not None
                else ("they are new")
            )
        case "nurture":
            return "they have not bought yet"
        case "advocacy":
            if c.stage == "advocacy":
                return "they are a loyal, high-value customer"
            return f"their RFM score is {c.rfm_composite} (VIP)"
        case "cross_sell":
            detail = c.eligibility.get(action.id, Eligibility(True)).detail
            return detail or "their last order suggests a complement"
    return ""  # pragma: no cover


def decide(
    context: CustomerContext, inventory: Inventory, now: datetime, top: int = TOP
) -> Decision:
    """The customer's top actions after the constraints, and every blocked action's reason."""
    ranked: list[RankedAction] = []
    blocked: list[BlockedAction] = []
    week = sum(1 for t in context.touches if now - t.occurred_at < timedelta(days=7))
    total_cap = max(inventory.caps.total_per_week, 1)
    fatigue = 1 - 0.5 * min(week / total_cap, 1.0)
    for action in inventory.actions:
        reason = _blocked_by(action, context, inventory, now)
        if reason is not None:
            blocked.append(reason)
            continue
        relevance = _relevance(action, context)
        preferred = context.preferred_channel == action.channel
        fit = 1.0 if preferred else 0.85
        if inventory.channel_health.get(action.channel) == "degraded":
            fit *= 0.7
        confidence = min(max(relevance * fit * fatigue, 0.01), 0.99)
        via = f"via {action.channel.replace('_', '-')}" + (
            ", their preferred channel" if preferred else ""
        )
        ranked.append(
            RankedAction(
                action_id=action.id,
                title=action.title,
                channel=action.channel,
                type=action.type,
                confidence=round(confidence, 4),
                score=round(confidence * action.value, 4),
                rationale=f"Because {_because(action, context)}; {via}.",
            )
        )
    ranked.sort(key=lambda a: (-a.score, a.action_id))
    return Decision(context.customer_id, now, inventory.version, ranked[:top], blocked)
