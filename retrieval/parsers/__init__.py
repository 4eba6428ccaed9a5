"""Parsers from Markdown, HTML, plain text and PDF to a title, a text and its sections."""

from __future__ import annotations

from pathlib import Path

from retrieval.documents import ParsedDocument
from retrieval.parsers.errors import CorruptFile, ParseError, UnsupportedFile

SUFFIXES = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".txt": "text",
    ".text": "text",
    ".pdf": "pdf",
}

__all__ = ["SUFFIXES", "CorruptFile", "ParseError", "UnsupportedFile", "parse_bytes", "title_from"]


def title_from(path: str) -> str:
    """A readable title from a file name: `offers-and-discounts.md` -> `Offers and discounts`."""
    stem = Path(path).stem.replace("_", " ").replace("-", " ").strip()
    return (stem[:1].upper() + stem[1:]) if stem else path


def media_type_of(path: str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        allowed = ", ".join(sorted(SUFFIXES))
        raise UnsupportedFile(
            f"unsupported file type {suffix or '(none)'!r}", fix=f"supported types are {allowed}"
        )
    return SUFFIXES[suffix]


def _decode(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise CorruptFile("binary content in a text file", fix="check the file's type and encoding")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def parse_bytes(data: bytes, path: str) -> ParsedDocument:
    """Parse a file's bytes by its suffix; raises ParseError for what cannot be read."""
    media_type = media_type_of(path)
    fallback = title_from(path)
    if not data.strip():
        raise CorruptFile("the file is empty", fix="add content or remove the file")
    if media_type == "pdf":
        from retrieval.parsers.pdf import parse_pdf

        return parse_pdf(data, fallback_title=fallback)
    text = _decode(data).replace("\r\n", "\n").replace("\r", "\n")
    if media_type == "markdown":
        from retrieval.parsers.markdown import parse_markdown

        return parse_markdown(text, fallback_title=fallback)
    if media_type == "html":
        from retrieval.parsers.html import parse_html

        return parse_html(text, fallback_title=fallback)
    from retrieval.parsers.text import parse_text

    return parse_text(text, fallback_title=fallback)
