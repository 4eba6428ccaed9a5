"""The approval queue as a reviewer reads it: the list, and one item with its evidence,
findings, decisions, comments and revisions, as plain dicts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.errors import InvalidInput
from core.models import (
    APPROVAL_STATES,
    ApprovalComment,
    ApprovalDecision,
    ApprovalItem,
    ApprovalRevision,
    User,
)
from guardrails.approval_rules import OPEN_STATES, effective_state
from guardrails.approvals import approvers_of

DEFAULT_LIMIT = 100


def _handles(session: Session, user_ids: Iterable[str]) -> dict[str, str]:
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.handle).where(User.id.in_(ids)))
    return {user_id: handle for user_id, handle in rows}


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def list_items(
    session: Session,
    workspace_id: str,
    *,
    state: str | None = None,
    now: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[dict[str, Any]]:
    """The workspace's items, newest first; `state` filters on the state as it is now (an
    open item past its expiry is `expired`)."""
    now = now or utcnow()
    query = select(ApprovalItem).where(ApprovalItem.workspace_id == workspace_id)
    if state is not None:
        if state not in APPROVAL_STATES:
            raise InvalidInput(
                f"unknown state {state!r}",
                field="--state",
                fix=f"use one of {', '.join(APPROVAL_STATES)}",
            )
        if state == "expired":
            query = query.where(
                or_(
                    ApprovalItem.state == "expired",
                    and_(ApprovalItem.state.in_(OPEN_STATES), ApprovalItem.expires_at <= now),
                )
            )
        elif state in OPEN_STATES:
            query = query.where(ApprovalItem.state == state, ApprovalItem.expires_at > now)
        else:
            query = query.where(ApprovalItem.state == state)
    if limit < 1:
        raise InvalidInput("must be 1 or more", field="--limit")
    items = list(
        session.scalars(
            query.order_by(ApprovalItem.created_at.desc(), ApprovalItem.id).limit(limit)
        )
    )
    handles = _handles(session, (i.requested_by for i in items))
    return [
        {
            "id": item.id,
            "kind": item.kind,
            "title": item.title,
            "state": effective_state(item.state, item.expires_at, now),
            "revision": item.revision,
            "content_hash": item.content_hash,
            "approvals": len(approvers_of(session, item, content_hash=item.content_hash)),
            "required_approvals": item.required_approvals,
            "blocking_findings": sum(1 for f in item.findings if f.get("severity") == "block"),
            "requested_by": handles.get(item.requested_by, item.requested_by),
            "created_at": _iso(item.created_at),
            "expires_at": _iso(item.expires_at),
        }
        for item in items
    ]


def _of_item(session: Session, item: ApprovalItem, model: Any, order: Any) -> list[Any]:
    """The item's rows of one kind (decisions, comments, revisions), in order."""
    return list(
        session.scalars(
            select(model)
            .where(model.item_id == item.id, model.workspace_id == item.workspace_id)
            .order_by(order)
        )
    )


def details(session: Session, item: ApprovalItem, *, now: datetime | None = None) -> dict[str, Any]:
    """Everything a reviewer needs to decide on one item, and its history."""
    now = now or utcnow()
    decisions = _of_item(session, item, ApprovalDecision, ApprovalDecision.id)
    comments = _of_item(session, item, ApprovalComment, ApprovalComment.id)
    revisions = _of_item(session, item, ApprovalRevision, ApprovalRevision.revision)
    handles = _handles(
        session,
        [item.requested_by, item.revised_by]
        + [d.actor_id for d in decisions]
        + [c.author_id for c in comments]
        + [r.written_by for r in revisions],
    )
    return {
        "id": item.id,
        "kind": item.kind,
        "title": item.title,
        "state": effective_state(item.state, item.expires_at, now),
        "revision": item.revision,
        "content_hash": item.content_hash,
        "content": item.content,
        "evidence_ids": list(item.evidence_ids),
        "findings": list(item.findings),
        "audience_size": item.audience_size,
        "approvals": len(approvers_of(session, item, content_hash=item.content_hash)),
        "required_approvals": item.required_approvals,
        "requested_by": handles.get(item.requested_by),
        "revised_by": handles.get(item.revised_by),
        "created_at": _iso(item.created_at),
        "updated_at": _iso(item.updated_at),
        "expires_at": _iso(item.expires_at),
        "decided_at": _iso(item.decided_at),
        "decisions": [
            {
                "by": handles.get(d.actor_id),
                "decision": d.decision,
                "revision": d.revision,
                "content_hash": d.content_hash,
                "comment": d.comment,
                "at": _iso(d.decided_at),
                "voided_at": _iso(d.voided_at),
                "void_reason": d.void_reason,
            }
            for d in decisions
        ],
        "comments": [
            {
                "by": handles.get(c.author_id),
                "revision": c.revision,
                "body": c.body,
                "at": _iso(c.created_at),
            }
            for c in comments
        ],
        "revisions": [
            {
                "revision": r.revision,
                "content_hash": r.content_hash,
                "by": handles.get(r.written_by),
                "at": _iso(r.written_at),
            }
            for r in revisions
        ],
    }
