"""What the approval queue allows: pure decisions on plain facts, no session and no clock.

- Only reviewers and admins approve, reject or request changes; any member comments or edits.
- No one approves an item they requested or whose current content they wrote.
- High-impact items (journey activation, budget change, large send, or any item reaching more
  customers than the configured audience size) need two distinct approvers when the
  two-person rule is on.
- An approval is bound to the content hash the reviewer saw: a stale hash is refused, and an
  edit after approval returns the item to pending (the old decisions stay, voided).
- Past its expiry an item cannot be approved, and an approval it holds lets nothing out.
- An item with blocking policy findings cannot be approved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from core.errors import Conflict, InvalidInput, PermissionDenied
from core.roles import Member, require_role
from core.settings import Settings

Action = Literal["approve", "reject", "request_changes"]
OPEN_STATES = frozenset({"pending", "changes_requested", "approved"})
ALWAYS_HIGH_IMPACT = frozenset({"journey_activation", "budget_change", "large_send"})
MIN_HASH_PREFIX = 12


@dataclass(frozen=True, slots=True)
class ApprovalPolicy:
    """The configurable parts of the rules."""

    expiry: timedelta = timedelta(hours=168)
    two_person_rule: bool = True
    large_send_audience: int = 10_000

    @classmethod
    def from_settings(cls, settings: Settings) -> ApprovalPolicy:
        return cls(
            expiry=timedelta(hours=settings.approval_expiry_hours),
            two_person_rule=settings.approval_two_person_rule,
            large_send_audience=settings.approval_large_send_audience,
        )


@dataclass(frozen=True, slots=True)
class ItemFacts:
    """What the rules need to know about an item, read under its row lock."""

    item_id: str
    state: str
    requested_by: str
    revised_by: str
    content_hash: str
    revision: int
    expires_at: datetime
    required_approvals: int
    approvers: frozenset[str]
    """User ids with a standing approval of the current revision."""
    blocking_findings: int


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of a decision: the item's state after it and whether to record it."""

    state: str
    record: bool
    approvals: int
    message: str


def is_high_impact(kind: str, audience_size: int | None, policy: ApprovalPolicy) -> bool:
    """Journey activations, budget changes, large sends, and anything reaching more customers
    than the policy's audience size."""
    if kind in ALWAYS_HIGH_IMPACT:
        return True
    return audience_size is not None and audience_size > policy.large_send_audience


def required_approvals(kind: str, audience_size: int | None, policy: ApprovalPolicy) -> int:
    """2 for a high-impact item under the two-person rule, else 1."""
    return 2 if policy.two_person_rule and is_high_impact(kind, audience_size, policy) else 1


def effective_state(state: str, expires_at: datetime, now: datetime) -> str:
    """The stored state, or `expired` once an open item is past its expiry."""
    if state in OPEN_STATES and now >= expires_at:
        return "expired"
    return state


def hash_matches(seen: str, actual: str) -> bool:
    """True when `seen` is the whole hash or a prefix of at least 12 hex characters of it."""
    seen = (seen or "").strip().lower()
    return len(seen) >= MIN_HASH_PREFIX and actual.startswith(seen)


def _closed(facts: ItemFacts, state: str, verb: str) -> Conflict:
    if state == "expired":
        return Conflict(
            f"item {facts.item_id} expired at {facts.expires_at:%Y-%m-%d %H:%M} UTC; "
            f"it can no longer be {verb}",
            field="ITEM",
            fix="submit it again for a fresh review",
        )
    return Conflict(
        f"item {facts.item_id} was rejected; it can no longer be {verb}",
        field="ITEM",
        fix="submit a new item",
    )


