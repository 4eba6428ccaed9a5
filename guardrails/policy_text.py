"""Small text readers the policy extraction shares: list items, quotes, tables, slugs."""

from __future__ import annotations

import re

CHANNEL_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", re.compile(r"\be-?mails?\b", re.IGNORECASE)),
    ("sms", re.compile(r"\bsms\b|\btext messages?\b|\btexts\b", re.IGNORECASE)),
    ("push", re.compile(r"\bpush\b", re.IGNORECASE)),
    ("in_app", re.compile(r"\bin-app\b", re.IGNORECASE)),
)
REGION_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("EU", re.compile(r"\bEU\b|\bEuropean Union\b")),
    ("UK", re.compile(r"\bUK\b|\bUnited Kingdom\b")),
    ("US", re.compile(r"\bUS\b|\bUnited States\b")),
    ("CA", re.compile(r"\bCanad(?:a|ian)\b")),
)
NUMBER_WORDS = {"zero": 0, "no": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_QUOTE = re.compile(r"[\"“]([^\"“”]{1,300}?)[\"”]")
_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(?P<item>.+?)\s*$")
_SEE_ALSO = re.compile(r"\((?:see|for example|e\.g\.)[^)]*\)", re.IGNORECASE)


def quotes(text: str) -> list[str]:
    """The quoted phrases in a text, without the quotes and trailing punctuation;
    "(see …)" references are left out."""
    cleaned = _SEE_ALSO.sub("", text)
    found = []
    for match in _QUOTE.finditer(cleaned):
        phrase = match.group(1).strip().rstrip(".,;:").strip()
        if phrase:
            found.append(phrase)
    return found


def list_items(text: str) -> list[str]:
    """The bulleted or numbered items of a text, one line each."""
    return [m["item"] for line in text.splitlines() if (m := _ITEM.match(line))]


def table_rows(text: str) -> list[list[str]]:
    """The rows of a Markdown table (header first, the separator row left out)."""
    rows = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("|"):
            continue
        cells = [cell.strip() for cell in stripped.strip("|").split("|")]
        if all(re.fullmatch(r":?-{2,}:?", cell) for cell in cells if cell):
            continue
        rows.append(cells)
    return rows


def tables(text: str) -> list[list[list[str]]]:
    """Each Markdown table of a text: its rows, header first."""
    found: list[list[list[str]]] = []
    current: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.strip().startswith("|"):
            current.append(line)
        elif current:
            found.append(table_rows("\n".join(current)))
            current = []
    return found


def sentences(text: str) -> list[str]:
    """The sentences of a text (lines and list items count as their own)."""
    found: list[str] = []
    for line in text.splitlines():
        line = _ITEM.sub(r"\g<item>", line).strip()
        if line and not line.startswith("|"):
            found.extend(s.strip() for s in re.split(r"(?<=[.!?])\s+(?=[A-Z\"“])", line))
    return [s for s in found if s]


def slug(text: str, limit: int = 48) -> str:
    """`SaaS plan fees, monthly billing` → `saas-plan-fees-monthly-billing`."""
    value = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return value[:limit].rstrip("-") or "rule"


def split_condition(text: str) -> tuple[str, str]:
    """`cancel (in win-back copy)` → (`cancel`, `in win-back copy`)."""
    match = re.search(r"\(([^)]*)\)", text)
    if not match:
        return text.strip(), ""
    return (text[: match.start()] + text[match.end() :]).strip(), match.group(1).strip()


def channels_in(text: str) -> list[str]:
    """The channels a text names, in order of first mention."""
    hits = [(m.start(), name) for name, pattern in CHANNEL_WORDS if (m := pattern.search(text))]
    return [name for _, name in sorted(hits)]


def regions_in(text: str) -> list[str]:
    return [name for name, pattern in REGION_WORDS if pattern.search(text)]


def number(word: str) -> int:
    """`one` → 1, `12` → 12."""
    return NUMBER_WORDS[word.lower()] if word.lower() in NUMBER_WORDS else int(word)
