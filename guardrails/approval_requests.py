"""What is submitted for approval, validated: kind, title, the exact content, its evidence
and policy findings, and the audience it reaches. Errors name the field path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.errors import InvalidInput
from core.ids import content_hash
from guardrails.findings import Finding, blocking

Kind = Literal["asset", "journey_activation", "large_send", "budget_change"]
MAX_EVIDENCE = 200
MAX_FINDINGS = 500


class ApprovalRequest(BaseModel):
    """One item for the queue. `content` is exactly what would go out (or be activated)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Kind
    title: str = Field(min_length=1, max_length=200)
    content: dict[str, Any] = Field(min_length=1)
    evidence_ids: list[str] = Field(default_factory=list, max_length=MAX_EVIDENCE)
    findings: list[Finding] = Field(default_factory=list, max_length=MAX_FINDINGS)
    audience_size: int | None = Field(default=None, ge=0)
    expires_in_hours: int | None = Field(default=None, ge=1, le=24 * 365)

    @field_validator("title")
    @classmethod
    def _one_line(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("must not be blank")
        return value

    @field_validator("evidence_ids")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(v.strip() for v in value if v.strip()))

    @model_validator(mode="after")
    def _large_send_has_audience(self) -> ApprovalRequest:
        if self.kind == "large_send" and self.audience_size is None:
            raise ValueError("a large_send needs audience_size (how many customers it reaches)")
        return self

    @property
    def content_hash(self) -> str:
        """sha256 of the canonical JSON of the content: what an approval is bound to."""
        return content_hash(self.content)

    @property
    def finding_dicts(self) -> list[dict[str, Any]]:
        return [f.to_dict() for f in self.findings]

    @property
    def blocking_findings(self) -> int:
        return len(blocking(self.findings))


def package_hash(
    *,
    title: str,
    content_sha: str,
    evidence_ids: list[str],
    findings: list[dict[str, Any]],
    audience_size: int | None,
) -> str:
    """A hash of everything the reviewer judges: an edit that changes any of it is a new
    revision (the gate still binds to the content hash alone)."""
    return content_hash(
        {
            "title": title,
            "content_hash": content_sha,
            "evidence_ids": evidence_ids,
            "findings": findings,
            "audience_size": audience_size,
        }
    )


def _path(field: str, location: tuple[Any, ...]) -> str:
    path = field
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def parse_request(data: Any, *, field: str = "item") -> ApprovalRequest:
    """Validate an item; InvalidInput naming the path (`item.findings[0].severity`)."""
    try:
        return ApprovalRequest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _path(field, tuple(first.get("loc", ())))
        message = first["msg"].removeprefix("Value error, ")
        raise InvalidInput(
            message,
            field=where,
            fix="see the item format in `mcopilot approvals submit --help`",
        ) from None


def read_request(path: Path, *, field: str = "--file") -> ApprovalRequest:
    """An item from a JSON file; InvalidInput naming the file and what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise InvalidInput(
            f"cannot read {str(path)!r}: {reason}", field=field, fix="check the path"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{str(path)!r} is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            field=field,
            fix="fix the JSON",
        ) from None
    return parse_request(data, field=field)
