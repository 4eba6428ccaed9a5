"""Hybrid search: BM25 and dense candidates fused by reciprocal rank fusion, read back from the
database within the workspace. `search()` is the contract the agents call.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from core import workspaces
from core.db import session_scope
from core.errors import InvalidInput
from core.settings import Settings, get_settings
from retrieval import knowledge_store
from retrieval.fusion import Fused, reciprocal_rank_fusion
from retrieval.indexes import Indexes, shared_indexes
from retrieval.injection import strip_invisible

MAX_K = 50
MAX_QUERY_CHARS = 2000


@dataclass(frozen=True, slots=True)
class FusionConfig:
    """How candidates are gathered and fused; tuned on evals/datasets/retrieval.yaml with
    benchmarks/tune_retrieval.py (k 20 and a 1.25 BM25 weight sat in the best region for every
    chunk size tried; quoted phrases found verbatim rank first).
    """

    rrf_k: float = 20.0
    bm25_weight: float = 1.25
    dense_weight: float = 1.0
    depth: int = 40
    exact_phrases: bool = True


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One retrieved chunk, with where it comes from and which retrievers found it."""

    chunk_id: str
    doc_id: str
    source: str
    title: str
    heading_path: list[str]
    text: str
    score: float
    retrievers: list[str]
    char_start: int
    char_end: int
    flagged: bool = False
    released: bool = False
    ranks: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def normalise_query(query: str) -> str:
    """NFKC, invisible characters out, whitespace collapsed; raises on an empty query."""
    text = " ".join(strip_invisible(query or "").split())
    if not text:
        raise InvalidInput(
            "the query is empty", field="query", fix="pass a question or some keywords"
        )
    return text[:MAX_QUERY_CHARS]


_QUOTED = re.compile(r'"([^"]{3,})"|\u201c([^\u201d]{3,})\u201d')
_NON_WORD = re.compile(r"[\W_]+")


def quoted_phrases(query: str) -> list[str]:
    """The phrases a query puts in double quotes (straight or curly), normalised for matching."""
    found = [a or b for a, b in _QUOTED.findall(query)]
    return [p for p in (_fold(phrase) for phrase in found) if p]


def _fold(text: str) -> str:
    return _NON_WORD.sub(" ", text.casefold()).strip()


def phrase_filter(order: list[str], texts: dict[str, str], query: str) -> list[str]:
    """Candidates containing every quoted phrase of the query first, each group in its order."""
    phrases = quoted_phrases(query)
    if not phrases:
        return order
    matching = [i for i in order if all(p in _fold(texts.get(i, "")) for p in phrases)]
    chosen = set(matching)
    return matching + [i for i in order if i not in chosen]


def validate_k(k: int) -> int:
    if not 1 <= k <= MAX_K:
        raise InvalidInput(f"k must be between 1 and {MAX_K}, got {k}", field="k")
    return k


class SearchEngine:
    """Answers queries for any workspace; holds the loaded model and indexes between queries."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        indexes: Indexes | None = None,
        config: FusionConfig | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.indexes = indexes or shared_indexes(self.settings)
        self.config = config or FusionConfig()

    def search(
        self,
        session: Session,
        workspace_slug: str,
        query: str,
        *,
        k: int = 5,
        retrievers: tuple[str, ...] = ("bm25", "dense"),
        exclude_flagged: bool = False,
    ) -> list[SearchResult]:
        """The k best chunks of the workspace for the query, best first.

        `exclude_flagged` leaves out quarantined chunks: flagged at ingest and not released
        by an admin (`mcopilot knowledge quarantine release`). Generation always sets it.
        """
        text = normalise_query(query)
        validate_k(k)
        unknown = set(retrievers) - {"bm25", "dense"}
        if unknown or not retrievers:
            raise InvalidInput(
                f"unknown retrievers {sorted(unknown)}", field="retrievers", fix="use bm25, dense"
            )
        workspace = workspaces.get_or_raise(session, workspace_slug)
        depth = max(self.config.depth, k)
        rankings: dict[str, list[str]] = {}
        if "bm25" in retrievers:
            keyword_index = self.indexes.keyword_index(session, workspace)
            rankings["bm25"] = [hit.chunk_id for hit in keyword_index.query(text, depth)]
        if "dense" in retrievers:
            self.indexes.ensure_vectors(session, workspace)
            vector = self.indexes.embed_query(text)
            hits = self.indexes.vectors.query(workspace.id, vector, depth)
            rankings["dense"] = [hit.chunk_id for hit in hits]
        fused = reciprocal_rank_fusion(
            rankings,
            weights={"bm25": self.config.bm25_weight, "dense": self.config.dense_weight},
            k=self.config.rrf_k,
        )
        if self.config.exact_phrases and quoted_phrases(text):
            texts = knowledge_store.chunk_texts(session, workspace.id, [f.chunk_id for f in fused])
            by_id = {f.chunk_id: f for f in fused}
            fused = [by_id[i] for i in phrase_filter(list(by_id), texts, text)]
        results: list[SearchResult] = []
        # Read back a few more than k at a time: some may be orphans or excluded as flagged.
        page = k + 5
        for offset in range(0, len(fused), page):
            candidates = fused[offset : offset + page]
            stored = knowledge_store.chunks_by_ids(
                session, workspace.id, [f.chunk_id for f in candidates]
            )
            for candidate in candidates:
                chunk = stored.get(candidate.chunk_id)
                if chunk is None or (exclude_flagged and chunk.quarantined):
                    continue  # a vector the database no longer knows, or quarantined text
                results.append(_result(chunk, candidate))
                if len(results) == k:
                    return results
        return results


def _result(chunk: knowledge_store.StoredChunk, candidate: Fused) -> SearchResult:
    return SearchResult(
        chunk_id=chunk.id,
        doc_id=chunk.document_id,
        source=chunk.source,
        title=chunk.title,
        heading_path=list(chunk.heading_path),
        text=chunk.text,
        score=round(candidate.score, 6),
        retrievers=candidate.retrievers,
        char_start=chunk.char_start,
        char_end=chunk.char_end,
        flagged=chunk.flagged,
        released=chunk.released,
        ranks=dict(candidate.ranks),
    )


def search(
    workspace: str,
    query: str,
    *,
    k: int = 5,
    exclude_flagged: bool = False,
    settings: Settings | None = None,
) -> list[SearchResult]:
    """Hybrid search in one workspace: what `mcopilot search` prints and the agents call."""
    settings = settings or get_settings()
    engine = SearchEngine(settings)
    with session_scope(settings) as session:
        return engine.search(session, workspace, query, k=k, exclude_flagged=exclude_flagged)
