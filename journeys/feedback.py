"""Provider feedback, decided: parse a webhook's events and say what each one does (pure).

    delivered, open, click    recorded (email ones also feed email_events: analytics, lifecycle)
    bounce (hard or unknown)  recorded, and the customer is suppressed on the channel (bounce)
    bounce (soft)             recorded only: a full mailbox is not a dead address
    complaint                 recorded, and suppressed on the channel (complaint)
    unsubscribe               recorded, and opted out at once of the channel, or of every
                              channel when the event says `"scope": "all"`

A bounce without `bounce_type` counts as hard: providers that do not classify bounces report
the permanent ones, and mailing a dead address again harms the sender's reputation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.errors import InvalidInput
from core.models import CHANNELS, EMAIL_EVENT_TYPES

MAX_EVENTS = 1000
FeedbackType = Literal["delivered", "open", "click", "bounce", "complaint", "unsubscribe"]


class FeedbackEvent(BaseModel):
    """One event as the provider sends it; unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=200)
    type: FeedbackType
    provider_message_id: str = Field(min_length=1, max_length=200)
    occurred_at: datetime
    channel: str
    bounce_type: Literal["hard", "soft"] | None = None
    scope: Literal["channel", "all"] = "channel"

    @field_validator("channel")
    @classmethod
    def _known_channel(cls, value: str) -> str:
        if value not in CHANNELS:
            raise ValueError(f"must be one of {', '.join(CHANNELS)}")
        return value


def _field_path(loc: tuple[Any, ...], many: bool) -> str:
    parts = list(loc)
    path = f"[{parts.pop(0)}]" if many and parts and isinstance(parts[0], int) else ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def parse_events(payload: Any) -> list[FeedbackEvent]:
    """The events of a webhook body (one event object or a list of them); InvalidInput naming
    the first bad field (`[2].type`, `occurred_at`...) otherwise."""
    many = isinstance(payload, list)
    items = payload if many else [payload]
    if not items:
        raise InvalidInput("holds no event", field="body", fix="send one event or a list")
    if len(items) > MAX_EVENTS:
        raise InvalidInput(
            f"holds {len(items)} events; at most {MAX_EVENTS} per request",
            field="body",
            fix="split the batch",
        )
    events: list[FeedbackEvent] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidInput(
                "is not a JSON object",
                field=f"[{index}]" if many else "body",
                fix="send {id, type, provider_message_id, occurred_at, channel}",
            )
        try:
            event = FeedbackEvent.model_validate(item)
        except ValidationError as exc:
            errors = exc.errors()
            paths = [
                _field_path((index, *e["loc"]) if many else tuple(e["loc"]), many) for e in errors
            ]
            message = str(errors[0]["msg"]).removeprefix("Value error, ")
            fix = (
                f"every field with a problem: {', '.join(paths)}"
                if len(paths) > 1
                else "an event is {id, type, provider_message_id, occurred_at, channel, "
                "bounce_type?}"
            )
            raise InvalidInput(message, field=paths[0], fix=fix) from None
        if event.occurred_at.tzinfo is None:
            raise InvalidInput(
                "has no time zone",
                field=_field_path((index, "occurred_at") if many else ("occurred_at",), many),
                fix="send ISO 8601 with an offset, e.g. 2026-11-20T11:00:00Z",
            )
        events.append(event)
    return events


@dataclass(frozen=True, slots=True)
class Effect:
    """What one new event changes beyond its own record."""

    email_event: str | None = None
    suppress: str | None = None  # the suppression reason: bounce or complaint
    opt_out: str | None = None  # the channel (or `all`) to opt the customer out of


def is_hard_bounce(event: FeedbackEvent) -> bool:
    return event.type == "bounce" and event.bounce_type != "soft"


def effect_of(event: FeedbackEvent) -> Effect:
    """The effect of an event seen for the first time (a repeat has none)."""
    soft_bounce = event.type == "bounce" and not is_hard_bounce(event)
    mirrored = (
        event.type
        if event.channel == "email" and event.type in EMAIL_EVENT_TYPES and not soft_bounce
        else None
    )
    if is_hard_bounce(event) or event.type == "complaint":
        return Effect(mirrored, suppress=event.type)
    if event.type == "unsubscribe":
        return Effect(mirrored, opt_out="all" if event.scope == "all" else event.channel)
    return Effect(mirrored)
