"""Stable citations for retrieved chunks: `[Title › Heading › … #chk_…]`, and their parsing.

The label says where the text comes from in words a reader knows; the chunk id makes the
citation machine-checkable (guardrails look the chunk up and compare the claim with it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

SEPARATOR = " › "
ELLIPSIS = "…"
MAX_LABEL_PARTS = 3
CITATION = re.compile(r"\[(?P<label>[^\[\]#]+?) #(?P<chunk_id>chk_[0-9a-f]{16})\]")


class Citable(Protocol):
    chunk_id: str
    title: str
    heading_path: list[str]


@dataclass(frozen=True, slots=True)
class Citation:
    chunk_id: str
    label: str

    def __str__(self) -> str:
        return f"[{self.label} #{self.chunk_id}]"


def citation_label(title: str, heading_path: Sequence[str]) -> str:
    """`Title › Section › Subsection`; deeper paths keep the title and the last two headings."""
    parts = [title, *[h for h in heading_path if h != title]]
    parts = [
        " ".join(p.replace("[", "(").replace("]", ")").replace("#", "").split()) for p in parts
    ]
    parts = [p for p in parts if p]
    if len(parts) > MAX_LABEL_PARTS:
        parts = [parts[0], ELLIPSIS, *parts[-(MAX_LABEL_PARTS - 1) :]]
    return SEPARATOR.join(parts)


def cite(result: Citable) -> Citation:
    """The citation of a search result (or anything with chunk_id, title and heading_path)."""
    return Citation(result.chunk_id, citation_label(result.title, result.heading_path))


def format_citation(result: Citable) -> str:
    return str(cite(result))


def parse_citations(text: str) -> list[Citation]:
    """Every citation in a text, in order of appearance."""
    return [Citation(m["chunk_id"], m["label"]) for m in CITATION.finditer(text)]
