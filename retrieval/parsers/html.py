"""HTML to sections: visible text only; scripts, styles, navigation and hidden elements dropped.

Parsed with lxml (implied end tags, as a browser does) and walked without recursion, so deep
or unclosed markup costs nothing more than long markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bs4 import BeautifulSoup, NavigableString, Tag

from retrieval.documents import ParsedDocument
from retrieval.parsers.sections import HeadingLine, sections_from_headings

DROPPED_TAGS = frozenset(
    {
        "script", "style", "noscript", "template", "head", "nav", "footer", "svg", "canvas",
        "iframe", "object", "embed", "form", "button", "select", "input", "textarea", "meta",
        "link", "audio", "video", "map", "title",
    }
)  # fmt: skip
BLOCK_TAGS = frozenset(
    {
        "p", "div", "section", "article", "main", "header", "aside", "li", "ul", "ol", "dl",
        "dt", "dd", "blockquote", "pre", "figure", "figcaption", "table", "thead", "tbody",
        "tfoot", "tr", "address", "details", "summary", "br", "hr", "caption",
    }
)  # fmt: skip
HEADING_TAGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
HIDING_CLASSES = frozenset(
    {"sr-only", "visually-hidden", "screen-reader-text", "hidden", "d-none", "invisible", "hide"}
)
_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*(?:hidden|collapse)|font-size\s*:\s*0(?![.\d]*[1-9])"
    r"|opacity\s*:\s*0(?![.\d]*[1-9])|(?:^|;)\s*(?:width|height|max-height)\s*:\s*0(?:px)?\s*(?:;|$)"
    r"|(?:left|top|right|text-indent)\s*:\s*-\d{3,}|clip\s*:\s*rect\(\s*0|clip\s*:\s*rect\(\s*1px"
    r"|clip-path\s*:\s*inset\(\s*50%|(?:^|;)\s*color\s*:\s*transparent",
    re.IGNORECASE,
)
_COLOR = re.compile(r"(?:^|;)\s*color\s*:\s*([^;]+)", re.IGNORECASE)
_BACKGROUND = re.compile(r"background(?:-color)?\s*:\s*([^;]+)", re.IGNORECASE)
_CSS_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_SIMPLE_SELECTOR = re.compile(r"^(?:[a-z0-9]*\.(?P<cls>[\w-]+)|#(?P<id>[\w-]+))$", re.IGNORECASE)


class HidingRules:
    """What makes an element invisible: attributes, inline styles, and the page's own CSS."""

    def __init__(self, soup: BeautifulSoup) -> None:
        self.classes = set(HIDING_CLASSES)
        self.ids: set[str] = set()
        for style in soup.find_all("style"):
            for selectors, body in _CSS_RULE.findall(style.get_text(" ")):
                if not _HIDDEN_STYLE.search(body):
                    continue
                for selector in selectors.split(","):
                    match = _SIMPLE_SELECTOR.match(selector.strip())
                    if match and match["cls"]:
                        self.classes.add(match["cls"].lower())
                    elif match and match["id"]:
                        self.ids.add(match["id"])

    def hides(self, tag: Tag) -> bool:
        """True when a browser would not show the element to a sighted reader."""
        if tag.has_attr("hidden") or str(tag.get("aria-hidden", "")).lower() == "true":
            return True
        if tag.name == "input" and str(tag.get("type", "")).lower() == "hidden":
            return True
        classes = tag.get("class") or []
        if any(str(c).lower() in self.classes for c in classes):
            return True
        if str(tag.get("id", "")) in self.ids:
            return True
        return hidden_by_style(str(tag.get("style", "")))


def hidden_by_style(style: str) -> bool:
    """True when an inline style hides the element (display, visibility, size, offset, colour)."""
    if _HIDDEN_STYLE.search(style):
        return True
    color, background = _COLOR.search(style), _BACKGROUND.search(style)
    return bool(color and background and _same_colour(color[1], background[1]))


def _same_colour(a: str, b: str) -> bool:
    return "".join(a.lower().split()) == "".join(b.lower().split())


def _skipped(node: Tag, rules: HidingRules) -> bool:
    return node.name in DROPPED_TAGS or rules.hides(node)


def visible_strings(root: Tag, rules: HidingRules) -> Iterator[str]:
    """The text a reader sees inside root, in order (iterative: deep markup is fine)."""
    stack: list[object] = list(reversed(list(root.children)))
    while stack:
        node = stack.pop()
        if type(node) is NavigableString:
            yield str(node)
        elif isinstance(node, Tag) and not _skipped(node, rules):
            stack.extend(reversed(list(node.children)))


class _Collector:
    """Gathers paragraphs and headings in reading order as lines of one text."""

    def __init__(self, rules: HidingRules) -> None:
        self.rules = rules
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

    def walk(self, root: Tag) -> None:
        stack: list[tuple[str, object]] = [("children", root)]
        while stack:
            kind, value = stack.pop()
            if kind == "text":
                self._line.append(str(value))
            elif kind == "flush":
                self.flush()
            elif kind == "children":
                stack.extend(("node", child) for child in reversed(list(value.children)))  # type: ignore[attr-defined]
            elif type(value) is NavigableString:
                self._line.append(str(value))
            elif isinstance(value, Tag) and not _skipped(value, self.rules):
                self._enter(value, stack)

    def _enter(self, tag: Tag, stack: list[tuple[str, object]]) -> None:
        if tag.name in HEADING_TAGS:
            self.flush()
            words = " ".join("".join(visible_strings(tag, self.rules)).split())
            if words:
                start, end = self._emit(words)
                self.headings.append(
                    HeadingLine(level=HEADING_TAGS[tag.name], text=words, start=start, end=end)
                )
        elif tag.name in {"td", "th"}:
            stack.extend([("text", " |"), ("children", tag), ("text", " ")])
        elif tag.name in BLOCK_TAGS:
            stack.extend([("flush", None), ("children", tag), ("flush", None)])
        else:
            stack.append(("children", tag))


def parse_html(markup: str, *, fallback_title: str) -> ParsedDocument:
    """Parse HTML; a leading <h1> is the title, else the page <title>, else the fallback."""
    soup = BeautifulSoup(markup, "lxml")
    rules = HidingRules(soup)
    page_title = " ".join(soup.title.get_text(" ").split()) if soup.title else ""
    collector = _Collector(rules)
    collector.walk(soup.body or soup)
    collector.flush()
    return sections_from_headings(
        "".join(collector.parts),
        collector.headings,
        fallback_title=page_title or fallback_title,
        media_type="html",
    )
