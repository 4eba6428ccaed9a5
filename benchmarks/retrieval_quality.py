"""Recall@1, recall@5 and MRR of BM25 alone, dense alone and hybrid on the labeled queries.

    python benchmarks/retrieval_quality.py [--data-dir DIR]

Ingests knowledge/demo_brand into a scratch workspace (embeddings cached after the first run)
and scores evals/datasets/retrieval.yaml (the set the fusion was tuned on) and
retrieval_holdout.yaml (written after tuning, never tuned on). Targets: hybrid recall@5 >= 0.93,
MRR >= 0.85, and hybrid better than both single retrievers.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from core.settings import Settings
from evals.retrieval_eval import DATASET, HOLDOUT, RetrievalDataset, evaluate, load_dataset
from knowledge import DEMO_BRAND_DIR
from retrieval.ingest import ingest_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="mcopilot-quality-"))
    settings = Settings(data_dir=data_dir)
    ingest_path(settings, "eval", DEMO_BRAND_DIR, prune=True, create_workspace=True)
    for label, path in (("tuning set", DATASET), ("held-out set", HOLDOUT)):
        report(settings, label, load_dataset(path), show_misses=args.show_misses)


def report(settings: Settings, label: str, dataset: RetrievalDataset, *, show_misses: bool) -> None:
    scores = evaluate(settings, "eval", dataset)
    print(f"\n{label}: {len(dataset.queries)} labeled queries over {DEMO_BRAND_DIR.name}")
    print(f"{'retriever':<8} {'recall@1':>9} {'recall@5':>9} {'MRR@10':>8}")
    for mode, score in scores.items():
        print(f"{mode:<8} {score.recall_at_1:>9.3f} {score.recall_at_5:>9.3f} {score.mrr:>8.3f}")
    hybrid = scores["hybrid"]
    print(
        "hybrid recall@5 by kind: " + ", ".join(f"{k} {v:.2f}" for k, v in hybrid.by_kind.items())
    )
    if show_misses:
        by_id = {q.id: q for q in dataset.queries}
        for mode, score in scores.items():
            for miss in score.misses:
                q = by_id[miss]
                print(
                    f"  {mode} miss {miss} [{q.kind}] {q.query!r} -> {q.expected.source} / "
                    f"{q.expected.heading}"
                )


if __name__ == "__main__":
    main()
