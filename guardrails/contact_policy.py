"""A workspace's contact rules beyond the caps: quiet hours, the daily flood limit, the
same-trigger window and the time zone for customers without one. Validated, versioned by hash.

The frequency caps and the high-value cooldown stay in the action inventory (`mcopilot actions
set`), the one place both next best action and the execution gate read them from; a contact
policy that names them is refused.
"""

from __future__ import annotations

import json
from datetime import time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.config_files import field_path, read_yaml_file
from core.contact_rules import Caps
from core.errors import InvalidInput
from core.ids import sha256_hex

Channel = Literal["email", "sms", "push", "in_app"]


def zone(name: str) -> ZoneInfo | None:
    """The IANA time zone of that name, or None when there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


class QuietHours(BaseModel):
    """A daily window, in the customer's local time, when nothing is sent on these channels.
    A window may cross midnight (21:00-08:00). In-app messages are left out by default: the
    customer sees them only when they open the app."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: time = time(21, 0)
    end: time = time(8, 0)
    channels: tuple[Channel, ...] = ("email", "sms", "push")

    @field_validator("start", "end", mode="before")
    @classmethod
    def _clock_time(cls, value: Any) -> Any:
        """HH:MM; YAML reads an unquoted 21:00 as the number 1260 (base 60), so take that too."""
        if isinstance(value, int) and not isinstance(value, bool):
            if not 0 <= value < 24 * 60:
                raise ValueError(f"must be a time of day HH:MM, got {value!r}")
            return time(value // 60, value % 60)
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("start and end are the same; remove quiet_hours to allow any time")
        return self


class ContactRules(BaseModel):
    """What a stored contact policy holds (everything but the caps)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    quiet_hours: QuietHours | None = Field(default_factory=QuietHours)
    default_timezone: str = Field(
        default="UTC", description="For customers whose time zone is missing or unknown."
    )
    flood_per_day: int = Field(
        default=3,
        ge=0,
        le=100,
        description="Most messages one customer gets in 24 hours, all channels together "
        "(seed 002's flood control).",
    )
    trigger_window_hours: int = Field(
        default=24,
        ge=0,
        le=24 * 365,
        description="The same trigger reaches the same customer at most once in this window.",
    )

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if zone(value) is None:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name like Europe/Paris")
        return value

    @property
    def version(self) -> str:
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return sha256_hex(canonical)[:16]


class ContactPolicy(BaseModel):
    """Everything the contact decision needs: the rules and the workspace's caps."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: ContactRules = Field(default_factory=ContactRules)
    caps: Caps = Field(default_factory=Caps)


def parse_rules(data: Any) -> ContactRules:
    """Validate a contact policy body; errors name the path (`contact_policy.quiet_hours.end`)."""
    if isinstance(data, dict) and "caps" in data:
        raise InvalidInput(
            "caps are not part of the contact policy",
            field="contact_policy.caps",
            fix="set frequency caps in the action inventory with `mcopilot actions set FILE`",
        )
    try:
        return ContactRules.model_validate(data if data is not None else {})
    except ValidationError as exc:
        error = exc.errors()[0]
        raise InvalidInput(
            error["msg"],
            field=field_path(tuple(error["loc"]), "contact_policy"),
            fix="see `mcopilot contact policy show` for the fields and their defaults",
        ) from None


def load_rules_file(path: Path) -> ContactRules:
    """A contact policy from a YAML or JSON file."""
    return parse_rules(read_yaml_file(path))
