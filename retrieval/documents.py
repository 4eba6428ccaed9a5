"""Plain data passed between parsing, chunking and indexing: documents, sections, chunks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Section:
    """A run of text under one heading: `text[start:end]` of its document."""

    heading_path: tuple[str, ...]
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class ParsedDocument:
    """A document reduced to its title, its text and the sections that cover it."""

    title: str
    text: str
    sections: tuple[Section, ...]
    media_type: str


@dataclass(frozen=True, slots=True)
class ChunkDraft:
    """A chunk before it has ids: a span of one section, never spanning two."""

    position: int
    heading_path: tuple[str, ...]
    text: str
    char_start: int
    char_end: int
    token_count: int
    injection_flags: tuple[dict[str, Any], ...] = field(default=())

    @property
    def flagged(self) -> bool:
        return bool(self.injection_flags)


def indexed_text(heading_path: tuple[str, ...] | list[str], text: str) -> str:
    """What the embedding and the keyword index see: the heading path, then the chunk text."""
    if not heading_path:
        return text
    return " › ".join(heading_path) + "\n" + text
