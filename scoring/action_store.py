"""A workspace's action inventory in the database (the default one until an admin sets one)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from sqlalchemy.orm import Session

from core.clock import utcnow
from core.models import ActionInventory
from scoring.action_inventory import (
    Inventory,
    default_inventory,
    load_inventory_file,
    parse_inventory,
)


def validate_eligibility(criteria: object, path: str) -> None:
    """Eligibility criteria must be valid in the segment language ({}: everyone)."""
    from scoring.criteria import parse_criteria

    if criteria != {}:
        parse_criteria(criteria, root=path)


@cache
def _default() -> Inventory:
    return default_inventory(validate_eligibility)


def inventory_of(session: Session, workspace_id: str) -> Inventory:
    stored = session.get(ActionInventory, workspace_id)
    if stored is None:
        return _default()
    return parse_inventory(stored.body, validate_eligibility)


def set_inventory(session: Session, workspace_id: str, path: Path) -> Inventory:
    """Validate the file and make it the workspace's inventory (replacing any earlier one)."""
    inventory = load_inventory_file(path, validate_eligibility)
    body = inventory.model_dump(mode="json")
    stored = session.get(ActionInventory, workspace_id)
    if stored is None:
        session.add(
            ActionInventory(
                workspace_id=workspace_id, version=inventory.version, body=body, updated_at=utcnow()
            )
        )
    else:
        stored.version, stored.body, stored.updated_at = inventory.version, body, utcnow()
    session.flush()
    return inventory


def reset_inventory(session: Session, workspace_id: str) -> Inventory:
    stored = session.get(ActionInventory, workspace_id)
    if stored is not None:
        session.delete(stored)
        session.flush()
    return _default()
