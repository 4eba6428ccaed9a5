"""The approval queue's writes: submit, edit, approve, reject, request changes, comment; and
`is_approved`, which the execution gate asks before anything goes out.

Every write locks the item's row (SELECT ... FOR UPDATE on PostgreSQL) and bumps its row
version, so a decision and an edit racing each other are serialised: the decision either
sees the content it names or is refused as stale. Services never commit; the caller owns
the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from core.clock import utcnow
from core.errors import Conflict, InvalidInput, NotFound
from core.ids import new_id
from core.models import (
    ApprovalComment,
    ApprovalDecision,
    ApprovalItem,
    ApprovalRevision,
    Chunk,
)
from core.roles import Member, require_role
from guardrails.approval_requests import ApprovalRequest, package_hash
from guardrails.approval_rules import (
    Action,
    ApprovalPolicy,
    EditVerdict,
    ItemFacts,
    Verdict,
    counts_as_approved,
    decide,
    decide_edit,
    required_approvals,
)
from guardrails.audit.service import append

MAX_COMMENT = 4000
MAX_EVIDENCE_SHOWN = 3


@dataclass(frozen=True, slots=True)
class Outcome:
    """A decision's result: the item after it and what the rules said."""

    item: ApprovalItem
    verdict: Verdict


def _not_found(item_id: str, member: Member) -> NotFound:
    return NotFound(
        f"no approval item {item_id!r} in workspace {member.workspace_slug!r}",
        field="ITEM",
        fix=f"see `mcopilot approvals list --workspace {member.workspace_slug} --as "
        f"{member.handle}`",
    )


def get_or_raise(
    session: Session, member: Member, item_id: str, *, for_update: bool = False
) -> ApprovalItem:
    """The item in the member's workspace (never another's); locked when `for_update`."""
    query = select(ApprovalItem).where(
        ApprovalItem.id == item_id, ApprovalItem.workspace_id == member.workspace_id
    )
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    item = session.scalars(query).one_or_none()
    if item is None:
        raise _not_found(item_id, member)
    return item


def approvers_of(session: Session, item: ApprovalItem, *, content_hash: str) -> frozenset[str]:
    """Distinct users whose standing approval of the item's current revision saw this hash."""
    rows = session.scalars(
        select(ApprovalDecision.actor_id).where(
            ApprovalDecision.item_id == item.id,
            ApprovalDecision.workspace_id == item.workspace_id,
            ApprovalDecision.revision == item.revision,
            ApprovalDecision.decision == "approve",
            ApprovalDecision.voided_at.is_(None),
            ApprovalDecision.content_hash == content_hash,
            ApprovalDecision.actor_id.not_in([item.requested_by, item.revised_by]),
        )
    )
    return frozenset(rows)


def facts_of(session: Session, item: ApprovalItem) -> ItemFacts:
    """The plain facts the rules decide on."""
    return ItemFacts(
        item_id=item.id,
        state=item.state,
        requested_by=item.requested_by,
        revised_by=item.revised_by,
        content_hash=item.content_hash,
        revision=item.revision,
        expires_at=item.expires_at,
        required_approvals=item.required_approvals,
        approvers=approvers_of(session, item, content_hash=item.content_hash),
        blocking_findings=sum(1 for f in item.findings if f.get("severity") == "block"),
    )


def _check_evidence(session: Session, member: Member, evidence_ids: list[str]) -> None:
    """Every evidence id must be a chunk of this workspace."""
    if not evidence_ids:
        return
    found = set(
        session.scalars(
            select(Chunk.id).where(
                Chunk.workspace_id == member.workspace_id, Chunk.id.in_(evidence_ids)
            )
        )
    )
    missing = [e for e in evidence_ids if e not in found]
    if missing:
        shown = ", ".join(missing[:MAX_EVIDENCE_SHOWN])
        more = f" and {len(missing) - MAX_EVIDENCE_SHOWN} more" if len(missing) > 3 else ""
        raise InvalidInput(
            f"no chunk {shown}{more} in workspace {member.workspace_slug!r}",
            field="evidence_ids",
            fix="cite chunk ids of this workspace, as `mcopilot search` prints them",
        )


