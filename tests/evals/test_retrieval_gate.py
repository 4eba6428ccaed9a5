"""The retrieval eval gate: the labeled set is valid and hybrid search meets its targets."""

from __future__ import annotations

from collections import Counter

import pytest

from evals.metrics import first_relevant_rank, mean_reciprocal_rank, recall_at_k
from evals.retrieval_eval import DATASET, HOLDOUT, evaluate, load_dataset
from knowledge import DEMO_BRAND_DIR
from retrieval.parsers import parse_bytes

TARGET_RECALL_AT_5 = 0.93
TARGET_MRR = 0.85


@pytest.mark.parametrize("path", [DATASET, HOLDOUT], ids=["tuning", "held-out"])
def test_labeled_set_is_valid_and_points_at_real_sections(path):
    dataset = load_dataset(path)
    assert len(dataset.queries) >= 40
    assert len({q.id for q in dataset.queries}) == len(dataset.queries)
    kinds = Counter(q.kind for q in dataset.queries)
    assert set(kinds) == {"paraphrase", "keyword", "exact", "negation", "heading", "question"}
    assert min(kinds.values()) >= 6
    headings: dict[str, set[str]] = {}
    for item in dataset.queries:
        source = item.expected.source
        if source not in headings:
            document = parse_bytes((DEMO_BRAND_DIR / source).read_bytes(), source)
            headings[source] = {h for s in document.sections for h in s.heading_path}
        assert item.expected.heading in headings[source], (item.id, item.expected)
    assert len(headings) >= 15


def test_held_out_queries_are_new():
    tuning = {q.query for q in load_dataset(DATASET).queries}
    assert not tuning & {q.query for q in load_dataset(HOLDOUT).queries}


def test_metrics_arithmetic():
    ranked = [[False, True], [True], [False, False, False, False, False, True], []]
    assert first_relevant_rank(ranked[0]) == 2 and first_relevant_rank([]) is None
    assert recall_at_k(ranked, 1) == 0.25
    assert recall_at_k(ranked, 5) == 0.5
    assert mean_reciprocal_rank(ranked) == pytest.approx((0.5 + 1 + 1 / 6) / 4)
    assert mean_reciprocal_rank(ranked, k=5) == pytest.approx(1.5 / 4)


@pytest.mark.parametrize("path", [DATASET, HOLDOUT], ids=["tuning", "held-out"])
def test_hybrid_search_meets_the_quality_gate(demo_settings, path):
    """On the set the fusion was tuned on, and on queries written after tuning."""
    scores = evaluate(demo_settings, "demo", load_dataset(path))
    hybrid, bm25, dense = scores["hybrid"], scores["bm25"], scores["dense"]
    summary = {m: (round(s.recall_at_5, 3), round(s.mrr, 3)) for m, s in scores.items()}
    assert hybrid.recall_at_5 >= TARGET_RECALL_AT_5, (summary, hybrid.misses)
    assert hybrid.mrr >= TARGET_MRR, summary
    assert hybrid.recall_at_5 > max(bm25.recall_at_5, dense.recall_at_5), summary
    assert hybrid.mrr > max(bm25.mrr, dense.mrr), summary
