"""Segment-spec messages (identify, track, page, batch) validated into plain typed data.

Pure: text in, messages or row errors out. Field names follow the Segment spec (camelCase);
an error names the field path, such as `properties.products[2].price`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

MAX_LINE_BYTES = 512 * 1024


@dataclass(frozen=True, slots=True)
class RowError:
    """A row that did not load: where, which field, what is wrong and (when known) the fix."""

    line: int
    field: str
    message: str
    fix: str | None = None

    def __str__(self) -> str:
        text = f"line {self.line}: {self.field}: {self.message}"
        return f"{text}; {self.fix}" if self.fix else text


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    message_id: str = Field(alias="messageId", min_length=1, max_length=200)
    user_id: str | None = Field(default=None, alias="userId", max_length=200)
    anonymous_id: str | None = Field(default=None, alias="anonymousId", max_length=200)
    timestamp: datetime | None = None
    context: dict[str, Any] = Field(default_factory=dict)

    @field_validator("user_id", "anonymous_id", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)  # Segment allows numeric ids; they are strings to us
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("timestamp")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # Segment timestamps without a zone are UTC
        return value

    @model_validator(mode="after")
    def _someone(self) -> _Message:
        if not self.user_id and not self.anonymous_id:
            raise ValueError("userId or anonymousId is required")
        return self

    @property
    def email(self) -> str | None:
        traits = getattr(self, "traits", None) or self.context.get("traits") or {}
        email = traits.get("email") if isinstance(traits, dict) else None
        return email.strip().lower() if isinstance(email, str) and "@" in email else None


class Identify(_Message):
    type: Literal["identify"]
    traits: dict[str, Any] = Field(default_factory=dict)


class Track(_Message):
    type: Literal["track"]
    event: str = Field(min_length=1, max_length=200)
    properties: dict[str, Any] = Field(default_factory=dict)


class Page(_Message):
    type: Literal["page"]
    name: str | None = Field(default=None, max_length=200)
    properties: dict[str, Any] = Field(default_factory=dict)


Message = Identify | Track | Page
_MODELS: dict[str, type[_Message]] = {"identify": Identify, "track": Track, "page": Page}


def _field_path(location: tuple[Any, ...]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "message"


def parse_message(payload: Any, line: int, *, prefix: str = "") -> Message | RowError:
    """One message object, validated; a batch is expanded by parse_line."""
    if not isinstance(payload, dict):
        return RowError(line, prefix.rstrip(".") or "message", "must be a JSON object")
    kind = payload.get("type")
    model = _MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        allowed = "identify, track, page, batch"
        return RowError(line, f"{prefix}type", f"must be one of {allowed}, got {kind!r}")
    try:
        return model.model_validate(payload)  # type: ignore[return-value]
    except ValidationError as exc:
        first = exc.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        return RowError(line, prefix + _field_path(first["loc"]), message)


@dataclass(frozen=True, slots=True)
class Parsed:
    """A valid message, its line, and its place in a batch (`batch[3].`, or empty)."""

    message: Message
    line: int
    prefix: str = ""


def parse_line(text: str, line: int) -> list[Parsed | RowError]:
    """One JSON line: a message, or a `batch` of messages (each validated on its own)."""
    if len(text.encode("utf-8", "replace")) > MAX_LINE_BYTES:
        return [RowError(line, "message", f"longer than {MAX_LINE_BYTES} bytes")]
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        return [RowError(line, "message", f"not valid JSON ({exc.msg} at column {exc.colno})")]
    if isinstance(payload, dict) and payload.get("type") == "batch":
        batch = payload.get("batch")
        if not isinstance(batch, list) or not batch:
            return [RowError(line, "batch", "must be a non-empty list of messages")]
        items = [(item, f"batch[{i}].") for i, item in enumerate(batch)]
    else:
        items = [(payload, "")]
    out: list[Parsed | RowError] = []
    for item, prefix in items:
        parsed = parse_message(item, line, prefix=prefix)
        out.append(parsed if isinstance(parsed, RowError) else Parsed(parsed, line, prefix))
    return out
