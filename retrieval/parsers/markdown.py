"""Markdown to sections: headings (ATX and setext) give the heading path; spans index the source."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.token import Token

from retrieval.documents import ParsedDocument
from retrieval.parsers.html import HIDING_CLASSES, hidden_by_style
from retrieval.parsers.sections import HeadingLine, sections_from_headings

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*\n", re.DOTALL)
_YAML_LINE = re.compile(r"^(?:[A-Za-z_][\w -]*:(?:\s.*)?|\s+\S.*|-\s.*|#.*)$")


def front_matter_end(text: str) -> int:
    """Where a YAML front-matter block ends (0 if none): only `key: value` lines count, so a
    document that merely opens with a `---` rule keeps its text."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return 0
    lines = [line for line in match.group(1).splitlines() if line.strip()]
    return match.end() if lines and all(_YAML_LINE.match(line) for line in lines) else 0


_parser = MarkdownIt("commonmark").enable("table")


_UNSEEN_HTML = re.compile(
    r"<!--.*?(?:-->|\Z)|<(script|style|noscript|template|iframe)\b[^>]*>.*?(?:</\1\s*>|\Z)",
    re.DOTALL | re.IGNORECASE,
)
_ELEMENT = re.compile(r"<([a-zA-Z][\w-]*)\b([^>]{0,2000})>(.{0,20000}?)</\1\s*>", re.DOTALL)
_INLINE_CODE = re.compile(r"(`+)[^`]*?\1")
_CLASS_ATTR = re.compile(r"\bclass\s*=\s*[\"']([^\"']*)[\"']", re.IGNORECASE)
_STYLE_ATTR = re.compile(r"\bstyle\s*=\s*[\"']([^\"']*)[\"']", re.IGNORECASE)


def _hidden_attributes(attributes: str) -> bool:
    if re.search(
        r"\bhidden\b(?!\s*=\s*[\"']?false)|aria-hidden\s*=\s*[\"']?true", attributes, re.IGNORECASE
    ):
        return True
    style = _STYLE_ATTR.search(attributes)
    if style and hidden_by_style(style.group(1)):
        return True
    classes = _CLASS_ATTR.search(attributes)
    return bool(classes and HIDING_CLASSES & set(classes.group(1).lower().split()))


def blank_unseen_html(text: str, protected: list[tuple[int, int]]) -> str:
    """Raw HTML a reader never sees (comments, scripts, styles, hidden elements) blanked out
    with spaces, outside code; offsets do not move, so spans still index the source."""
    chars = list(text)

    def blank(start: int, end: int) -> None:
        if any(start < p_end and p_start < end for p_start, p_end in protected):
            return
        for i in range(start, end):
            if chars[i] != "\n":
                chars[i] = " "

    for match in _UNSEEN_HTML.finditer(text):
        blank(match.start(), match.end())
    for match in _ELEMENT.finditer(text):
        if _hidden_attributes(match.group(2)):
            blank(match.start(), match.end())
    return "".join(chars)


def _code_ranges(
    text: str, tokens: list[Token], offsets: list[int], first_line: int
) -> list[tuple[int, int]]:
    """Character ranges of fenced and indented code, and of inline code spans."""
    ranges = [
        (offsets[t.map[0] + first_line], offsets[min(t.map[1] + first_line, len(offsets) - 1)])
        for t in tokens
        if t.type in {"fence", "code_block"} and t.map is not None
    ]
    ranges.extend(m.span() for m in _INLINE_CODE.finditer(text))
    return ranges


def _inline_text(token: Token) -> str:
    """Plain text of a heading's inline token: emphasis, links and code reduced to their words."""
    parts = [
        child.content for child in token.children or [] if child.type in {"text", "code_inline"}
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
    body_start = front_matter_end(text)
    offsets = _line_offsets(text)
    first_line = text.count("\n", 0, body_start)
    tokens = _parser.parse(text[body_start:])
    if "<" in text:
        text = blank_unseen_html(text, _code_ranges(text, tokens, offsets, first_line))
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
