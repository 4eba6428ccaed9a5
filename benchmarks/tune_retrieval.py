"""Grid over chunk size, heading text in the index and the fusion settings, on the labeled set.

    python benchmarks/tune_retrieval.py [--targets 120,160,200] [--top 15]

Builds in-memory indexes with the same parser, chunker, tokenizer, embedder and BM25 as the
product (exact cosine stands in for Chroma's HNSW, which is exact at this size), then scores
every fusion setting. Prints the best settings by MRR; the chosen defaults live in
retrieval/chunking.py (ChunkingConfig) and retrieval/search.py (FusionConfig).
"""

from __future__ import annotations

import argparse
import itertools
from dataclasses import dataclass

import numpy as np

from evals.metrics import mean_reciprocal_rank, recall_at_k
from evals.retrieval_eval import load_dataset
from knowledge import DEMO_BRAND_DIR
from retrieval.chunking import ChunkingConfig, chunk_document
from retrieval.documents import indexed_text
from retrieval.embeddings import MiniLMEmbedder, minilm_token_counter
from retrieval.fusion import reciprocal_rank_fusion
from retrieval.ingest import discover
from retrieval.keyword_index import KeywordIndex
from retrieval.parsers import parse_bytes
from retrieval.search import FusionConfig, phrase_filter, quoted_phrases

DEPTH = 100


@dataclass
class Built:
    sources: list[str]
    paths: list[list[str]]
    texts: list[str]
    bm25: dict[str, list[str]]
    dense: dict[str, list[str]]


def build(target: int, with_headings: bool, embedder: MiniLMEmbedder, queries: list[str]) -> Built:
    count = minilm_token_counter()
    config = ChunkingConfig(target_tokens=target)
    sources, paths, texts = [], [], []
    for file, source in discover(DEMO_BRAND_DIR):
        document = parse_bytes(file.read_bytes(), source)
        for draft in chunk_document(document, count=count, config=config):
            sources.append(source)
            paths.append(list(draft.heading_path))
            texts.append(draft.text)
    ids = [str(i) for i in range(len(texts))]
    index_texts = [
        indexed_text(p, t) if with_headings else t for p, t in zip(paths, texts, strict=True)
    ]
    keyword = KeywordIndex.build(ids, index_texts, 0)
    matrix = embedder.embed_documents(index_texts)
    bm25, dense = {}, {}
    for query in queries:
        bm25[query] = [h.chunk_id for h in keyword.query(query, DEPTH)]
        similarities = matrix @ embedder.embed_query(query)
        dense[query] = [ids[i] for i in np.argsort(-similarities)[:DEPTH]]
    return Built(sources, paths, texts, bm25, dense)


def score(built: Built, dataset, config: FusionConfig, phrases: bool) -> tuple[float, float, float]:
    ranked = []
    for item in dataset.queries:
        rankings = {
            "bm25": built.bm25[item.query][: config.depth],
            "dense": built.dense[item.query][: config.depth],
        }
        fused = reciprocal_rank_fusion(
            rankings,
            weights={"bm25": config.bm25_weight, "dense": config.dense_weight},
            k=config.rrf_k,
        )
        order = [f.chunk_id for f in fused]
        if phrases and quoted_phrases(item.query):
            order = phrase_filter(order, {i: built.texts[int(i)] for i in order}, item.query)
        relevance = [
            built.sources[int(i)] == item.expected.source
            and item.expected.heading in built.paths[int(i)]
            for i in order[:10]
        ]
        ranked.append(relevance)
    return recall_at_k(ranked, 1), recall_at_k(ranked, 5), mean_reciprocal_rank(ranked)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", default="96,128,160,200")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    dataset = load_dataset()
    embedder = MiniLMEmbedder()
    queries = [q.query for q in dataset.queries]
    rows = []
    for target in [int(t) for t in args.targets.split(",")]:
        for with_headings in (True, False):
            built = build(target, with_headings, embedder, queries)
            for rrf_k, bm25_w, depth, phrases in itertools.product(
                (5, 10, 20, 40, 60), (0.6, 0.8, 1.0, 1.25, 1.5), (10, 20, 40, 100), (True, False)
            ):
                config = FusionConfig(
                    rrf_k=rrf_k, bm25_weight=bm25_w, dense_weight=1.0, depth=depth
                )
                r1, r5, mrr = score(built, dataset, config, phrases)
                rows.append((mrr, r5, r1, target, with_headings, rrf_k, bm25_w, depth, phrases))
            single = {
                mode: score(built, dataset, FusionConfig(bm25_weight=w_b, dense_weight=w_d), False)
                for mode, w_b, w_d in (("bm25", 1.0, 0.0), ("dense", 0.0, 1.0))
            }
            print(
                f"target={target} headings={with_headings} chunks={len(built.texts)} "
                + " ".join(f"{m}: r@5 {s[1]:.3f} mrr {s[2]:.3f}" for m, s in single.items())
            )
    rows.sort(reverse=True)
    print(f"{'MRR':>6} {'r@5':>6} {'r@1':>6} target headings rrf_k bm25_w depth phrases")
    for row in rows[: args.top]:
        mrr, r5, r1, target, headings, rrf_k, bm25_w, depth, phrases = row
        print(
            f"{mrr:6.3f} {r5:6.3f} {r1:6.3f} {target:>6} {headings!s:>8} {rrf_k:>5} "
            f"{bm25_w:>6} {depth:>5} {phrases!s:>7}"
        )


if __name__ == "__main__":
    main()
