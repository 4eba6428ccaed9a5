"""Why a file could not be parsed: its type is not supported, or its content is broken."""

from __future__ import annotations

from core.errors import InvalidInput


class ParseError(InvalidInput):
    """A file that is reported and skipped; the rest of an ingest goes on."""


class UnsupportedFile(ParseError):
    pass


class CorruptFile(ParseError):
    pass
