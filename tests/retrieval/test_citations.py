"""Citations: stable labels from titles and headings, with the chunk id, and parsing back."""

from __future__ import annotations

from dataclasses import dataclass

from retrieval.citations import Citation, citation_label, format_citation, parse_citations


@dataclass
class Hit:
    chunk_id: str
    title: str
    heading_path: list[str]


def test_label_is_title_and_headings_without_repeating_the_title():
    hit = Hit("chk_0123456789abcdef", "Pricing and plans", ["Pricing and plans", "Free trial"])
    assert format_citation(hit) == "[Pricing and plans › Free trial #chk_0123456789abcdef]"


def test_deep_paths_keep_the_title_and_the_last_two_headings():
    label = citation_label("Guide", ["Guide", "Channels", "SMS", "Opt-out", "Wording"])
    assert label == "Guide › … › Opt-out › Wording"


def test_brackets_and_hashes_in_headings_cannot_break_the_citation():
    hit = Hit("chk_aaaaaaaaaaaaaaaa", "FAQ [2026]", ["FAQ [2026]", "Plan #1?"])
    text = f"Plans start at $29 {format_citation(hit)}."
    assert parse_citations(text) == [Citation("chk_aaaaaaaaaaaaaaaa", "FAQ (2026) › Plan 1?")]


def test_parse_finds_every_citation_in_order_and_is_stable():
    a = Hit("chk_1111111111111111", "Offers", ["Offers", "Maximum discounts"])
    b = Hit("chk_2222222222222222", "Kestrel Money", ["Kestrel Money", "Results"])
    text = f"Up to 25% off {format_citation(a)}. Kestrel grew 31% {format_citation(b)}."
    assert [c.chunk_id for c in parse_citations(text)] == [a.chunk_id, b.chunk_id]
    assert format_citation(a) == format_citation(a)
    assert str(parse_citations(text)[0]) == format_citation(a)
