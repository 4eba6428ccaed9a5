"""Reciprocal rank fusion: the arithmetic, weights, ties and duplicates."""

from __future__ import annotations

import pytest

from retrieval.fusion import reciprocal_rank_fusion


def test_scores_are_weighted_reciprocal_ranks():
    fused = reciprocal_rank_fusion(
        {"bm25": ["a", "b", "c"], "dense": ["b", "d"]}, weights={"bm25": 2.0}, k=10
    )
    scores = {f.chunk_id: f.score for f in fused}
    assert scores["a"] == pytest.approx(2 / 11)
    assert scores["b"] == pytest.approx(2 / 12 + 1 / 11)
    assert scores["c"] == pytest.approx(2 / 13)
    assert scores["d"] == pytest.approx(1 / 12)
    assert [f.chunk_id for f in fused] == ["b", "a", "c", "d"]
    assert fused[0].retrievers == ["bm25", "dense"]
    assert fused[0].ranks == {"bm25": 2, "dense": 1}


def test_found_by_both_beats_found_by_one_at_equal_ranks():
    fused = reciprocal_rank_fusion({"bm25": ["x", "y"], "dense": ["y", "z"]})
    assert fused[0].chunk_id == "y"


def test_ties_break_by_best_single_rank_then_id():
    fused = reciprocal_rank_fusion({"bm25": ["p", "q"], "dense": ["q", "p"]})
    assert [f.chunk_id for f in fused] == ["p", "q"]


def test_duplicates_in_one_list_count_once():
    fused = reciprocal_rank_fusion({"bm25": ["a", "a", "b"]}, k=0)
    assert {f.chunk_id: f.score for f in fused} == {"a": 1.0, "b": pytest.approx(1 / 3)}


def test_empty_rankings_fuse_to_nothing():
    assert reciprocal_rank_fusion({"bm25": [], "dense": []}) == []
