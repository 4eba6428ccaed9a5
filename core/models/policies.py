"""Brand policies: each applied version of a workspace's policy, one of them active."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.models.base import Base, UTCDateTime


class BrandPolicyVersion(Base):
    """One validated policy body, named by the hash of its canonical JSON. Applying a policy
    adds a version (or reactivates an equal one); exactly one version per workspace is
    active, which a partial unique index enforces."""

    __tablename__ = "brand_policies"
    __table_args__ = (
        UniqueConstraint("workspace_id", "version"),
        Index(
            "uq_brand_policies_active",
            "workspace_id",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(64), doc="sha256 prefix of the canonical JSON.")
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    rule_count: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
