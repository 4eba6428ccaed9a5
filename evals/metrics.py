"""Deterministic retrieval metrics: recall@k and mean reciprocal rank over ranked relevance."""

from __future__ import annotations

from collections.abc import Sequence


def first_relevant_rank(relevance: Sequence[bool]) -> int | None:
    """1-based rank of the first relevant result, or None when none is relevant."""
    for rank, relevant in enumerate(relevance, start=1):
        if relevant:
            return rank
    return None


def recall_at_k(ranked: Sequence[Sequence[bool]], k: int) -> float:
    """Share of queries with a relevant result in the top k (one expected section per query)."""
    if not ranked:
        return 0.0
    hits = sum(1 for relevance in ranked if any(relevance[:k]))
    return hits / len(ranked)


def mean_reciprocal_rank(ranked: Sequence[Sequence[bool]], k: int | None = None) -> float:
    """Mean over queries of 1 / rank of the first relevant result (0 when none in the top k)."""
    if not ranked:
        return 0.0
    total = 0.0
    for relevance in ranked:
        rank = first_relevant_rank(relevance[:k] if k else relevance)
        total += 1.0 / rank if rank else 0.0
    return total / len(ranked)
