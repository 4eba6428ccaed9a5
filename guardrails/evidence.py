"""Evidence: the chunks a piece of copy may cite, as plain data, and when one is quarantined."""

from __future__ import annotations

from dataclasses import dataclass, field

from retrieval.citations import citation_label
from retrieval.documents import indexed_text


def quarantined(flagged: bool, released: bool) -> bool:
    """A chunk flagged at ingest stays out of generation until an admin releases it."""
    return flagged and not released


@dataclass(frozen=True, slots=True)
class Evidence:
    """One chunk usable as evidence: its id, where it comes from and its text."""

    chunk_id: str
    title: str
    heading_path: tuple[str, ...]
    text: str
    source: str = ""

    @property
    def label(self) -> str:
        return citation_label(self.title, self.heading_path)

    @property
    def citation(self) -> str:
        """`[Title › Heading #chk_…]`, the form copy cites it in."""
        return f"[{self.label} #{self.chunk_id}]"

    @property
    def full_text(self) -> str:
        """The title, heading path and text: everything a claim may be checked against."""
        path = (self.title, *[h for h in self.heading_path if h != self.title])
        return indexed_text(path, self.text)


@dataclass(frozen=True, slots=True)
class EvidenceLookup:
    """Cited chunk ids resolved in one workspace: usable, quarantined, or unknown there."""

    found: dict[str, Evidence] = field(default_factory=dict)
    quarantined: frozenset[str] = frozenset()

    def status(self, chunk_id: str) -> str:
        if chunk_id in self.found:
            return "found"
        return "quarantined" if chunk_id in self.quarantined else "unknown"
