"""The approval rules as pure decisions: roles, self-approval, the two-person rule, the content
hash binding, edits, expiry and blocking findings; no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from core.errors import Conflict, InvalidInput, PermissionDenied
from core.roles import Member
from core.settings import Settings
from guardrails.approval_rules import (
    ApprovalPolicy,
    ItemFacts,
    counts_as_approved,
    decide,
    decide_edit,
    effective_state,
    hash_matches,
    is_high_impact,
    required_approvals,
)

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
HASH = "a" * 64
OTHER = "b" * 64


def member(handle: str, role: str) -> Member:
    return Member("ws_1", "acme", f"usr_{handle}", handle, role)  # type: ignore[arg-type]


MIA = member("mia", "marketer")
REV1 = member("rev1", "reviewer")
REV2 = member("rev2", "reviewer")
ROOT = member("root", "admin")


def facts(**overrides) -> ItemFacts:
    base = ItemFacts(
        item_id="apr_1",
        state="pending",
        requested_by=MIA.user_id,
        revised_by=MIA.user_id,
        content_hash=HASH,
        revision=1,
        expires_at=NOW + timedelta(days=7),
        required_approvals=1,
        approvers=frozenset(),
        blocking_findings=0,
    )
    return replace(base, **overrides)


def test_a_reviewer_approves_what_they_saw():
    verdict = decide(facts(), actor=REV1, action="approve", seen_hash=HASH, now=NOW)
    assert (verdict.state, verdict.record, verdict.approvals) == ("approved", True, 1)
    short = decide(facts(), actor=ROOT, action="approve", seen_hash=HASH[:12], now=NOW)
    assert short.state == "approved"


@pytest.mark.parametrize("action", ["approve", "reject", "request_changes"])
def test_a_marketer_cannot_decide(action):
    with pytest.raises(PermissionDenied) as caught:
        decide(facts(), actor=MIA, action=action, seen_hash=HASH, now=NOW)
    assert "only reviewers and admins may" in caught.value.message


def test_no_one_approves_their_own_item_or_their_own_revision():
    own = facts(requested_by=REV1.user_id, revised_by=REV1.user_id)
    with pytest.raises(PermissionDenied, match="rev1 requested item apr_1 and cannot approve"):
        decide(own, actor=REV1, action="approve", seen_hash=HASH, now=NOW)
    edited_by_reviewer = facts(revised_by=REV2.user_id)
    with pytest.raises(PermissionDenied, match="rev2 wrote the content of item apr_1"):
        decide(edited_by_reviewer, actor=REV2, action="approve", seen_hash=HASH, now=NOW)
    # rejecting or sending back one's own item is allowed: it lets nothing out
    assert decide(own, actor=REV1, action="reject", seen_hash=None, now=NOW).state == "rejected"


def test_an_approval_must_name_the_hash_it_saw_and_a_stale_one_is_refused():
    with pytest.raises(InvalidInput) as missing:
        decide(facts(), actor=REV1, action="approve", seen_hash=None, now=NOW)
    assert missing.value.field == "--hash"
    with pytest.raises(Conflict) as stale:
        decide(facts(), actor=REV1, action="approve", seen_hash=OTHER, now=NOW)
    assert stale.value.field == "--hash"
    assert "changed since you saw it (you saw bbbbbbbbbbbb, it is now aaaaaaaaaaaa)" in str(
        stale.value
    )
    with pytest.raises(Conflict):  # too short a prefix proves nothing
        decide(facts(), actor=REV1, action="approve", seen_hash=HASH[:8], now=NOW)
    with pytest.raises(Conflict):  # a stale hash on a send-back is refused too
        decide(facts(), actor=REV1, action="request_changes", seen_hash=OTHER, now=NOW)


def test_two_person_rule_needs_two_distinct_approvers():
    two = facts(required_approvals=2)
    first = decide(two, actor=REV1, action="approve", seen_hash=HASH, now=NOW)
    assert (first.state, first.approvals) == ("pending", 1)
    after_first = replace(two, approvers=frozenset({REV1.user_id}))
    again = decide(after_first, actor=REV1, action="approve", seen_hash=HASH, now=NOW)
    assert (again.state, again.record, again.approvals) == ("pending", False, 1)
    second = decide(after_first, actor=REV2, action="approve", seen_hash=HASH, now=NOW)
    assert (second.state, second.record, second.approvals) == ("approved", True, 2)


def test_high_impact_items_and_the_configurable_rule():
    policy = ApprovalPolicy(large_send_audience=1000)
    assert required_approvals("journey_activation", None, policy) == 2
    assert required_approvals("budget_change", None, policy) == 2
    assert required_approvals("large_send", 10, policy) == 2
    assert required_approvals("asset", 1000, policy) == 1
    assert required_approvals("asset", 1001, policy) == 2
    assert not is_high_impact("asset", None, policy)
    off = ApprovalPolicy(two_person_rule=False)
    assert required_approvals("journey_activation", None, off) == 1


def test_expired_and_rejected_items_are_closed():
    expired = facts(expires_at=NOW)
    assert effective_state("pending", NOW, NOW) == "expired"
    assert effective_state("approved", NOW, NOW) == "expired"
    assert effective_state("rejected", NOW, NOW) == "rejected"
    with pytest.raises(Conflict, match="expired at 2026-11-01 12:00 UTC"):
        decide(expired, actor=REV1, action="approve", seen_hash=HASH, now=NOW)
    with pytest.raises(Conflict, match="was rejected"):
        decide(facts(state="rejected"), actor=REV1, action="approve", seen_hash=HASH, now=NOW)
    with pytest.raises(Conflict, match="expired"):
        decide_edit(expired, actor=MIA, new_package_hash="x", old_package_hash="y", now=NOW)


def test_changes_requested_must_be_edited_before_approval():
    sent_back = facts(state="changes_requested")
    with pytest.raises(Conflict, match="until its content is edited"):
        decide(sent_back, actor=REV1, action="approve", seen_hash=HASH, now=NOW)
    with pytest.raises(Conflict, match="already requested"):
        decide(sent_back, actor=REV1, action="request_changes", seen_hash=None, now=NOW)
    assert decide(sent_back, actor=REV1, action="reject", seen_hash=None, now=NOW).record


def test_a_reviewer_can_send_back_or_revoke_an_approved_item():
    approved = facts(state="approved", approvers=frozenset({REV1.user_id}))
    assert decide(
        approved, actor=REV2, action="request_changes", seen_hash=None, now=NOW
    ).state == ("changes_requested")
    with pytest.raises(Conflict, match="approved already"):
        decide(approved, actor=REV2, action="approve", seen_hash=HASH, now=NOW)


def test_blocking_findings_cannot_be_approved():
    with pytest.raises(Conflict, match="2 blocking policy finding"):
        decide(facts(blocking_findings=2), actor=REV1, action="approve", seen_hash=HASH, now=NOW)


def test_an_edit_makes_a_new_revision_that_voids_approvals():
    approved = facts(state="approved", approvers=frozenset({REV1.user_id}))
    same = decide_edit(approved, actor=MIA, new_package_hash="p", old_package_hash="p", now=NOW)
    assert (same.changed, same.state, same.voids) == (False, "approved", False)
    changed = decide_edit(approved, actor=MIA, new_package_hash="q", old_package_hash="p", now=NOW)
    assert (changed.changed, changed.state, changed.voids) == (True, "pending", True)
    with pytest.raises(Conflict, match="rejected"):
        decide_edit(
            facts(state="rejected"), actor=MIA, new_package_hash="q", old_package_hash="p", now=NOW
        )


def test_counts_as_approved_needs_state_hash_approvers_and_time():
    approved = facts(state="approved", required_approvals=2)
    assert counts_as_approved(approved, content_hash=HASH, approvals_on_hash=2, now=NOW)
    assert not counts_as_approved(approved, content_hash=OTHER, approvals_on_hash=2, now=NOW)
    assert not counts_as_approved(approved, content_hash=HASH, approvals_on_hash=1, now=NOW)
    assert not counts_as_approved(
        approved, content_hash=HASH, approvals_on_hash=2, now=NOW + timedelta(days=8)
    )
    assert not counts_as_approved(facts(), content_hash=HASH, approvals_on_hash=2, now=NOW)


def test_the_policy_comes_from_the_settings(monkeypatch):
    monkeypatch.setenv("MCOPILOT_APPROVAL_EXPIRY_HOURS", "24")
    monkeypatch.setenv("MCOPILOT_APPROVAL_TWO_PERSON_RULE", "false")
    monkeypatch.setenv("MCOPILOT_APPROVAL_LARGE_SEND_AUDIENCE", "50")
    policy = ApprovalPolicy.from_settings(Settings())
    assert policy == ApprovalPolicy(
        expiry=timedelta(hours=24), two_person_rule=False, large_send_audience=50
    )
    monkeypatch.setenv("MCOPILOT_APPROVAL_EXPIRY_HOURS", "0")
    with pytest.raises(ValidationError, match="approval_expiry_hours"):
        Settings()


def test_hash_prefixes():
    assert hash_matches(HASH.upper(), HASH)
    assert hash_matches(HASH[:12], HASH)
    assert not hash_matches(HASH[:11], HASH)
    assert not hash_matches("", HASH)
