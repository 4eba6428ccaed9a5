"""A validation problem: how bad, which rule, where (a field path), what is wrong and the fix."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]
ERROR: Severity = "error"
WARNING: Severity = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding of the journey validator.

    `path` is the field path in the journey as written (`nodes[3].day`, `exits[1].transition_to`,
    `journey` for the whole); `code` names the rule (see `journeys.validate`).
    """

    severity: Severity
    code: str
    path: str
    message: str
    fix: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def line(self) -> str:
        """One line for a terminal: `error nodes[3].day: ... (code); fix: ...`."""
        text = f"{self.severity} {self.path}: {self.message} ({self.code})"
        if self.fix:
            text += f"; fix: {self.fix}"
        return " ".join(text.split())

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.is_error]


def ordered(problems: list[Problem]) -> list[Problem]:
    """Errors first, then warnings; otherwise in the order found; exact repeats dropped."""
    unique = list(dict.fromkeys(problems))
    return [p for p in unique if p.is_error] + [p for p in unique if not p.is_error]
