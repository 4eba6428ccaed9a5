"""Chunking: within one section, under the model's token limit, with exact spans and overlap."""

from __future__ import annotations

import itertools

import pytest

from knowledge import DEMO_BRAND_DIR
from retrieval.chunking import ChunkingConfig, approximate_token_count, chunk_document
from retrieval.documents import indexed_text
from retrieval.embeddings import MINILM_MAX_TOKENS, minilm_token_counter
from retrieval.ingest import discover
from retrieval.parsers import parse_bytes


def sentences(n: int, words: int = 12) -> str:
    return " ".join(
        f"Sentence {i} " + " ".join(f"word{i}x{j}" for j in range(words - 2)) + "."
        for i in range(n)
    )


def test_short_sections_become_one_chunk_each_and_never_merge():
    doc = parse_bytes(b"# T\n\n## A\n\nAlpha one.\n\n## B\n\nBeta two.\n", "t.md")
    chunks = chunk_document(doc)
    assert [(c.heading_path, c.text) for c in chunks] == [
        (("T", "A"), "Alpha one."),
        (("T", "B"), "Beta two."),
    ]
    assert [c.position for c in chunks] == [0, 1]


def test_long_section_splits_on_paragraphs_with_overlap_and_exact_spans():
    paragraphs = [sentences(4) for _ in range(8)]
    source = "# Guide\n\n## Long\n\n" + "\n\n".join(paragraphs) + "\n\n## Next\n\nShort.\n"
    doc = parse_bytes(source.encode(), "g.md")
    config = ChunkingConfig(target_tokens=120, overlap_tokens=40)
    chunks = chunk_document(doc, config=config)
    long_chunks = [c for c in chunks if c.heading_path == ("Guide", "Long")]
    assert len(long_chunks) >= 3
    for chunk in chunks:
        assert doc.text[chunk.char_start : chunk.char_end] == chunk.text
    for before, after in itertools.pairwise(long_chunks):
        assert after.char_start < before.char_end, "consecutive chunks share a small overlap"
        overlap = doc.text[after.char_start : before.char_end]
        assert approximate_token_count(overlap) <= config.overlap_tokens
        assert overlap.startswith("Sentence"), "the overlap starts at a sentence boundary"
    covered = "".join(doc.text[c.char_start : c.char_end] for c in long_chunks)
    for paragraph in paragraphs:
        assert paragraph.split(". ")[0] in covered
    assert chunks[-1].heading_path == ("Guide", "Next")


def test_a_paragraph_longer_than_the_budget_splits_by_sentence_then_by_word():
    one_run_on = " ".join(f"token{i}" for i in range(900))  # no sentence ends at all
    source = f"# T\n\n## S\n\n{sentences(30)}\n\n{one_run_on}\n"
    doc = parse_bytes(source.encode(), "t.md")
    count = minilm_token_counter()
    config = ChunkingConfig()
    chunks = chunk_document(doc, count=count, config=config)
    assert len(chunks) > 5
    for chunk in chunks:
        assert chunk.token_count == count(indexed_text(chunk.heading_path, chunk.text)) + 2
        assert chunk.token_count <= config.max_tokens


def test_every_demo_chunk_fits_minilm_so_nothing_is_truncated():
    count = minilm_token_counter()
    total = 0
    for file, source in discover(DEMO_BRAND_DIR):
        doc = parse_bytes(file.read_bytes(), source)
        for chunk in chunk_document(doc, count=count):
            total += 1
            assert chunk.token_count <= MINILM_MAX_TOKENS, (source, chunk.heading_path)
            assert any(
                s.heading_path == chunk.heading_path
                and s.start <= chunk.char_start < chunk.char_end <= s.end
                for s in doc.sections
            ), f"{source}: a chunk spans two sections"
    assert total > 200


@pytest.mark.parametrize("target", [32, 64, 200])
def test_token_budget_holds_for_any_target(target):
    doc = parse_bytes(("# T\n\n## S\n\n" + sentences(40)).encode(), "t.md")
    count = minilm_token_counter()
    for chunk in chunk_document(doc, count=count, config=ChunkingConfig(target_tokens=target)):
        assert chunk.token_count <= 256
