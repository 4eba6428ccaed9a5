"""Template variables the sender will not fill, and merge tags left unresolved."""

from __future__ import annotations

import re
from collections.abc import Collection

from guardrails.findings import Finding
from retrieval.citations import CITATION

SOURCE = "built-in rule: every template variable is filled at send time"
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)\s*(?:\|[^}]*)?\}\}")
_LEFTOVER = re.compile(
    r"\{\{|\}\}|\{%|%\}|%%[A-Za-z_]*%%|%%|\*\|[A-Z_]+\|\*|\$\{[^}]*\}"
    r"|\[(?:[a-z][a-z ]{1,30}|[A-Z][A-Z_ ]{2,30})\]"
)


def check_templates(field: str, text: str, variables: Collection[str] | None) -> list[Finding]:
    """`{{ name }}` not among the variables given, and leftover `{{`, `%%`, `*|TAG|*` or
    `[placeholder]` text."""
    known = set(variables or ())
    found: list[Finding] = []
    taken: list[tuple[int, int]] = [(m.start(), m.end()) for m in CITATION.finditer(text)]
    for match in _VARIABLE.finditer(text):
        taken.append((match.start(), match.end()))
        name = match.group(1)
        if name not in known:
            found.append(
                Finding(
                    "template.missing_variable",
                    "block",
                    f"template variable {name!r} has no value",
                    start=match.start(),
                    end=match.end(),
                    text=match.group(),
                    fix=f"provide {name!r} or remove it"
                    + (f" (known: {', '.join(sorted(known))})" if known else ""),
                    source=SOURCE,
                    field=field,
                )
            )
    for match in _LEFTOVER.finditer(text):
        if any(match.start() < stop and match.end() > begin for begin, stop in taken):
            continue
        found.append(
            Finding(
                "template.unresolved",
                "block",
                f"unresolved template text {match.group()!r}",
                start=match.start(),
                end=match.end(),
                text=match.group(),
                fix="fill in the value or remove the placeholder",
                source=SOURCE,
                field=field,
            )
        )
    return found