def _package_hash(item: ApprovalItem | ApprovalRevision) -> str:
    return package_hash(
        title=item.title,
        content_sha=item.content_hash,
        evidence_ids=list(item.evidence_ids),
        findings=list(item.findings),
        audience_size=item.audience_size,
    )


def _revision(item: ApprovalItem, member: Member, now: datetime) -> ApprovalRevision:
    return ApprovalRevision(
        item_id=item.id,
        revision=item.revision,
        workspace_id=item.workspace_id,
        title=item.title,
        content=item.content,
        content_hash=item.content_hash,
        evidence_ids=item.evidence_ids,
        findings=item.findings,
        audience_size=item.audience_size,
        written_by=member.user_id,
        written_at=now,
    )


def submit(
    session: Session,
    *,
    actor: Member,
    request: ApprovalRequest,
    policy: ApprovalPolicy,
    now: datetime | None = None,
) -> ApprovalItem:
    """A new pending item, revision 1, requested by the actor."""
    require_role(actor, "marketer", to="submit items")
    _check_evidence(session, actor, request.evidence_ids)
    now = now or utcnow()
    expiry = (
        timedelta(hours=request.expires_in_hours) if request.expires_in_hours else policy.expiry
    )
    item = ApprovalItem(
        id=new_id("apr"),
        workspace_id=actor.workspace_id,
        kind=request.kind,
        title=request.title,
        content=request.content,
        content_hash=request.content_hash,
        evidence_ids=request.evidence_ids,
        findings=request.finding_dicts,
        audience_size=request.audience_size,
        required_approvals=required_approvals(request.kind, request.audience_size, policy),
        state="pending",
        revision=1,
        requested_by=actor.user_id,
        revised_by=actor.user_id,
        created_at=now,
        updated_at=now,
        expires_at=now + expiry,
        decided_at=None,
    )
    session.add(item)
    session.flush()
    session.add(_revision(item, actor, now))
    session.flush()
    _audit(session, actor, item, "submit", "pending", title=item.title)
    return item


def _audit(
    session: Session, actor: Member, item: ApprovalItem, action: str, decision: str, **result: Any
) -> None:
    """Record the step in the workspace's audit log, in the same transaction."""
    append(
        session,
        item.workspace_id,
        actor=actor.handle,
        action=f"approval.{action}",
        inputs={"item_id": item.id, "kind": item.kind, "revision": item.revision},
        evidence_ids=list(item.evidence_ids or []),
        output_hash=item.content_hash,
        decision=decision,
        result=result,
    )


def _flush_versioned(session: Session, item: ApprovalItem) -> None:
    try:
        session.flush()
    except StaleDataError as exc:  # another transaction wrote the item after we read it
        raise Conflict(
            f"item {item.id} changed while you were acting on it",
            field="ITEM",
            fix="show it again and repeat the command",
        ) from exc


def edit(
    session: Session,
    *,
    actor: Member,
    item_id: str,
    request: ApprovalRequest,
    policy: ApprovalPolicy,
    now: datetime | None = None,
) -> tuple[ApprovalItem, EditVerdict]:
    """Replace what the item asks approval for; any change is a new revision, back to
    pending, and voids the approvals of the revision it replaces."""
    now = now or utcnow()
    item = get_or_raise(session, actor, item_id, for_update=True)
    if request.kind != item.kind:
        raise InvalidInput(
            f"item {item.id} is a {item.kind}; an edit cannot make it a {request.kind}",
            field="kind",
            fix="submit a new item for a different kind",
        )
    _check_evidence(session, actor, request.evidence_ids)
    new_package = package_hash(
        title=request.title,
        content_sha=request.content_hash,
        evidence_ids=request.evidence_ids,
        findings=request.finding_dicts,
        audience_size=request.audience_size,
    )
    verdict = decide_edit(
        facts_of(session, item),
        actor=actor,
        new_package_hash=new_package,
        old_package_hash=_package_hash(item),
        now=now,
    )
    if not verdict.changed:
        return item, verdict
    session.execute(
        update(ApprovalDecision)
        .where(
            ApprovalDecision.item_id == item.id,
            ApprovalDecision.workspace_id == item.workspace_id,
            ApprovalDecision.revision == item.revision,
            ApprovalDecision.decision == "approve",
            ApprovalDecision.voided_at.is_(None),
        )
        .values(voided_at=now, void_reason=f"content edited to revision {item.revision + 1}")
    )
    item.revision += 1
    item.title = request.title
    item.content = request.content
    item.content_hash = request.content_hash
    item.evidence_ids = request.evidence_ids
    item.findings = request.finding_dicts
    item.audience_size = request.audience_size
    item.required_approvals = required_approvals(item.kind, request.audience_size, policy)
    item.state = verdict.state
    item.revised_by = actor.user_id
    item.updated_at = now
    item.decided_at = None
    _flush_versioned(session, item)
    session.add(_revision(item, actor, now))
    session.flush()
    _audit(session, actor, item, "edit", item.state, approvals_voided=True)
    return item, verdict


