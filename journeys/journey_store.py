"""Stored journeys: save a version, activate it, pause, resume and the per-journey kill switch.

Roles: marketers (and above) save, activate, pause and resume; the kill switch (one journey,
or every journey of the workspace) and resuming a killed journey need an admin. Every change
is audited in the same transaction. Pausing or killing leaves the journey's due steps pending
(nothing is lost): the worker claims none of them until the journey runs again. Services never
commit; the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.errors import Conflict, InvalidInput, NotFound
from core.ids import canonical_json, content_hash, new_id
from core.models import (
    ApprovalItem,
    JourneyEnrolment,
    JourneyState,
    JourneyStateChange,
    JourneyTask,
    JourneyVersion,
)
from core.roles import Member, require_role
from guardrails.approvals import is_approved
from guardrails.audit.service import append
from journeys.problems import Problem
from journeys.spec import Asset, Journey, parse_journey
from journeys.validate import validate
from journeys.validate_context import load_context

RUNNING = "active"
STOPPED = ("paused", "killed")
MIN_REASON = 5


@dataclass(frozen=True, slots=True)
class JourneyStatus:
    journey_id: str
    version: str
    state: str
    priority: int
    reason: str
    changed_by: str
    changed_at: datetime
    enrolments: dict[str, int]
    tasks: dict[str, int]


@lru_cache(maxsize=256)
def _parsed(spec_json: str) -> Journey:
    import json

    return parse_journey(json.loads(spec_json))


def spec_of(session: Session, workspace_id: str, journey_id: str, version: str) -> Journey:
    """The stored version of the journey, parsed (cached by its content)."""
    row = session.scalars(
        select(JourneyVersion).where(
            JourneyVersion.workspace_id == workspace_id,
            JourneyVersion.journey_id == journey_id,
            JourneyVersion.version == version,
        )
    ).one_or_none()
    if row is None:
        raise NotFound(
            f"journey {journey_id!r} has no stored version {version!r}",
            field="journey",
            fix=f"run `mcopilot journey save FILE` for version {version}",
        )
    return _parsed(canonical_json(row.spec))


def state_of(session: Session, workspace_id: str, journey_id: str) -> JourneyState | None:
    return session.get(JourneyState, (workspace_id, journey_id))


def _state_or_raise(
    session: Session, workspace_id: str, journey_id: str, *, lock: bool = True
) -> JourneyState:
    state = session.get(JourneyState, (workspace_id, journey_id), with_for_update=lock)
    if state is None:
        raise NotFound(
            f"no journey {journey_id!r} in this workspace",
            field="JOURNEY",
            fix="save it first: `mcopilot journey save FILE --workspace W --as USER`",
        )
    return state


def _audit(
    session: Session, member: Member, action: str, inputs: dict[str, Any], decision: str
) -> None:
    append(
        session,
        member.workspace_id,
        actor=member.handle,
        action=action,
        inputs=inputs,
        decision=decision,
    )


def _reason(reason: str, *, needed: bool) -> str:
    reason = " ".join((reason or "").split())
    if needed and len(reason) < MIN_REASON:
        raise InvalidInput(
            "give a reason",
            field="--reason",
            fix='say why, e.g. --reason "legal review of the offer"',
        )
    return reason


#: Saving may come before the journeys an exit transitions to are stored; activating may not.
SAVE_ALLOWS = frozenset({"unknown_transition"})


def refuse_problems(
    session: Session,
    member: Member,
    journey: Journey,
    *,
    stage: str,
    allow: frozenset[str] = frozenset(),
) -> None:
    """InvalidInput naming the first validator error (against the workspace's journeys,
    segments and caps) and how many there are; warnings never refuse."""
    context = load_context(session, member.workspace_id, member.workspace_slug)
    errors: list[Problem] = [
        p for p in validate(journey, context) if p.is_error and p.code not in allow
    ]
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InvalidInput(
            f"cannot {stage} {journey.id} {journey.version}: {first.message}{more}",
            field=first.path,
            fix=first.fix or "run `mcopilot journey validate FILE --workspace W` for every problem",
        )


def save(
    session: Session, member: Member, data: Any, *, now: datetime | None = None
) -> tuple[JourneyVersion, bool]:
    """Store a validated journey version (marketers and above); (row, created). The same
    version with the same content is a no-op; with other content, a Conflict."""
    require_role(member, "marketer", to="save journeys")
    journey = data if isinstance(data, Journey) else parse_journey(data)
    refuse_problems(session, member, journey, stage="save", allow=SAVE_ALLOWS)
    spec = journey.model_dump(mode="json")
    digest = content_hash(spec)
    existing = session.scalars(
        select(JourneyVersion).where(
            JourneyVersion.workspace_id == member.workspace_id,
            JourneyVersion.journey_id == journey.id,
            JourneyVersion.version == journey.version,
        )
    ).one_or_none()
    if existing is not None:
        if existing.spec_hash == digest:
            return existing, False
        raise Conflict(
            f"journey {journey.id!r} version {journey.version} is stored with other content",
            field="version",
            fix="give the changed journey a new version (versions are never edited in place)",
        )
    now = now or utcnow()
    row = JourneyVersion(
        id=new_id("jv"),
        workspace_id=member.workspace_id,
        journey_id=journey.id,
        version=journey.version,
        spec=spec,
        spec_hash=digest,
        created_by=member.handle,
        created_at=now,
    )
    session.add(row)
    if session.get(JourneyState, (member.workspace_id, journey.id)) is None:
        draft = JourneyState(
            workspace_id=member.workspace_id,
            journey_id=journey.id,
            version=journey.version,
            state="draft",
            priority=journey.priority,
            reason="",
            changed_by=member.handle,
            changed_at=now,
        )
        session.add(draft)
        _record_change(session, draft)
    session.flush()
    _audit(
        session,
        member,
        "journey.save",
        {"journey_id": journey.id, "version": journey.version, "spec_hash": digest},
        "saved",
    )
    return row, True


def unapproved_assets(
    session: Session, workspace_id: str, journey: Journey, *, now: datetime
) -> list[str]:
    """Every step asset that cannot go out: no `ref`, or its item is not approved as it is."""
    problems: list[str] = []
    for step in journey.steps():
        assets: list[tuple[str, Asset]] = [(f"{step.id}.asset", step.asset)]
        if step.backup_asset is not None:
            assets.append((f"{step.id}.backup_asset", step.backup_asset))
        for where, asset in assets:
            if asset.ref is None:
                problems.append(f"{where}: no approved item (`ref`)")
                continue
            item = session.scalars(
                select(ApprovalItem).where(
                    ApprovalItem.workspace_id == workspace_id, ApprovalItem.id == asset.ref
                )
            ).one_or_none()
            if item is None:
                problems.append(f"{where}: approval item {asset.ref!r} does not exist")
            elif not is_approved(
                session,
                workspace_id=workspace_id,
                item_id=item.id,
                content_hash=item.content_hash,
                now=now,
            ):
                problems.append(f"{where}: item {asset.ref!r} is {item.state}, not approved")
    return problems


def activate(
    session: Session,
    member: Member,
    journey_id: str,
    *,
    version: str | None = None,
    now: datetime | None = None,
) -> JourneyState:
    """Run a stored version (the newest saved one when not named); every step's asset must be
    approved as it is. A killed journey stays killed (resume it as an admin)."""
    require_role(member, "marketer", to="activate journeys")
    now = now or utcnow()
    state = _state_or_raise(session, member.workspace_id, journey_id)
    if state.state == "killed":
        raise Conflict(
            f"journey {journey_id!r} is stopped by its kill switch",
            field="JOURNEY",
            fix="an admin resumes it: `mcopilot journey resume JOURNEY --as ADMIN`",
        )
    if version is None:
        version = session.scalars(
            select(JourneyVersion.version)
            .where(
                JourneyVersion.workspace_id == member.workspace_id,
                JourneyVersion.journey_id == journey_id,
            )
            .order_by(JourneyVersion.created_at.desc())
            .limit(1)
        ).one()
    journey = spec_of(session, member.workspace_id, journey_id, version)
    refuse_problems(session, member, journey, stage="activate")
    problems = unapproved_assets(session, member.workspace_id, journey, now=now)
    if problems:
        raise InvalidInput(
            f"cannot activate: {'; '.join(problems)}",
            field="nodes",
            fix="submit each asset for approval, have it approved, and set its `ref`",
        )
    state.version, state.state, state.priority = version, RUNNING, journey.priority
    state.reason, state.changed_by, state.changed_at = "", member.handle, now
    _record_change(session, state)
    _audit(
        session,
        member,
        "journey.activate",
        {"journey_id": journey_id, "version": version},
        "active",
    )
    return state


def running_journeys(session: Session, workspace_id: str) -> list[str]:
    """The ids of the workspace's journeys that run now (state `active`), sorted."""
    return list(
        session.scalars(
            select(JourneyState.journey_id)
            .where(JourneyState.workspace_id == workspace_id, JourneyState.state == RUNNING)
            .order_by(JourneyState.journey_id)
        )
    )


