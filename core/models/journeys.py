"""Journey runtime records: versions, run state, enrolments, due steps, trigger firings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.models.base import Base, UTCDateTime

#: Run states of a journey: `paused` and `killed` (the admins' emergency stop) keep its due
#: steps pending, so nothing is lost; the worker claims none until it runs again.
JOURNEY_STATES = ("draft", "active", "paused", "killed", "retired")
#: Enrolment states; every state but `active` is final.
ENROLMENT_STATES = ("active", "completed", "converted", "exited", "removed")
#: Due-step states: `pending` waits for its time, `claimed` is held by a worker's lease;
#: `done` is a split or experiment that chose the customer's way on.
TASK_STATES = ("pending", "claimed", "sent", "done", "blocked", "failed", "skipped", "cancelled")


class JourneyVersion(Base):
    """One version of a journey's spec, as validated and stored (never edited in place)."""

    __tablename__ = "journey_versions"
    __table_args__ = (
        UniqueConstraint("workspace_id", "journey_id", "version", name="uq_journey_versions"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    journey_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(16))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    spec_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class JourneyState(Base):
    """A journey's run state in a workspace: which version runs, and whether it is paused."""

    __tablename__ = "journey_states"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    journey_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(10), default="draft")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(Text, default="")
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class JourneyStateChange(Base):
    """Every change of a journey's run state, when it took effect: what "active on a given
    day" is read from (the dashboard), while `JourneyState` holds the state now."""

    __tablename__ = "journey_state_changes"
    __table_args__ = (
        Index("ix_journey_state_changes_when", "workspace_id", "journey_id", "changed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    journey_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text, default="")
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class JourneyEnrolment(Base):
    """A customer in a journey. The unique trigger key (customer + trigger + date bucket, as
    seed 002 asks) makes a second firing of the same trigger enrol nobody."""

    __tablename__ = "journey_enrolments"
    __table_args__ = (
        UniqueConstraint("workspace_id", "journey_id", "trigger_key", name="uq_enrolments_key"),
        # one active enrolment per customer and journey, whichever path enrols (a scan, an
        # exit's transition): the database decides a race between them
        Index(
            "uq_enrolments_active",
            "workspace_id",
            "journey_id",
            "customer_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_enrolments_customer", "workspace_id", "customer_id", "status"),
        Index("ix_enrolments_journey", "workspace_id", "journey_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    journey_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    trigger_type: Mapped[str] = mapped_column(String(30))
    trigger_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default="active")
    #: Experiment assignments and holdout: {"holdout": false, "<experiment node>": "<variant>"}.
    assignments: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    node_id: Mapped[str | None] = mapped_column(String(64))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    exit_id: Mapped[str | None] = mapped_column(String(64))
    exit_reason: Mapped[str | None] = mapped_column(Text)
    converted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class JourneyTask(Base):
    """A step due for one enrolled customer. Workers claim due rows (`FOR UPDATE SKIP LOCKED`
    on PostgreSQL) under a lease; the per-step idempotency key goes to the execution gate."""

    __tablename__ = "journey_tasks"
    __table_args__ = (
        UniqueConstraint("workspace_id", "idempotency_key", name="uq_journey_tasks_key"),
        Index("ix_journey_tasks_due", "status", "due_at"),
        Index("ix_journey_tasks_enrolment", "enrolment_id"),
        Index("ix_journey_tasks_updated", "workspace_id", "updated_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    enrolment_id: Mapped[str] = mapped_column(
        ForeignKey("journey_enrolments.id", ondelete="CASCADE")
    )
    journey_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(32))
    node_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(10))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: Channel failures on the task's current channel (a retry, then the backup channel).
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    execution_id: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str | None] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TriggerFiring(Base):
    """A trigger that fired for a customer, and what came of it (the dashboard's last hour).

    One row per journey, trigger key and outcome: a scan that finds the same firing again
    with the same outcome writes nothing, and a firing that was held back (paused, capped,
    not eligible...) and is enrolled later gets its `enrolled` row then."""

    __tablename__ = "trigger_firings"
    __table_args__ = (
        Index("ix_trigger_firings_time", "workspace_id", "fired_at"),
        Index(
            "uq_trigger_firings_key",
            "workspace_id",
            "journey_id",
            "trigger_key",
            "outcome",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    trigger_type: Mapped[str] = mapped_column(String(30))
    journey_id: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(32))
    trigger_key: Mapped[str] = mapped_column(String(200))
    #: enrolled, duplicate, conflict, excluded, not_eligible, paused, suppressed...
    outcome: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text, default="")
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: What fired: the cart, the order, the segment run, the snapshot day, the event name.
    subject: Mapped[str | None] = mapped_column(String(200))


class JourneyCursor(Base):
    """How far a journey consumer has read an ordered stream such as domain_events, per
    workspace: the last id it handled. The opt-out sweep used one until migration 0026 (an id
    is not commit-ordered: it now marks the events it handled, `DomainEvent.handled_at`)."""

    __tablename__ = "journey_cursors"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TriggerCursor(Base):
    """How far one journey's trigger has read an ordered stream (the order watermark, the
    segment changes, the events received), so a scan reads only what is new."""

    __tablename__ = "trigger_cursors"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    journey_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    stream: Mapped[str] = mapped_column(String(20), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
