"""From heading lines found in a text to the title and the sections that cover it."""

from __future__ import annotations

from dataclasses import dataclass

from retrieval.documents import ParsedDocument, Section


@dataclass(frozen=True, slots=True)
class HeadingLine:
    """A heading found in a text: its level (1 highest), its words, and the span of its line."""

    level: int
    text: str
    start: int
    end: int


def sections_from_headings(
    text: str,
    headings: list[HeadingLine],
    *,
    body_start: int = 0,
    fallback_title: str,
    media_type: str,
) -> ParsedDocument:
    """Cut the text at its headings; each section runs from after its heading to the next one.

    A level-1 heading before any other heading is the document's title; without one the
    fallback title (from the file name or metadata) is used. Every section's heading path
    starts with the title, then the enclosing headings by level.
    """
    headings = sorted(headings, key=lambda h: h.start)
    title = fallback_title
    if headings and headings[0].level == 1 and not text[body_start : headings[0].start].strip():
        title = headings[0].text
        body_start = headings[0].end
        headings = headings[1:]

    sections: list[Section] = []
    stack: list[HeadingLine] = []
    cursor = body_start
    path: tuple[str, ...] = (title,)
    for heading in headings:
        _add_section(sections, text, path, cursor, heading.start)
        while stack and stack[-1].level >= heading.level:
            stack.pop()
        stack.append(heading)
        path = (title, *(h.text for h in stack))
        cursor = heading.end
    _add_section(sections, text, path, cursor, len(text))
    return ParsedDocument(title=title, text=text, sections=tuple(sections), media_type=media_type)


def _add_section(
    sections: list[Section], text: str, path: tuple[str, ...], start: int, end: int
) -> None:
    """Append the section unless it holds only whitespace; the span is trimmed to its words."""
    body = text[start:end]
    stripped = body.strip()
    if not stripped:
        return
    lead = len(body) - len(body.lstrip())
    sections.append(
        Section(heading_path=path, start=start + lead, end=start + lead + len(stripped))
    )
