"""Approve and edit racing on a real PostgreSQL, each thread with its own connection: no
approval ever stands on content its reviewer did not see, and one person counts once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import session_factory, session_scope
from core.errors import Conflict, McopilotError
from core.models import ApprovalDecision, ApprovalItem
from core.settings import Settings
from guardrails import approvals
from tests.guardrails.approval_fixtures import POLICY, Team, asset, make_team

pytestmark = pytest.mark.postgres
BLOCKED_FOR_S = 0.5


@pytest.fixture
def pg_team(tmp_path, postgres_url) -> Team:
    return make_team(Settings(data_dir=tmp_path / "data", database_url=postgres_url))


def submit(team: Team, kind: str = "asset") -> ApprovalItem:
    with session_scope(team.settings) as session:
        request = asset(kind=kind, content={"v": 0}) if kind != "asset" else asset()
        return approvals.submit(session, actor=team.marketer, request=request, policy=POLICY)


def approve(team: Team, actor, item: ApprovalItem) -> Callable[[Session], Any]:
    return lambda session: approvals.decide_item(
        session, actor=actor, item_id=item.id, action="approve", seen_hash=item.content_hash
    )


def edit(team: Team, item: ApprovalItem, body: str | None) -> Callable[[Session], Any]:
    """An edit to a new body, or (None) one that resubmits exactly the same package."""
    content = item.content if body is None else {"channel": "email", "body": body}
    request = asset(kind=item.kind, content=content)
    return lambda session: approvals.edit(
        session, actor=team.marketer, item_id=item.id, request=request, policy=POLICY
    )


class Held(threading.Thread):
    """Runs `work` in its own transaction and holds it open (with its row locks) until
    `release` is set; records the result or the error."""

    def __init__(self, settings: Settings, work: Callable[[Session], Any]) -> None:
        super().__init__(daemon=True)
        self.settings, self.work = settings, work
        self.acted = threading.Event()
        self.release = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        session = session_factory(self.settings)()
        try:
            self.work(session)
            self.acted.set()
            self.release.wait(30)
            session.commit()
        except BaseException as exc:
            self.error = exc
            session.rollback()
        finally:
            self.acted.set()
            session.close()


def race(settings: Settings, works: list[Callable[[Session], Any]]) -> list[BaseException | None]:
    """Start every piece of work at the same moment, each in its own session; their errors."""
    barrier = threading.Barrier(len(works))
    errors: list[BaseException | None] = [None] * len(works)

    def run(index: int, work: Callable[[Session], Any]) -> None:
        barrier.wait(10)
        try:
            with session_scope(settings) as session:
                work(session)
        except McopilotError as exc:
            errors[index] = exc

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(works)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def standing_approvals(team: Team, item_id: str) -> tuple[ApprovalItem, list[ApprovalDecision]]:
    with session_scope(team.settings) as session:
        item = session.get(ApprovalItem, item_id)
        decisions = list(
            session.scalars(
                select(ApprovalDecision).where(
                    ApprovalDecision.item_id == item_id,
                    ApprovalDecision.decision == "approve",
                    ApprovalDecision.voided_at.is_(None),
                )
            )
        )
        return item, decisions


def test_an_edit_waits_for_an_approval_in_flight_then_voids_it(pg_team):
    item = submit(pg_team)
    approver = Held(pg_team.settings, approve(pg_team, pg_team.reviewer, item))
    approver.start()
    assert approver.acted.wait(30) and approver.error is None
    editor = Held(pg_team.settings, edit(pg_team, item, "changed"))
    editor.release.set()
    editor.start()
    time.sleep(BLOCKED_FOR_S)
    assert not editor.acted.is_set(), "the edit must wait for the approval's row lock"
    approver.release.set()
    approver.join(30)
    editor.join(30)
    assert approver.error is None and editor.error is None
    stored, standing = standing_approvals(pg_team, item.id)
    assert (stored.state, stored.revision) == ("pending", 2)
    assert standing == []
    with session_scope(pg_team.settings) as session:
        assert not approvals.is_approved(
            session, workspace_id=item.workspace_id, item_id=item.id, content_hash=item.content_hash
        )


def test_an_approval_waits_for_an_edit_in_flight_then_is_refused_as_stale(pg_team):
    item = submit(pg_team)
    editor = Held(pg_team.settings, edit(pg_team, item, "changed"))
    editor.start()
    assert editor.acted.wait(30) and editor.error is None
    approver = Held(pg_team.settings, approve(pg_team, pg_team.reviewer, item))
    approver.release.set()
    approver.start()
    time.sleep(BLOCKED_FOR_S)
    assert not approver.acted.is_set(), "the approval must wait for the edit's row lock"
    editor.release.set()
    editor.join(30)
    approver.join(30)
    assert isinstance(approver.error, Conflict)
    assert "changed since you saw it" in approver.error.message
    stored, standing = standing_approvals(pg_team, item.id)
    assert (stored.state, stored.revision, standing) == ("pending", 2, [])


def test_the_same_reviewer_approving_eight_times_at_once_counts_once(pg_team):
    item = submit(pg_team, kind="journey_activation")  # needs two approvers
    errors = race(pg_team.settings, [approve(pg_team, pg_team.reviewer, item)] * 8)
    assert errors == [None] * 8  # the repeats are no-ops, not failures
    stored, standing = standing_approvals(pg_team, item.id)
    assert stored.state == "pending"
    assert [d.actor_id for d in standing] == [pg_team.reviewer.user_id]


def test_two_reviewers_at_once_both_count(pg_team):
    item = submit(pg_team, kind="journey_activation")
    errors = race(
        pg_team.settings,
        [approve(pg_team, pg_team.reviewer, item), approve(pg_team, pg_team.reviewer2, item)],
    )
    assert errors == [None, None]
    stored, standing = standing_approvals(pg_team, item.id)
    assert stored.state == "approved" and len(standing) == 2


@pytest.mark.parametrize("kind", ["asset", "journey_activation"])
def test_approvals_and_edits_racing_never_leave_an_approval_on_unseen_content(pg_team, kind):
    """Odd rounds edit the content, even rounds resubmit it unchanged (a no-op), while two
    reviewers approve (one of them twice) at the same moment."""
    approved_rounds = []
    for round_ in range(12):
        item = submit(pg_team, kind=kind)
        changes = round_ % 2 == 1
        works = [
            approve(pg_team, pg_team.reviewer, item),
            approve(pg_team, pg_team.reviewer, item),
            approve(pg_team, pg_team.reviewer2, item),
            edit(pg_team, item, f"round {round_}" if changes else None),
        ]
        errors = race(pg_team.settings, works)
        for error in errors:
            assert error is None or isinstance(error, Conflict), error
        stored, standing = standing_approvals(pg_team, item.id)
        for decision in standing:
            assert decision.revision == stored.revision
            assert decision.content_hash == stored.content_hash
        assert len({d.actor_id for d in standing}) == len(standing)
        with session_scope(pg_team.settings) as session:
            approved = approvals.is_approved(
                session,
                workspace_id=item.workspace_id,
                item_id=item.id,
                content_hash=stored.content_hash,
            )
        assert approved == (stored.state == "approved")
        assert approved == (len(standing) >= stored.required_approvals)
        if changes:  # whoever won, the approvals did not see the new content
            assert (stored.revision, approved, standing) == (2, False, [])
        else:
            assert stored.revision == 1
            approved_rounds.append(approved)
    assert approved_rounds == [True] * 6


def test_the_gate_check_with_lock_holds_off_an_edit_until_its_transaction_ends(pg_team):
    item = submit(pg_team)
    with session_scope(pg_team.settings) as session:
        approvals.decide_item(
            session,
            actor=pg_team.reviewer,
            item_id=item.id,
            action="approve",
            seen_hash=item.content_hash,
        )
    seen: list[bool] = []
    gate = Held(
        pg_team.settings,
        lambda session: seen.append(
            approvals.is_approved(
                session,
                workspace_id=item.workspace_id,
                item_id=item.id,
                content_hash=item.content_hash,
                lock=True,
            )
        ),
    )
    gate.start()
    assert gate.acted.wait(30) and seen == [True]
    editor = Held(pg_team.settings, edit(pg_team, item, "changed"))
    editor.release.set()
    editor.start()
    time.sleep(BLOCKED_FOR_S)
    assert not editor.acted.is_set(), "an edit must wait while the gate acts on the approval"
    gate.release.set()
    gate.join(30)
    editor.join(30)
    assert gate.error is None and editor.error is None
    stored, standing = standing_approvals(pg_team, item.id)
    assert (stored.state, stored.revision, standing) == ("pending", 2, [])
