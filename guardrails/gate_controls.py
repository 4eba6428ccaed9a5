"""The kill switch: pause and resume everything that reaches a workspace's customers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.errors import InvalidInput
from core.models import Execution, GateControl, OutboxMessage
from core.roles import Member, require_role
from core.settings import Settings
from guardrails.audit.service import append


@dataclass(frozen=True, slots=True)
class GateStatus:
    workspace_paused: bool
    global_paused: bool
    reason: str
    changed_by: str | None
    changed_at: datetime | None
    executions: int
    outbox_unpublished: int

    @property
    def paused(self) -> bool:
        return self.workspace_paused or self.global_paused


def set_paused(
    session: Session, admin: Member, *, paused: bool, reason: str, now: datetime | None = None
) -> GateControl:
    """Turn the workspace's kill switch on or off (admins only), with an audit record."""
    require_role(admin, "admin", to="pause or resume sending")
    reason = reason.strip()
    if paused and len(reason) < 5:
        raise InvalidInput(
            "a pause needs a reason", field="--reason", fix='say why, e.g. --reason "incident 42"'
        )
    now = now or utcnow()
    control = session.get(GateControl, admin.workspace_id, with_for_update=True)
    if control is None:
        control = GateControl(workspace_id=admin.workspace_id, changed_by=admin.handle)
        session.add(control)
    control.paused = paused
    control.reason = reason
    control.changed_by = admin.handle
    control.changed_at = now
    session.flush()
    append(
        session,
        admin.workspace_id,
        actor=admin.handle,
        action="gate.pause" if paused else "gate.resume",
        inputs={"reason": reason},
        decision="paused" if paused else "resumed",
    )
    return control


def status(session: Session, workspace_id: str, settings: Settings) -> GateStatus:
    control = session.get(GateControl, workspace_id)
    executions = session.scalar(
        select(func.count()).select_from(Execution).where(Execution.workspace_id == workspace_id)
    )
    unpublished = session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.workspace_id == workspace_id, OutboxMessage.published_at.is_(None))
    )
    return GateStatus(
        workspace_paused=bool(control and control.paused),
        global_paused=settings.kill_switch,
        reason=control.reason if control else "",
        changed_by=control.changed_by if control else None,
        changed_at=control.changed_at if control else None,
        executions=executions or 0,
        outbox_unpublished=unpublished or 0,
    )
