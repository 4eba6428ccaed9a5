"""The BM25 keyword index: normalisation, ranking, persistence and staleness."""

from __future__ import annotations

from retrieval.keyword_index import KeywordIndex, KeywordIndexCache, keyword_tokens


def test_tokens_are_casefolded_stemmed_and_keep_numbers():
    assert keyword_tokens("Win-back OFFERS: 15% off, $1.50 per Card-Reader!") == [
        "win",
        "back",
        "offer",
        "15",
        "off",
        "1.50",
        "per",
        "card",
        "reader",
    ]
    assert keyword_tokens("Ｆｕｌｌ width") == ["full", "width"]
    assert keyword_tokens("the and of") == []


def test_query_ranks_matching_chunks_and_ignores_unknown_words():
    index = KeywordIndex.build(
        ["c1", "c2", "c3"],
        [
            "SMS opt-out: reply STOP to unsubscribe.",
            "Email subject lines under 50 characters.",
            "Push notifications respect quiet hours.",
        ],
        version=1,
    )
    hits = index.query("how do customers stop SMS", 5)
    assert hits[0].chunk_id == "c1"
    assert all(h.score > 0 for h in hits)
    assert index.query("zebra quantum", 5) == []
    assert index.query("the of and", 5) == []


def test_saved_index_loads_with_its_version_and_cache_detects_staleness(tmp_path):
    cache = KeywordIndexCache(tmp_path)
    index = KeywordIndex.build(["a", "b"], ["loyalty points", "card readers"], version=3)
    cache.put("ws_1", index)
    fresh = KeywordIndexCache(tmp_path)
    loaded = fresh.get("ws_1", 3)
    assert loaded is not None
    assert loaded.query("card", 2)[0].chunk_id == "b"
    assert fresh.get("ws_1", 4) is None, "a newer workspace version means rebuild"
    cache.drop("ws_1")
    assert KeywordIndexCache(tmp_path).get("ws_1", 3) is None


def test_empty_index_saves_and_answers_nothing(tmp_path):
    cache = KeywordIndexCache(tmp_path)
    cache.put("ws_e", KeywordIndex.build([], [], version=1))
    loaded = KeywordIndexCache(tmp_path).get("ws_e", 1)
    assert loaded is not None and loaded.query("anything", 3) == []


def test_two_writers_of_one_version_do_not_fail_and_old_versions_go(tmp_path):
    first, second = KeywordIndexCache(tmp_path), KeywordIndexCache(tmp_path)
    first.put("ws_1", KeywordIndex.build(["a"], ["loyalty points"], version=1))
    first.put("ws_1", KeywordIndex.build(["a"], ["loyalty points"], version=2))
    second.put("ws_1", KeywordIndex.build(["a"], ["loyalty points"], version=2))
    assert sorted(p.name for p in (tmp_path / "ws_1").iterdir()) == ["v2"]
    assert KeywordIndexCache(tmp_path).get("ws_1", 2) is not None