def decide_item(
    session: Session,
    *,
    actor: Member,
    item_id: str,
    action: Action,
    seen_hash: str | None = None,
    comment: str = "",
    now: datetime | None = None,
) -> Outcome:
    """Approve, reject or request changes on the item, under its row lock."""
    now = now or utcnow()
    comment = comment.strip()
    if action != "approve" and not comment:
        raise InvalidInput(
            f"a {action.replace('_', ' ')} needs a comment saying why",
            field="--comment",
            fix='add --comment "what must change"',
        )
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(f"at most {MAX_COMMENT} characters", field="--comment")
    item = get_or_raise(session, actor, item_id, for_update=True)
    verdict = decide(
        facts_of(session, item), actor=actor, action=action, seen_hash=seen_hash, now=now
    )
    if not verdict.record:
        return Outcome(item=item, verdict=verdict)
    decision = ApprovalDecision(
        workspace_id=item.workspace_id,
        item_id=item.id,
        revision=item.revision,
        actor_id=actor.user_id,
        decision=action,
        content_hash=item.content_hash,
        comment=comment,
        decided_at=now,
    )
    session.add(decision)
    try:
        session.flush()
    except IntegrityError as exc:  # the same person decided this revision concurrently
        raise Conflict(
            f"{actor.handle} already decided on revision {item.revision} of item {item.id}",
            field="--as",
            fix=f"see `mcopilot approvals show {item.id}`",
        ) from exc
    item.state = verdict.state
    item.updated_at = now
    if verdict.state != "pending":
        item.decided_at = now
    _flush_versioned(session, item)
    _audit(session, actor, item, action, item.state, comment=comment)
    return Outcome(item=item, verdict=verdict)


def add_comment(
    session: Session, *, actor: Member, item_id: str, body: str, now: datetime | None = None
) -> ApprovalComment:
    """A comment in the item's thread, on its current revision; any member may comment."""
    require_role(actor, "marketer", to="comment")
    body = body.strip()
    if not body:
        raise InvalidInput("the comment is empty", field="TEXT", fix="write something to say")
    if len(body) > MAX_COMMENT:
        raise InvalidInput(f"at most {MAX_COMMENT} characters", field="TEXT")
    item = get_or_raise(session, actor, item_id)
    comment = ApprovalComment(
        workspace_id=item.workspace_id,
        item_id=item.id,
        revision=item.revision,
        author_id=actor.user_id,
        body=body,
        created_at=now or utcnow(),
    )
    session.add(comment)
    session.flush()
    return comment


def is_approved(
    session: Session,
    *,
    workspace_id: str,
    item_id: str,
    content_hash: str,
    now: datetime | None = None,
    lock: bool = False,
) -> bool:
    """True only when the item is approved, not expired, its current content has exactly
    this hash, and enough distinct approvers approved that very hash.

    With `lock`, the item's row stays share-locked until the caller's transaction ends, so no
    edit or decision (they lock it for update) can slip in between this check and the action
    the caller takes, while sends of the same item still run side by side.
    """
    query = select(ApprovalItem).where(
        ApprovalItem.id == item_id, ApprovalItem.workspace_id == workspace_id
    )
    if lock:
        query = query.with_for_update(read=True).execution_options(populate_existing=True)
    item = session.scalars(query).one_or_none()
    if item is None:
        return False
    facts = facts_of(session, item)
    approvals = len(approvers_of(session, item, content_hash=content_hash))
    return counts_as_approved(
        facts, content_hash=content_hash, approvals_on_hash=approvals, now=now or utcnow()
    )
