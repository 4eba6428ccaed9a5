"""People and their role in each workspace: users, and workspace members with a role."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.models.base import Base, UTCDateTime

ROLES: tuple[str, ...] = ("marketer", "reviewer", "admin")


class User(Base):
    """A person who acts in mcopilot; the same handle may belong to several workspaces."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    handle: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WorkspaceMember(Base):
    """A user's role in one workspace: marketer, reviewer or admin."""

    __tablename__ = "workspace_members"
    __table_args__ = (
        CheckConstraint("role IN ('marketer', 'reviewer', 'admin')", name="role"),
        Index("ix_workspace_members_user", "user_id"),
    )

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(10))
    added_by: Mapped[str | None] = mapped_column(
        String(64), doc="Handle of the admin who added or last changed it; NULL: the operator."
    )
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
