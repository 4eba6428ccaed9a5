"""The approval queue on SQLite and PostgreSQL: submit, decide, edit, comment, is_approved,
expiry, evidence and tenant isolation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core import workspaces
from core.clock import utcnow
from core.db import session_scope
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.ids import content_hash
from core.models import ApprovalDecision, ApprovalItem, ApprovalRevision, Chunk, Document
from guardrails import approval_views, approvals
from guardrails.approval_rules import ApprovalPolicy
from tests.guardrails.approval_fixtures import POLICY, Team, asset, make_team


def submit(team: Team, request=None, **kwargs) -> ApprovalItem:
    with session_scope(team.settings) as session:
        return approvals.submit(
            session, actor=team.marketer, request=request or asset(), policy=POLICY, **kwargs
        )


def decide(team: Team, actor, item_id: str, action="approve", seen_hash=None, comment="", now=None):
    with session_scope(team.settings) as session:
        return approvals.decide_item(
            session,
            actor=actor,
            item_id=item_id,
            action=action,
            seen_hash=seen_hash,
            comment=comment,
            now=now,
        )


def is_approved(team: Team, item_id: str, digest: str, now=None, workspace_id=None) -> bool:
    with session_scope(team.settings) as session:
        return approvals.is_approved(
            session,
            workspace_id=workspace_id or team.workspace_id,
            item_id=item_id,
            content_hash=digest,
            now=now,
        )


def test_submit_approve_and_the_gate_question(team):
    item = submit(team)
    assert item.content_hash == content_hash(asset().content)
    assert (item.state, item.revision, item.required_approvals) == ("pending", 1, 1)
    assert not is_approved(team, item.id, item.content_hash)
    outcome = decide(team, team.reviewer, item.id, seen_hash=item.content_hash)
    assert outcome.item.state == "approved"
    assert is_approved(team, item.id, item.content_hash)
    assert not is_approved(team, item.id, content_hash({"other": "content"}))
    assert not is_approved(team, "apr_missing", item.content_hash)
    assert not is_approved(team, item.id, item.content_hash, now=item.expires_at)


def test_self_approval_and_role_are_refused_and_nothing_is_written(team):
    with session_scope(team.settings) as session:
        own = approvals.submit(session, actor=team.reviewer, request=asset(), policy=POLICY)
    with pytest.raises(PermissionDenied, match="rev1 requested item"):
        decide(team, team.reviewer, own.id, seen_hash=own.content_hash)
    with pytest.raises(PermissionDenied, match="only reviewers and admins"):
        decide(team, team.marketer, own.id, seen_hash=own.content_hash)
    with session_scope(team.settings) as session:
        assert session.scalar(select(func.count()).select_from(ApprovalDecision)) == 0


def test_two_person_rule_for_a_journey_activation(team):
    request = asset(kind="journey_activation", title="Winback", content={"journey": "winback"})
    item = submit(team, request)
    assert item.required_approvals == 2
    first = decide(team, team.reviewer, item.id, seen_hash=item.content_hash)
    assert first.item.state == "pending" and first.verdict.approvals == 1
    again = decide(team, team.reviewer, item.id, seen_hash=item.content_hash)
    assert not again.verdict.record and again.verdict.approvals == 1
    assert not is_approved(team, item.id, item.content_hash)
    second = decide(team, team.admin, item.id, seen_hash=item.content_hash)
    assert second.item.state == "approved"
    assert is_approved(team, item.id, item.content_hash)


def test_a_large_audience_makes_an_asset_high_impact(team):
    policy = ApprovalPolicy(large_send_audience=500)
    with session_scope(team.settings) as session:
        small = approvals.submit(
            session, actor=team.marketer, request=asset(audience_size=500), policy=policy
        )
        big = approvals.submit(
            session, actor=team.marketer, request=asset(audience_size=501), policy=policy
        )
    assert (small.required_approvals, big.required_approvals) == (1, 2)


def test_an_edit_after_approval_voids_it_and_keeps_the_history(team):
    item = submit(team)
    old_hash = item.content_hash
    decide(team, team.reviewer, item.id, seen_hash=old_hash)
    new = asset(content={"channel": "email", "subject": "Spring is HERE", "body": "Hi"})
    with session_scope(team.settings) as session:
        edited, verdict = approvals.edit(
            session, actor=team.marketer, item_id=item.id, request=new, policy=POLICY
        )
        assert verdict.changed and verdict.voids
        assert (edited.state, edited.revision) == ("pending", 2)
    assert not is_approved(team, item.id, old_hash)
    assert not is_approved(team, item.id, new.content_hash)
    with pytest.raises(Conflict, match="changed since you saw it"):
        decide(team, team.reviewer, item.id, seen_hash=old_hash)
    decide(team, team.reviewer, item.id, seen_hash=new.content_hash)
    assert is_approved(team, item.id, new.content_hash)
    with session_scope(team.settings) as session:
        view = approval_views.details(session, approvals.get_or_raise(session, team.admin, item.id))
    assert [
        (d["revision"], d["content_hash"], d["voided_at"] is not None) for d in view["decisions"]
    ] == [
        (1, old_hash, True),
        (2, new.content_hash, False),
    ]
    assert [r["content_hash"] for r in view["revisions"]] == [old_hash, new.content_hash]


def test_an_edit_that_changes_nothing_keeps_the_approval_and_a_new_finding_voids_it(team):
    item = submit(team)
    decide(team, team.reviewer, item.id, seen_hash=item.content_hash)
    with session_scope(team.settings) as session:
        same, verdict = approvals.edit(
            session, actor=team.marketer, item_id=item.id, request=asset(), policy=POLICY
        )
        assert not verdict.changed and same.revision == 1
    assert is_approved(team, item.id, item.content_hash)
    finding = {"rule_id": "avoid.word.cheap", "severity": "warn", "message": "avoid 'cheap'"}
    with session_scope(team.settings) as session:
        _, verdict = approvals.edit(
            session,
            actor=team.marketer,
            item_id=item.id,
            request=asset(findings=[finding]),
            policy=POLICY,
        )
        assert verdict.changed
    # same content, but the reviewer has not seen the package with this finding
    assert not is_approved(team, item.id, item.content_hash)


def test_a_reviewer_who_edits_cannot_approve_their_revision(team):
    item = submit(team)
    with session_scope(team.settings) as session:
        approvals.edit(
            session,
            actor=team.reviewer,
            item_id=item.id,
            request=asset(title="Spring email v2"),
            policy=POLICY,
        )
    with pytest.raises(PermissionDenied, match="rev1 wrote the content"):
        decide(team, team.reviewer, item.id, seen_hash=item.content_hash)
    assert (
        decide(team, team.reviewer2, item.id, seen_hash=item.content_hash).item.state == "approved"
    )


def test_request_changes_then_edit_then_approve(team):
    item = submit(team)
    with pytest.raises(InvalidInput, match="needs a comment"):
        decide(team, team.reviewer, item.id, action="request_changes")
    decide(team, team.reviewer, item.id, action="request_changes", comment="less hype")
    with pytest.raises(Conflict, match="until its content is edited"):
        decide(team, team.reviewer2, item.id, seen_hash=item.content_hash)
    fixed = asset(content={"channel": "email", "subject": "Spring", "body": "Hello {{name}}"})
    with session_scope(team.settings) as session:
        approvals.edit(session, actor=team.marketer, item_id=item.id, request=fixed, policy=POLICY)
        approvals.add_comment(session, actor=team.marketer, item_id=item.id, body=" toned down ")
    assert (
        decide(team, team.reviewer, item.id, seen_hash=fixed.content_hash).item.state == "approved"
    )
    with session_scope(team.settings) as session:
        view = approval_views.details(session, approvals.get_or_raise(session, team.admin, item.id))
    assert [(c["by"], c["revision"], c["body"]) for c in view["comments"]] == [
        ("mia", 2, "toned down")
    ]
    assert [d["decision"] for d in view["decisions"]] == ["request_changes", "approve"]


def test_reject_is_final(team):
    item = submit(team)
    decide(team, team.reviewer, item.id, action="reject", comment="off brand")
    with pytest.raises(Conflict, match="was rejected"):
        decide(team, team.reviewer2, item.id, seen_hash=item.content_hash)
    with session_scope(team.settings) as session, pytest.raises(Conflict, match="rejected"):
        approvals.edit(
            session, actor=team.marketer, item_id=item.id, request=asset(title="x"), policy=POLICY
        )


def test_expired_items_cannot_be_approved_and_list_as_expired(team):
    item = submit(team, request=asset(expires_in_hours=1))
    later = utcnow() + timedelta(hours=2)
    with pytest.raises(Conflict, match="expired"):
        decide(team, team.reviewer, item.id, seen_hash=item.content_hash, now=later)
    with session_scope(team.settings) as session:
        assert [
            r["id"]
            for r in approval_views.list_items(
                session, team.workspace_id, state="expired", now=later
            )
        ] == [item.id]
        assert (
            approval_views.list_items(session, team.workspace_id, state="pending", now=later) == []
        )
        assert [r["state"] for r in approval_views.list_items(session, team.workspace_id)] == [
            "pending"
        ]
        with pytest.raises(InvalidInput, match="unknown state"):
            approval_views.list_items(session, team.workspace_id, state="done")


def test_blocking_findings_cannot_be_approved(team):
    finding = {"rule_id": "claim.unsupported", "severity": "block", "message": "no citation"}
    item = submit(team, request=asset(findings=[finding]))
    with pytest.raises(Conflict, match="1 blocking policy finding"):
        decide(team, team.reviewer, item.id, seen_hash=item.content_hash)


def test_evidence_must_be_chunks_of_this_workspace(team):
    with session_scope(team.settings) as session:
        other = workspaces.create(session, "other")
        for ws_id, chunk_id in ((team.workspace_id, "chk_mine"), (other.id, "chk_theirs")):
            document = Document(
                id=f"doc_{chunk_id}",
                workspace_id=ws_id,
                source="brand.md",
                title="Brand",
                media_type="markdown",
                content_hash="0" * 64,
                pipeline_version="1",
                size_bytes=10,
            )
            session.add(document)
            session.flush()
            session.add(
                Chunk(
                    id=chunk_id,
                    workspace_id=ws_id,
                    document_id=document.id,
                    position=0,
                    heading_path=["Brand"],
                    text="We ship in 2 days.",
                    char_start=0,
                    char_end=18,
                    content_hash="1" * 64,
                    token_count=5,
                )
            )
    item = submit(team, request=asset(evidence_ids=["chk_mine", "chk_mine"]))
    assert item.evidence_ids == ["chk_mine"]
    with pytest.raises(InvalidInput) as caught:
        submit(team, request=asset(evidence_ids=["chk_mine", "chk_theirs"]))
    assert caught.value.field == "evidence_ids"
    assert "no chunk chk_theirs in workspace 'acme'" in caught.value.message


def test_items_do_not_cross_workspaces(team):
    item = submit(team)
    other = make_team(team.settings, "other")
    with pytest.raises(NotFound, match="no approval item"):
        decide(team, other.reviewer, item.id, seen_hash=item.content_hash)
    decide(team, team.reviewer, item.id, seen_hash=item.content_hash)
    assert not is_approved(team, item.id, item.content_hash, workspace_id=other.workspace_id)
    with session_scope(team.settings) as session:
        assert approval_views.list_items(session, other.workspace_id) == []


def test_a_failed_decision_leaves_nothing_half_written(team):
    item = submit(team)
    with pytest.raises(RuntimeError), session_scope(team.settings) as session:
        approvals.decide_item(
            session,
            actor=team.reviewer,
            item_id=item.id,
            action="approve",
            seen_hash=item.content_hash,
        )
        raise RuntimeError("the caller's transaction fails after the decision")
    with session_scope(team.settings) as session:
        stored = session.get(ApprovalItem, item.id)
        assert stored.state == "pending" and stored.version == 1
        assert session.scalar(select(func.count()).select_from(ApprovalDecision)) == 0
        assert session.scalar(select(func.count()).select_from(ApprovalRevision)) == 1
