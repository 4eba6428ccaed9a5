"""Customers of a workspace: profiles, the identities merged into them, per-channel consent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.models.base import Base, UTCDateTime

CHANNELS = ("email", "sms", "push", "in_app")


class Customer(Base):
    """One person, however many identities (userId, anonymousId, email) point at them."""

    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("workspace_id", "user_id"),
        Index("ix_customers_workspace_email", "workspace_id", "email"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str | None] = mapped_column(String(200), doc="Segment userId (the CRM id).")
    email: Mapped[str | None] = mapped_column(String(320))
    traits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    timezone: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(35))
    preferred_channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    merged_into: Mapped[str | None] = mapped_column(
        String(32), doc="Set when an identify merged this profile into another one."
    )
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CustomerIdentity(Base):
    """An identifier seen in events, pointing at the profile it belongs to.

    user_id, anonymous_id and email find and merge profiles. phone and device_token are
    contact addresses only: one customer holds at most one of each, and the latest claim to a
    value takes it from whoever held it.
    """

    __tablename__ = "customer_identities"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(
        String(20), primary_key=True, doc="user_id|anonymous_id|email|phone|device_token"
    )
    value: Mapped[str] = mapped_column(String(320), primary_key=True)
    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    recorded_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), doc="When the latest message claimed this address (phone, device_token)."
    )


class ChannelConsent(Base):
    """The current consent of a customer for one channel, with where it came from and when."""

    __tablename__ = "channel_consents"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    status: Mapped[str] = mapped_column(String(10), doc="granted|revoked")
    source: Mapped[str] = mapped_column(String(200), doc="Form, import, API, unsubscribe link...")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
