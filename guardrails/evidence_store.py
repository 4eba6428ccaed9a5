"""Evidence for generation and for claim checks, read from one workspace; quarantine applies."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from core import workspaces
from guardrails.evidence import Evidence, EvidenceLookup
from retrieval import knowledge_store
from retrieval.search import SearchEngine, SearchResult


def load_evidence(session: Session, workspace_id: str, chunk_ids: Iterable[str]) -> EvidenceLookup:
    """The chunks among these ids that may be used as evidence, and the quarantined ones.

    An id of another workspace, or of nothing, is in neither: it is unknown here.
    """
    ids = sorted(set(chunk_ids))
    found: dict[str, Evidence] = {}
    held: set[str] = set()
    for i in range(0, len(ids), knowledge_store.ID_BATCH):
        stored = knowledge_store.chunks_by_ids(
            session, workspace_id, ids[i : i + knowledge_store.ID_BATCH]
        )
        for chunk in stored.values():
            if chunk.quarantined:
                held.add(chunk.id)
            else:
                found[chunk.id] = Evidence(
                    chunk_id=chunk.id,
                    title=chunk.title,
                    heading_path=tuple(chunk.heading_path),
                    text=chunk.text,
                    source=chunk.source,
                )
    return EvidenceLookup(found=found, quarantined=frozenset(held))


def as_evidence(result: SearchResult) -> Evidence:
    return Evidence(
        chunk_id=result.chunk_id,
        title=result.title,
        heading_path=tuple(result.heading_path),
        text=result.text,
        source=result.source,
    )


def gather_evidence(
    engine: SearchEngine, session: Session, workspace_slug: str, query: str, *, k: int = 5
) -> list[Evidence]:
    """The k best usable chunks for a query: what generation may quote, never quarantined text."""
    workspaces.get_or_raise(session, workspace_slug)
    results = engine.search(session, workspace_slug, query, k=k, exclude_flagged=True)
    return [as_evidence(r) for r in results if not (r.flagged and not r.released)]