def decide(
    facts: ItemFacts,
    *,
    actor: Member,
    action: Action,
    seen_hash: str | None,
    now: datetime,
) -> Verdict:
    """Approve, reject or request changes; raises the error that names what forbids it."""
    verb = {"approve": "approved", "reject": "rejected", "request_changes": "sent back"}[action]
    require_role(actor, "reviewer", to=f"{action.replace('_', ' ')} items")
    state = effective_state(facts.state, facts.expires_at, now)
    if state in {"expired", "rejected"}:
        raise _closed(facts, state, verb)
    if action == "approve":
        return _approve(facts, actor=actor, state=state, seen_hash=seen_hash)
    if seen_hash is not None and not hash_matches(seen_hash, facts.content_hash):
        raise _stale(facts, seen_hash)
    if action == "request_changes" and state == "changes_requested":
        raise Conflict(
            f"changes were already requested on item {facts.item_id}",
            field="ITEM",
            fix="add a comment instead, or wait for the edit",
        )
    new_state = "rejected" if action == "reject" else "changes_requested"
    return Verdict(state=new_state, record=True, approvals=len(facts.approvers), message=verb)


def _stale(facts: ItemFacts, seen_hash: str) -> Conflict:
    return Conflict(
        f"the content of item {facts.item_id} changed since you saw it (you saw "
        f"{seen_hash[:MIN_HASH_PREFIX]}, it is now {facts.content_hash[:MIN_HASH_PREFIX]})",
        field="--hash",
        fix=f"review it again with `mcopilot approvals show {facts.item_id}` and decide on "
        "the new content",
    )


def _approve(facts: ItemFacts, *, actor: Member, state: str, seen_hash: str | None) -> Verdict:
    if actor.user_id in {facts.requested_by, facts.revised_by}:
        whose = "requested" if actor.user_id == facts.requested_by else "wrote the content of"
        raise PermissionDenied(
            f"{actor.handle} {whose} item {facts.item_id} and cannot approve it",
            field="--as",
            fix="another reviewer or admin must approve it",
        )
    if not seen_hash:
        raise InvalidInput(
            "an approval must name the content hash you reviewed",
            field="--hash",
            fix=f"copy it from `mcopilot approvals show {facts.item_id}`",
        )
    if not hash_matches(seen_hash, facts.content_hash):
        raise _stale(facts, seen_hash)
    count = len(facts.approvers)
    if actor.user_id in facts.approvers:  # the same person again: it counts once
        return Verdict(state=state, record=False, approvals=count, message="already approved")
    if state == "changes_requested":
        raise Conflict(
            f"changes were requested on item {facts.item_id}; it cannot be approved until "
            "its content is edited",
            field="ITEM",
            fix=f"wait for `mcopilot approvals edit {facts.item_id}`",
        )
    if state == "approved":
        raise Conflict(f"item {facts.item_id} is approved already", field="ITEM")
    if facts.blocking_findings:
        raise Conflict(
            f"item {facts.item_id} has {facts.blocking_findings} blocking policy finding(s)",
            field="ITEM",
            fix="request changes so the copy is fixed; blocked copy cannot be approved",
        )
    count += 1
    if count >= facts.required_approvals:
        return Verdict(state="approved", record=True, approvals=count, message="approved")
    return Verdict(
        state="pending",
        record=True,
        approvals=count,
        message=f"approval {count} of {facts.required_approvals} recorded; "
        "another reviewer must approve too",
    )


@dataclass(frozen=True, slots=True)
class EditVerdict:
    """Whether an edit changes anything, and the state after it."""

    changed: bool
    state: str
    voids: bool


def decide_edit(
    facts: ItemFacts, *, actor: Member, new_package_hash: str, old_package_hash: str, now: datetime
) -> EditVerdict:
    """Any member may edit an open item; any change (content, evidence, findings, audience)
    makes a new revision that must be approved afresh."""
    require_role(actor, "marketer", to="edit items")
    state = effective_state(facts.state, facts.expires_at, now)
    if state in {"expired", "rejected"}:
        raise _closed(facts, state, "edited")
    if new_package_hash == old_package_hash:
        return EditVerdict(changed=False, state=state, voids=False)
    return EditVerdict(changed=True, state="pending", voids=bool(facts.approvers))


def counts_as_approved(
    facts: ItemFacts, *, content_hash: str, approvals_on_hash: int, now: datetime
) -> bool:
    """What the execution gate asks: approved, not expired, bound to exactly this content, by
    enough distinct approvers who saw this very hash."""
    return (
        effective_state(facts.state, facts.expires_at, now) == "approved"
        and facts.content_hash == content_hash
        and approvals_on_hash >= facts.required_approvals
    )
