"""Plain text to sections: ALL-CAPS lines and underlined (=== / ---) lines are headings."""

from __future__ import annotations

import re

from retrieval.documents import ParsedDocument
from retrieval.parsers.sections import HeadingLine, sections_from_headings

_UNDERLINE = re.compile(r"^\s*(=+|-+)\s*$")
_LINE = re.compile(r"[^\n]*\n?")


def _is_caps_heading(line: str) -> bool:
    stripped = line.strip()
    letters = [c for c in stripped if c.isalpha()]
    return (
        3 <= len(stripped) <= 80
        and len(letters) >= 3
        and all(c.isupper() for c in letters)
        and stripped[-1] not in ".,;:!?"
        and not stripped.startswith(("-", "*", "•"))
    )


def find_text_headings(text: str) -> list[HeadingLine]:
    """Heading lines of a plain text: an underlined line (=== is level 1, --- level 2) or an
    ALL-CAPS line; the first ALL-CAPS line of the text is level 1 (a title), later ones level 2.
    """
    lines = [(m.start(), m.group()) for m in _LINE.finditer(text) if m.group()]
    headings: list[HeadingLine] = []
    skip_next = False
    seen_text = False
    for index, (start, line) in enumerate(lines):
        if skip_next:
            skip_next = False
            continue
        stripped = line.strip()
        if not stripped:
            continue
        following = lines[index + 1][1] if index + 1 < len(lines) else ""
        if _UNDERLINE.match(following) and len(stripped) <= 100 and not _UNDERLINE.match(line):
            level = 1 if following.strip().startswith("=") else 2
            end = lines[index + 1][0] + len(following)
            headings.append(HeadingLine(level=level, text=stripped, start=start, end=end))
            skip_next = True
        elif _is_caps_heading(line):
            level = 2 if seen_text or headings else 1
            headings.append(
                HeadingLine(level=level, text=stripped, start=start, end=start + len(line))
            )
        seen_text = True
    return headings


def parse_text(text: str, *, fallback_title: str, media_type: str = "text") -> ParsedDocument:
    return sections_from_headings(
        text, find_text_headings(text), fallback_title=fallback_title, media_type=media_type
    )
