"""What a content check reports: a rule id, severity, the span, a message, a fix and its source."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["block", "warn"]
SEVERITIES: tuple[Severity, ...] = ("block", "warn")


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem in a piece of copy.

    `rule_id` names the rule (e.g. `avoid.word.cheap`, `sms.stop_text`, `claim.unsupported`);
    `start`/`end` index the offending text in the checked field (`field`: body, subject...),
    both 0 when the problem is something missing; `source` cites where the rule comes from
    (a policy chunk citation, a channel rule, or the evidence that failed to support a claim).
    """

    rule_id: str
    severity: Severity
    message: str
    start: int = 0
    end: int = 0
    text: str = ""
    fix: str = ""
    source: str = ""
    field: str = "body"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def blocking(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that stop the copy from going out."""
    return [f for f in findings if f.severity == "block"]


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Blocks first, then by field and position: the order a reviewer reads them in."""
    return sorted(
        findings, key=lambda f: (SEVERITIES.index(f.severity), f.field, f.start, f.rule_id)
    )


def passes(findings: Sequence[Finding]) -> bool:
    """True when nothing blocks."""
    return not blocking(findings)
