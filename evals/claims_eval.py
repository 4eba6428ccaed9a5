"""Claim-support accuracy on a labelled set of sentences citing the demo brand's chunks.

Each case in evals/datasets/claims.jsonl names its evidence by document and a snippet of the
chunk (chunk ids depend on the workspace), is labelled supported or unsupported, and has a
kind (paraphrase, wrong-figure, wrong-entity, unrelated-chunk, uncited, not-factual). The
runner resolves the chunks, writes the sentence with its citations, runs the claim check and
compares. `python -m evals.claims_eval [--sweep]` ingests the demo brand into a scratch data
dir and prints the result (and the similarity sweep that chose the threshold).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import workspaces
from core.db import session_scope
from core.errors import InvalidInput
from core.models import Chunk, Document
from core.settings import Settings
from guardrails.claim_check import judge_in_workspace
from guardrails.claims import SIMILARITY_THRESHOLD, TextEmbedder
from retrieval.citations import citation_label

DATASET = Path(__file__).resolve().parent / "datasets" / "claims.jsonl"


class Cite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str
    contains: str = Field(min_length=5)


class ClaimCase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    label: Literal["supported", "unsupported"]
    kind: str
    sentence: str
    cite: list[Cite] = []


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: ClaimCase
    copy: str
    predicted: Literal["supported", "unsupported"]
    rules: tuple[str, ...]
    similarity: float | None

    @property
    def correct(self) -> bool:
        return self.predicted == self.case.label


@dataclass(slots=True)
class ClaimReport:
    results: list[CaseResult] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return sum(r.correct for r in self.results) / len(self.results) if self.results else 0.0

    def _count(self, predicted: str, label: str) -> int:
        return sum(1 for r in self.results if r.predicted == predicted and r.case.label == label)

    @property
    def block_precision(self) -> float:
        """Of the sentences blocked, the share that were really unsupported."""
        hits = self._count("unsupported", "unsupported")
        blocked = sum(1 for r in self.results if r.predicted == "unsupported")
        return hits / blocked if blocked else 1.0

    @property
    def block_recall(self) -> float:
        """Of the unsupported sentences, the share blocked."""
        wanted = sum(1 for r in self.results if r.case.label == "unsupported")
        return self._count("unsupported", "unsupported") / wanted if wanted else 1.0

    def by_kind(self) -> dict[str, tuple[int, int]]:
        total: Counter[str] = Counter(r.case.kind for r in self.results)
        right: Counter[str] = Counter(r.case.kind for r in self.results if r.correct)
        return {kind: (right[kind], total[kind]) for kind in sorted(total)}


def load_cases(path: Path = DATASET) -> list[ClaimCase]:
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                cases.append(ClaimCase.model_validate_json(line))
            except ValueError as exc:
                raise InvalidInput(f"line {number}: {exc}", field=str(path)) from exc
    return cases


def resolve_citation(session: Session, workspace_id: str, cite: Cite) -> str:
    """`[Title › Heading #chk_…]` of the chunk of `cite.source` containing the snippet."""
    rows = session.execute(
        select(Chunk.id, Chunk.text, Chunk.heading_path, Document.title)
        .join(Document, Document.id == Chunk.document_id)
        .where(Chunk.workspace_id == workspace_id, Document.source == cite.source)
        .order_by(Chunk.position)
    ).all()
    for row in rows:
        if cite.contains in row.text:
            return f"[{citation_label(row.title, row.heading_path)} #{row.id}]"
    raise InvalidInput(
        f"no chunk of {cite.source!r} contains {cite.contains!r}",
        field="cite",
        fix="update the snippet in evals/datasets/claims.jsonl to the current document",
    )


def run(
    session: Session,
    workspace_slug: str,
    embedder: TextEmbedder,
    cases: Sequence[ClaimCase],
    *,
    threshold: float = SIMILARITY_THRESHOLD,
) -> ClaimReport:
    workspace = workspaces.get_or_raise(session, workspace_slug)
    report = ClaimReport()
    for case in cases:
        citations = " ".join(resolve_citation(session, workspace.id, c) for c in case.cite)
        body = case.sentence.rstrip(".")
        copy = f"{body} {citations}." if citations else case.sentence
        verdicts = judge_in_workspace(
            session, workspace_slug, copy, embedder=embedder, threshold=threshold
        )
        rules = tuple(f.rule_id for v in verdicts for f in v.findings)
        scores = [v.similarity for v in verdicts if v.similarity is not None]
        report.results.append(
            CaseResult(
                case=case,
                copy=copy,
                predicted="unsupported" if rules else "supported",
                rules=rules,
                similarity=min(scores) if scores else None,
            )
        )
    return report


def sweep(report: ClaimReport, thresholds: Sequence[float]) -> list[tuple[float, float]]:
    """Accuracy at each similarity threshold, other rules unchanged (from one run's scores)."""
    rows = []
    for threshold in thresholds:
        right = 0
        for r in report.results:
            other = [rule for rule in r.rules if rule != "claim.unsupported"]
            low = r.similarity is not None and r.similarity < threshold
            predicted = "unsupported" if other or low else "supported"
            right += predicted == r.case.label
        rows.append((threshold, right / len(report.results)))
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    from knowledge import DEMO_BRAND_DIR
    from retrieval.embeddings import get_embedder
    from retrieval.ingest import ingest_path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", action="store_true", help="print accuracy per threshold")
    parser.add_argument("--json", action="store_true", help="print one JSON line per case")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(data_dir=Path(scratch))
        ingest_path(settings, "demo", DEMO_BRAND_DIR, create_workspace=True)
        with session_scope(settings) as session:
            report = run(session, "demo", get_embedder(settings), load_cases())
    for r in report.results:
        if args.json or not r.correct:
            print(
                json.dumps(
                    {"id": r.case.id, "label": r.case.label, "predicted": r.predicted,
                     "rules": r.rules, "similarity": r.similarity},
                )
            )  # fmt: skip
    print(
        f"{len(report.results)} cases: accuracy {report.accuracy:.3f}, block precision "
        f"{report.block_precision:.3f}, block recall {report.block_recall:.3f}"
    )
    for kind, (right, total) in report.by_kind().items():
        print(f"  {kind:<16} {right}/{total}")
    if args.sweep:
        for threshold, accuracy in sweep(report, [t / 100 for t in range(20, 80, 5)]):
            print(f"  threshold {threshold:.2f}: accuracy {accuracy:.3f}")
        supported = [r.similarity for r in report.results if r.case.kind == "paraphrase"]
        unrelated = [r.similarity for r in report.results if r.case.kind == "unrelated-chunk"]
        print(f"  paraphrase similarity min {min(s for s in supported if s is not None):.3f}")
        print(f"  unrelated-chunk similarity max {max(s for s in unrelated if s is not None):.3f}")


if __name__ == "__main__":
    main()
