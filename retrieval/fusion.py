"""Reciprocal rank fusion: merge ranked lists by 1 / (k + rank), weighted per retriever."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Fused:
    """One fused candidate: its score and the retrievers that found it with their ranks."""

    chunk_id: str
    score: float
    ranks: dict[str, int]

    @property
    def retrievers(self) -> list[str]:
        return sorted(self.ranks)


def reciprocal_rank_fusion(
    rankings: Mapping[str, Sequence[str]],
    *,
    weights: Mapping[str, float] | None = None,
    k: float = 60.0,
) -> list[Fused]:
    """Fuse best-first id lists; ties go to the candidate with the best single rank, then id.

    score(d) = sum over retrievers r that ranked d of weight_r / (k + rank_r(d)), rank from 1.
    """
    weights = weights or {}
    scores: dict[str, float] = {}
    ranks: dict[str, dict[str, int]] = {}
    for retriever, ranking in rankings.items():
        weight = weights.get(retriever, 1.0)
        for rank, chunk_id in enumerate(ranking, start=1):
            if retriever in ranks.setdefault(chunk_id, {}):
                continue  # a duplicate lower in the same list adds nothing
            ranks[chunk_id][retriever] = rank
            scores[chunk_id] = scores.get(chunk_id, 0.0) + weight / (k + rank)
    fused = [Fused(chunk_id, scores[chunk_id], ranks[chunk_id]) for chunk_id in scores]
    fused.sort(key=lambda f: (-f.score, min(f.ranks.values()), f.chunk_id))
    return fused
