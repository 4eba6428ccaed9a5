"""Markdown to sections: headings (ATX and setext) give the heading path; spans index the source."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.token import Token

from retrieval.documents import ParsedDocument
from retrieval.parsers.sections import HeadingLine, sections_from_headings

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n.*?\n---[ \t]*\n", re.DOTALL)
_parser = MarkdownIt("commonmark").enable("table")


def _inline_text(token: Token) -> str:
    """Plain text of a heading's inline token: emphasis, links and code reduced to their words."""
    parts = [
        child.content
        for child in token.children or []
        if child.type in {"text", "code_inline", "html_inline"}
    ]
    return " ".join("".join(parts).split())


def _line_offsets(text: str) -> list[int]:
    offsets = [0]
    for match in re.finditer("\n", text):
        offsets.append(match.end())
    offsets.append(len(text))
    return offsets


def parse_markdown(text: str, *, fallback_title: str) -> ParsedDocument:
    """Parse Markdown source; the first H1 (if it comes first) is the document title."""
    body_start = 0
    front = _FRONT_MATTER.match(text)
    if front:
        body_start = front.end()
    offsets = _line_offsets(text)
    first_line = text.count("\n", 0, body_start)
    tokens = _parser.parse(text[body_start:])
    headings: list[HeadingLine] = []
    for index, token in enumerate(tokens):
        if token.type != "heading_open" or token.map is None:
            continue
        title = _inline_text(tokens[index + 1])
        if not title:
            continue
        line_start, line_end = token.map[0] + first_line, token.map[1] + first_line
        headings.append(
            HeadingLine(
                level=int(token.tag[1]),
                text=title,
                start=offsets[line_start],
                end=offsets[min(line_end, len(offsets) - 1)],
            )
        )
    return sections_from_headings(
        text, headings, body_start=body_start, fallback_title=fallback_title, media_type="markdown"
    )
