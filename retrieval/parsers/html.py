"""HTML to sections: visible text only; scripts, styles, navigation and hidden elements dropped."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Comment, NavigableString, Tag

from retrieval.documents import ParsedDocument
from retrieval.parsers.sections import HeadingLine, sections_from_headings

DROPPED_TAGS = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "head",
        "nav",
        "footer",
        "svg",
        "canvas",
        "iframe",
        "object",
        "embed",
        "form",
        "button",
        "select",
        "input",
        "textarea",
        "meta",
        "link",
        "audio",
        "video",
        "map",
    }
)
BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "main",
        "header",
        "aside",
        "li",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "blockquote",
        "pre",
        "figure",
        "figcaption",
        "table",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "address",
        "details",
        "summary",
        "br",
        "hr",
        "caption",
    }
)
HEADING_TAGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?![.\d]*[1-9])|"
    r"opacity\s*:\s*0(?![.\d]*[1-9])|(?:^|;)\s*(?:width|height)\s*:\s*0(?:px)?\s*(?:;|$)",
    re.IGNORECASE,
)


def is_hidden(tag: Tag) -> bool:
    """True when a browser would not show the element to a reader."""
    if tag.has_attr("hidden"):
        return True
    if str(tag.get("aria-hidden", "")).lower() == "true":
        return True
    if tag.name == "input" and str(tag.get("type", "")).lower() == "hidden":
        return True
    return bool(_HIDDEN_STYLE.search(str(tag.get("style", ""))))


class _Collector:
    """Walks the tree in reading order, gathering paragraphs and headings as text lines."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.headings: list[HeadingLine] = []
        self._line: list[str] = []
        self._length = 0

    def _emit(self, text: str) -> tuple[int, int]:
        if self.parts:
            self.parts.append("\n\n")
            self._length += 2
        start = self._length
        self.parts.append(text)
        self._length += len(text)
        return start, self._length

    def flush(self) -> None:
        text = " ".join("".join(self._line).split())
        self._line = []
        if text:
            self._emit(text)

    def walk(self, node: Tag) -> None:
        for child in node.children:
            if isinstance(child, Comment):
                continue
            if isinstance(child, NavigableString):
                self._line.append(str(child))
                continue
            if not isinstance(child, Tag) or child.name in DROPPED_TAGS or is_hidden(child):
                continue
            if child.name in HEADING_TAGS:
                self.flush()
                words = " ".join(child.get_text(" ").split())
                if words:
                    start, end = self._emit(words)
                    self.headings.append(
                        HeadingLine(
                            level=HEADING_TAGS[child.name], text=words, start=start, end=end
                        )
                    )
            elif child.name in {"td", "th"}:
                self._line.append(" ")
                self.walk(child)
                self._line.append(" |")
            elif child.name in BLOCK_TAGS:
                self.flush()
                self.walk(child)
                self.flush()
            else:
                self.walk(child)


def parse_html(markup: str, *, fallback_title: str) -> ParsedDocument:
    """Parse HTML; a leading <h1> is the title, else the page <title>, else the fallback."""
    soup = BeautifulSoup(markup, "html.parser")
    page_title = " ".join(soup.title.get_text(" ").split()) if soup.title else ""
    root = soup.body or soup
    collector = _Collector()
    collector.walk(root)
    collector.flush()
    return sections_from_headings(
        "".join(collector.parts),
        collector.headings,
        fallback_title=page_title or fallback_title,
        media_type="html",
    )
