"""What an audit record says, validated and made safe to keep: secrets dropped, PII redacted,
every value plain JSON, the output reduced to its hash."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any
from uuid import UUID

from core.errors import InvalidInput
from guardrails.audit.chain import canonical_json
from guardrails.pii import redact

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_EVIDENCE_ID = re.compile(r"^[\w.:/#@-]{1,200}$")
_LIMITS = {"actor": 100, "action": 60, "decision": 30, "prompt_version": 64, "model_tier": 20}


@dataclass(frozen=True, slots=True)
class Entry:
    """The caller's side of an audit record, before it is given a place in the chain."""

    actor: str
    action: str
    inputs: Any
    evidence_ids: list[str]
    prompt_version: str | None
    model_tier: str | None
    output_hash: str | None
    decision: str
    result: Any


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | UUID | PurePath):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(type(value).__name__)


def plain_json(value: Any, *, field: str) -> Any:
    """The value as the JSON it will be stored and hashed as (dates as ISO text, tuples as
    lists); InvalidInput naming the field for anything JSON cannot hold."""
    try:
        return json.loads(json.dumps(value, default=_json_default, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"cannot be stored as JSON ({exc})",
            field=field,
            fix="pass strings, numbers, booleans, None, lists and dicts with string keys",
        ) from None


def output_digest(output: Any) -> str:
    """sha256 of what went out: of the bytes, of a string's UTF-8, else of its canonical JSON."""
    if isinstance(output, bytes):
        data = output
    elif isinstance(output, str):
        data = output.encode("utf-8")
    else:
        data = canonical_json(plain_json(output, field="output")).encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def _text(name: str, value: str | None, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("must be a non-empty string", field=name)
    if len(value) > _LIMITS[name]:
        raise InvalidInput(f"is longer than {_LIMITS[name]} characters", field=name)
    return value


def _evidence(ids: Iterable[str]) -> list[str]:
    if isinstance(ids, str):
        raise InvalidInput("must be a list of ids, not one string", field="evidence_ids")
    cleaned = list(ids)
    for item in cleaned:
        if not isinstance(item, str) or not _EVIDENCE_ID.fullmatch(item):
            raise InvalidInput(
                f"{item!r} is not an evidence id",
                field="evidence_ids",
                fix="pass chunk or citation ids: 1-200 letters, digits and . : / # @ _ -",
            )
    return cleaned


def build_entry(
    *,
    actor: str,
    action: str,
    inputs: Any,
    evidence_ids: Iterable[str] = (),
    prompt_version: str | None = None,
    model_tier: str | None = None,
    output: Any = None,
    output_hash: str | None = None,
    decision: str,
    result: Any = None,
) -> Entry:
    """A validated entry: inputs and result redacted (secrets never, PII masked) and plain JSON;
    `output` (or its `output_hash`, 64 lowercase hex) kept only as a hash."""
    if output is not None and output_hash is not None:
        raise InvalidInput(
            "give the output or its hash, not both", field="output_hash", fix="drop one"
        )
    if output_hash is not None and not _HEX64.fullmatch(output_hash):
        raise InvalidInput("must be a sha256 in 64 lowercase hex digits", field="output_hash")
    if output is not None:
        output_hash = output_digest(output)
    return Entry(
        actor=str(_text("actor", actor, required=True)),
        action=str(_text("action", action, required=True)),
        inputs=redact(plain_json(inputs, field="inputs")),
        evidence_ids=_evidence(evidence_ids),
        prompt_version=_text("prompt_version", prompt_version, required=False),
        model_tier=_text("model_tier", model_tier, required=False),
        output_hash=output_hash,
        decision=str(_text("decision", decision, required=True)),
        result=redact(plain_json(result, field="result")),
    )
