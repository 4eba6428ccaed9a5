"""PDF to sections with pypdf: the text of every page, headings found as in plain text."""

from __future__ import annotations

import io
import logging

from pypdf import PdfReader
from pypdf.errors import PdfReadError, PyPdfError

from retrieval.documents import ParsedDocument
from retrieval.parsers.errors import CorruptFile
from retrieval.parsers.text import parse_text

logging.getLogger("pypdf").setLevel(logging.ERROR)


def parse_pdf(data: bytes, *, fallback_title: str) -> ParsedDocument:
    """Extract each page's text; the metadata title, when set, is the fallback title."""
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise CorruptFile(
                "the PDF is encrypted", fix="save an unencrypted copy and ingest that"
            )
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        title = reader.metadata.title if reader.metadata else None
        meta_title = title if isinstance(title, str) else ""
    except CorruptFile:
        raise
    except (
        PdfReadError,
        PyPdfError,
        ValueError,
        KeyError,
        TypeError,
        OSError,
        AttributeError,
        AssertionError,
        IndexError,
        RecursionError,
        ZeroDivisionError,
    ) as exc:
        raise CorruptFile(
            f"not a readable PDF ({exc.__class__.__name__})", fix="check the file opens in a viewer"
        ) from exc
    text = "\n\n".join(page for page in pages if page)
    if not text.strip():
        raise CorruptFile(
            "the PDF has no extractable text (scanned pages?)", fix="run OCR on it first"
        )
    return parse_text(text, fallback_title=meta_title.strip() or fallback_title, media_type="pdf")
