"""A piece of channel copy to check: its fields per channel and what it is about."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.errors import InvalidInput

CHANNEL_FIELDS: dict[str, tuple[str, ...]] = {
    "email": ("subject", "preheader", "body"),
    "sms": ("body",),
    "push": ("title", "body"),
    "in_app": ("title", "body"),
}
MAX_FIELD_CHARS = 100_000


@dataclass(frozen=True, slots=True)
class CopyAsset:
    """The copy of one message. `variables` names the template variables the sender will fill
    (None: none); `offer_type`, `price` and `region` say what the disclaimer, discount and
    regional rules need to know when the copy alone cannot tell."""

    channel: str
    body: str
    subject: str = ""
    preheader: str = ""
    title: str = ""
    offer_type: str | None = None
    price: float | None = None
    region: str | None = None
    variables: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.channel not in CHANNEL_FIELDS:
            raise InvalidInput(
                f"unknown channel {self.channel!r}",
                field="channel",
                fix=f"use one of {', '.join(CHANNEL_FIELDS)}",
            )
        for name in ("body", "subject", "preheader", "title"):
            if len(getattr(self, name)) > MAX_FIELD_CHARS:
                raise InvalidInput(
                    f"{name} is longer than {MAX_FIELD_CHARS:,} characters",
                    field=name,
                    fix="check the right file was passed",
                )
        for name in ("subject", "preheader"):
            if getattr(self, name) and self.channel != "email":
                raise InvalidInput(
                    f"a {self.channel} message has no {name}",
                    field=name,
                    fix="pass a subject and preheader only with --channel email",
                )
        if self.title and self.channel not in {"push", "in_app"}:
            raise InvalidInput(
                f"a {self.channel} message has no title",
                field="title",
                fix="pass a title only with --channel push or in_app",
            )
        if self.price is not None and self.price <= 0:
            raise InvalidInput("the price must be above 0", field="price")
        if self.region is not None and self.region not in {"US", "CA", "EU", "UK"}:
            raise InvalidInput(
                f"unknown region {self.region!r}", field="region", fix="use US, CA, EU or UK"
            )

    def fields(self) -> list[tuple[str, str]]:
        """(field name, text) for each field of the channel, in reading order."""
        return [(name, getattr(self, name)) for name in CHANNEL_FIELDS[self.channel]]

    def full_text(self) -> str:
        return "\n".join(text for _, text in self.fields() if text)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> CopyAsset:
        """An asset from plain data (JSON), e.g. what an agent produced."""
        variables = data.get("variables")
        return cls(
            channel=str(data.get("channel", "")),
            body=str(data.get("body", "")),
            subject=str(data.get("subject", "")),
            preheader=str(data.get("preheader", "")),
            title=str(data.get("title", "")),
            offer_type=data.get("offer_type"),
            price=data.get("price"),
            region=data.get("region"),
            variables=frozenset(variables) if variables is not None else None,
        )
