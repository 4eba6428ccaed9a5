"""The retrieval eval: labeled queries over the demo corpus, scored per retriever mode."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field

from core.db import session_scope
from core.settings import Settings
from evals.metrics import first_relevant_rank, mean_reciprocal_rank, recall_at_k
from retrieval.search import SearchEngine, SearchResult

DATASET = Path(__file__).resolve().parent / "datasets" / "retrieval.yaml"
HOLDOUT = DATASET.with_name("retrieval_holdout.yaml")  # written after tuning, never tuned on
MODES: dict[str, tuple[str, ...]] = {
    "bm25": ("bm25",),
    "dense": ("dense",),
    "hybrid": ("bm25", "dense"),
}


class Expected(BaseModel):
    source: str
    heading: str


class LabeledQuery(BaseModel):
    id: str
    kind: Literal["paraphrase", "keyword", "exact", "negation", "heading", "question"]
    query: str = Field(min_length=1)
    expected: Expected


class RetrievalDataset(BaseModel):
    version: int
    corpus: str
    queries: list[LabeledQuery] = Field(min_length=1)


def load_dataset(path: Path = DATASET) -> RetrievalDataset:
    return RetrievalDataset.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def is_relevant(result: SearchResult, expected: Expected) -> bool:
    return result.source == expected.source and expected.heading in result.heading_path


@dataclass
class ModeScore:
    mode: str
    recall_at_1: float
    recall_at_5: float
    mrr: float
    misses: list[str] = field(default_factory=list)
    by_kind: dict[str, float] = field(default_factory=dict)


def evaluate(
    settings: Settings,
    workspace: str,
    dataset: RetrievalDataset,
    *,
    engine: SearchEngine | None = None,
    k: int = 10,
) -> dict[str, ModeScore]:
    """Recall@1, recall@5 and MRR@k of every mode on the dataset, in an ingested workspace."""
    engine = engine or SearchEngine(settings)
    scores: dict[str, ModeScore] = {}
    with session_scope(settings) as session:
        for mode, retrievers in MODES.items():
            ranked: list[list[bool]] = []
            misses: list[str] = []
            kinds: Counter[str] = Counter()
            kind_hits: Counter[str] = Counter()
            for item in dataset.queries:
                results = engine.search(session, workspace, item.query, k=k, retrievers=retrievers)
                relevance = [is_relevant(r, item.expected) for r in results]
                ranked.append(relevance)
                rank = first_relevant_rank(relevance)
                kinds[item.kind] += 1
                if rank is not None and rank <= 5:
                    kind_hits[item.kind] += 1
                else:
                    misses.append(item.id)
            scores[mode] = ModeScore(
                mode=mode,
                recall_at_1=recall_at_k(ranked, 1),
                recall_at_5=recall_at_k(ranked, 5),
                mrr=mean_reciprocal_rank(ranked, k),
                misses=misses,
                by_kind={kind: kind_hits[kind] / n for kind, n in sorted(kinds.items())},
            )
    return scores