def _journeys_to_change(
    session: Session, workspace_id: str, journey_id: str | None, states: tuple[str, ...]
) -> list[JourneyState]:
    if journey_id is not None:
        return [_state_or_raise(session, workspace_id, journey_id)]
    return list(
        session.scalars(
            select(JourneyState)
            .where(JourneyState.workspace_id == workspace_id, JourneyState.state.in_(states))
            .order_by(JourneyState.journey_id)
            .with_for_update()
        )
    )


def pause(
    session: Session, member: Member, journey_id: str, *, reason: str, now: datetime | None = None
) -> JourneyState:
    """Stop sending for one journey (marketers and above); its due steps wait, none is lost."""
    require_role(member, "marketer", to="pause journeys")
    reason = _reason(reason, needed=True)
    state = _state_or_raise(session, member.workspace_id, journey_id)
    if state.state != RUNNING:
        raise Conflict(f"journey {journey_id!r} is {state.state}, not active", field="JOURNEY")
    return _set(session, member, state, "paused", reason, now or utcnow(), "journey.pause")


def kill_switch(
    session: Session,
    member: Member,
    journey_id: str | None,
    *,
    reason: str,
    now: datetime | None = None,
) -> list[JourneyState]:
    """The emergency stop (admins): one journey, or every active or paused journey of the
    workspace when no journey is named. Due steps wait; an admin resumes."""
    require_role(member, "admin", to="use the journey kill switch")
    reason = _reason(reason, needed=True)
    now = now or utcnow()
    states = _journeys_to_change(session, member.workspace_id, journey_id, ("active", "paused"))
    return [
        _set(session, member, state, "killed", reason, now, "journey.kill")
        for state in states
        if state.state != "killed"
    ]


