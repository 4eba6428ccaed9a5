"""The action inventory: what next best action may choose from, and the constraints on it.

A workspace's inventory is one document (YAML or JSON) validated here: actions with channel,
type, goal, value, cooldown and eligibility criteria in the segment language; frequency caps
per channel per day and week and across channels (seed 000's defaults), blackout dates and
channel health. Its version is the hash of its canonical JSON.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.config_files import field_path, read_yaml_file
from core.contact_rules import Caps
from core.errors import InvalidInput
from core.ids import canonical_json, sha256_hex
from core.models import CHANNELS

DEFAULT_INVENTORY_FILE = Path(__file__).with_name("default_actions.yaml")
ACTION_TYPES = ("email", "sms", "push", "in_app", "offer", "content")
Goal = Literal[
    "winback", "retain", "expand", "cross_sell", "activate", "nurture", "advocacy", "recover"
]


class Action(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,59}$")
    title: str = Field(min_length=1, max_length=200)
    channel: Literal["email", "sms", "push", "in_app"]
    type: Literal["email", "sms", "push", "in_app", "offer", "content"]
    goal: Goal
    value: float = Field(ge=0, description="Relative business value of a success.")
    cooldown_days: int = Field(default=7, ge=0, le=365)
    eligibility: dict[str, Any] = Field(default_factory=dict)
    high_value: bool = Field(default=False, description="Offers: the high-value cooldown applies.")


class Blackout(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start: date
    end: date
    channels: list[Literal["email", "sms", "push", "in_app"]] = Field(
        default_factory=list, description="Empty: every channel."
    )
    reason: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> Blackout:
        if self.end < self.start:
            raise ValueError("end is before start")
        return self


class Inventory(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    actions: list[Action] = Field(min_length=1)
    caps: Caps = Field(default_factory=Caps)
    blackouts: list[Blackout] = Field(default_factory=list)
    channel_health: dict[str, Literal["up", "degraded", "down"]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _unique_ids(self) -> Inventory:
        seen: set[str] = set()
        for action in self.actions:
            if action.id in seen:
                raise ValueError(f"action id {action.id!r} appears twice")
            seen.add(action.id)
        for channel in self.channel_health:
            if channel not in CHANNELS:
                raise ValueError(f"channel_health: unknown channel {channel!r}")
        return self

    @property
    def version(self) -> str:
        return sha256_hex(canonical_json(self.model_dump(mode="json")))[:16]


def parse_inventory(data: Any, validate_criteria: Any | None = None) -> Inventory:
    """Validate an inventory body; errors name the path (`inventory.actions[2].value`).
    `validate_criteria(criteria, path)` checks each action's eligibility in the segment
    language."""
    try:
        inventory = Inventory.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise InvalidInput(
            error["msg"],
            field=field_path(tuple(error["loc"]), "inventory"),
            fix="see docs/ or the default inventory",
        ) from None
    if validate_criteria is not None:
        for index, action in enumerate(inventory.actions):
            validate_criteria(action.eligibility, f"inventory.actions[{index}].eligibility")
    return inventory


def load_inventory_file(path: Path, validate_criteria: Any | None = None) -> Inventory:
    return parse_inventory(read_yaml_file(path), validate_criteria)


def default_inventory(validate_criteria: Any | None = None) -> Inventory:
    return load_inventory_file(DEFAULT_INVENTORY_FILE, validate_criteria)
