"""A workspace's contact policy in the database: the stored rules (defaults until an admin sets
some) joined with the caps of its action inventory."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.contact_rules import Caps
from core.models import ActionInventory, ContactPolicyRecord
from guardrails.contact_policy import ContactPolicy, ContactRules, load_rules_file, parse_rules


def rules_of(session: Session, workspace_id: str) -> ContactRules:
    stored = session.get(ContactPolicyRecord, workspace_id)
    return ContactRules() if stored is None else parse_rules(stored.body)


def caps_of(session: Session, workspace_id: str) -> Caps:
    """The caps of the workspace's action inventory (seed 000's defaults when none is set)."""
    body = session.scalars(
        select(ActionInventory.body).where(ActionInventory.workspace_id == workspace_id)
    ).one_or_none()
    caps = (body or {}).get("caps")
    return Caps() if caps is None else Caps.model_validate(caps)


def policy_of(session: Session, workspace_id: str) -> ContactPolicy:
    return ContactPolicy(rules=rules_of(session, workspace_id), caps=caps_of(session, workspace_id))


def set_rules(session: Session, workspace_id: str, path: Path) -> ContactRules:
    """Validate a contact policy file and make it the workspace's."""
    rules = load_rules_file(path)
    body = rules.model_dump(mode="json")
    stored = session.get(ContactPolicyRecord, workspace_id)
    if stored is None:
        session.add(
            ContactPolicyRecord(workspace_id=workspace_id, version=rules.version, body=body)
        )
    else:
        stored.version, stored.body, stored.updated_at = rules.version, body, utcnow()
    session.flush()
    return rules


def reset_rules(session: Session, workspace_id: str) -> ContactRules:
    session.execute(
        delete(ContactPolicyRecord).where(ContactPolicyRecord.workspace_id == workspace_id)
    )
    return ContactRules()
