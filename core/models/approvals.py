"""The approval queue: items awaiting a human decision, their content revisions, the
decisions taken and the comments thread."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.models.base import Base, UTCDateTime

APPROVAL_KINDS: tuple[str, ...] = ("asset", "journey_activation", "large_send", "budget_change")
APPROVAL_STATES: tuple[str, ...] = (
    "pending",
    "approved",
    "rejected",
    "changes_requested",
    "expired",
)
DECISIONS: tuple[str, ...] = ("approve", "reject", "request_changes")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class ApprovalItem(Base):
    """An asset or high-impact action waiting for (or holding) approval of its exact content.

    `content_hash` is the sha256 of the canonical JSON of `content`; an approval counts only
    for the revision it was given on. `version` is the row version: every write bumps it and
    an UPDATE that finds another version fails, so no decision lands on content it did not see.
    """

    __tablename__ = "approval_items"
    __table_args__ = (
        CheckConstraint(_in("kind", APPROVAL_KINDS), name="kind"),
        CheckConstraint(_in("state", APPROVAL_STATES), name="state"),
        Index("ix_approval_items_queue", "workspace_id", "state", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    evidence_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    audience_size: Mapped[int | None] = mapped_column(Integer)
    required_approvals: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    version: Mapped[int] = mapped_column(Integer, default=1)
    requested_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    revised_by: Mapped[str] = mapped_column(
        ForeignKey("users.id"), doc="Who wrote the current revision; they may not approve it."
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class ApprovalRevision(Base):
    """Every content an item has had, so a decision can be shown against what it saw."""

    __tablename__ = "approval_revisions"

    item_id: Mapped[str] = mapped_column(
        ForeignKey("approval_items.id", ondelete="CASCADE"), primary_key=True
    )
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    evidence_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    audience_size: Mapped[int | None] = mapped_column(Integer)
    written_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    written_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApprovalDecision(Base):
    """One reviewer's decision on one revision, with the content hash they saw.

    One decision of each kind per person per revision (a unique constraint): the same person
    approving twice counts once. An edit voids the approvals of the revision it replaces;
    they stay as history.
    """

    __tablename__ = "approval_decisions"
    __table_args__ = (
        UniqueConstraint("item_id", "revision", "actor_id", "decision"),
        CheckConstraint(_in("decision", DECISIONS), name="decision"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(ForeignKey("approval_items.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    actor_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(String(20))
    content_hash: Mapped[str] = mapped_column(String(64), doc="The hash the reviewer saw.")
    comment: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    void_reason: Mapped[str | None] = mapped_column(String(200))


class ApprovalComment(Base):
    """A message in an item's thread, tied to the revision it was written on."""

    __tablename__ = "approval_comments"
    __table_args__ = (Index("ix_approval_comments_item", "item_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(ForeignKey("approval_items.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