def resume(
    session: Session,
    member: Member,
    journey_id: str | None,
    *,
    reason: str = "",
    now: datetime | None = None,
) -> list[JourneyState]:
    """Run paused journeys again (marketers) or killed ones (admins); without a journey, every
    paused or killed journey of the workspace (admins)."""
    now = now or utcnow()
    reason = _reason(reason, needed=False)
    if journey_id is None:
        require_role(member, "admin", to="resume every journey of the workspace")
    states = _journeys_to_change(session, member.workspace_id, journey_id, STOPPED)
    changed: list[JourneyState] = []
    for state in states:
        if state.state not in STOPPED:
            raise Conflict(
                f"journey {state.journey_id!r} is {state.state}, not paused", field="JOURNEY"
            )
        require_role(
            member,
            "admin" if state.state == "killed" else "marketer",
            to=f"resume a {state.state} journey",
        )
        changed.append(_set(session, member, state, RUNNING, reason, now, "journey.resume"))
    return changed


def _record_change(session: Session, state: JourneyState) -> None:
    """Keep the state just set, and when it took effect, in the journey's history."""
    session.add(
        JourneyStateChange(
            workspace_id=state.workspace_id,
            journey_id=state.journey_id,
            version=state.version,
            state=state.state,
            reason=state.reason,
            changed_by=state.changed_by,
            changed_at=state.changed_at,
        )
    )
    session.flush()


def _set(
    session: Session,
    member: Member,
    state: JourneyState,
    new: str,
    reason: str,
    now: datetime,
    action: str,
) -> JourneyState:
    before = state.state
    state.state, state.reason, state.changed_by, state.changed_at = new, reason, member.handle, now
    _record_change(session, state)
    _audit(
        session,
        member,
        action,
        {"journey_id": state.journey_id, "from": before, "reason": reason},
        new,
    )
    return state


def _counts(
    session: Session, column: Any, status: Any, where: list[Any]
) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {}
    rows = session.execute(
        select(column, status, func.count()).where(*where).group_by(column, status)
    )
    for journey_id, value, count in rows:
        found.setdefault(journey_id, {})[value] = count
    return found


def status(
    session: Session, workspace_id: str, journey_id: str | None = None
) -> list[JourneyStatus]:
    """Each journey's run state with its enrolments and due steps counted by state."""
    query = select(JourneyState).where(JourneyState.workspace_id == workspace_id)
    if journey_id is not None:
        query = query.where(JourneyState.journey_id == journey_id)
    states = list(session.scalars(query.order_by(JourneyState.journey_id)))
    enrolments = _counts(
        session,
        JourneyEnrolment.journey_id,
        JourneyEnrolment.status,
        [JourneyEnrolment.workspace_id == workspace_id],
    )
    tasks = _counts(
        session,
        JourneyTask.journey_id,
        JourneyTask.status,
        [JourneyTask.workspace_id == workspace_id],
    )
    return [
        JourneyStatus(
            journey_id=s.journey_id,
            version=s.version,
            state=s.state,
            priority=s.priority,
            reason=s.reason,
            changed_by=s.changed_by,
            changed_at=s.changed_at,
            enrolments=enrolments.get(s.journey_id, {}),
            tasks=tasks.get(s.journey_id, {}),
        )
        for s in states
    ]
