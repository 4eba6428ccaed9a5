"""The prompt-injection corpus run through ingest, quarantine and evidence, case by case.

Each case of evals/datasets/injection_corpus.jsonl is a document (markdown, HTML, text) or a
chat message carrying an instruction: visible, hidden in HTML, disguised with Unicode
tricks, or dressed as a tool call. Documents are ingested into a scratch workspace; the
runner records whether the scan flagged them, whether the hostile payload reached a chunk at
all (the HTML and Markdown parsers drop what a reader cannot see), whether it reached the
evidence generation may use (direct lookup and search), and whether the text, rendered as
evidence, stayed inside its data delimiters. Chat messages are scanned and rendered.

Further steps (the execution gate) plug in as `steps`: callables given the case, the
workspace slug and the settings, returning fields to add to the case's result.
`python -m evals.injection_eval` prints the per-case table and the rates.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from core import workspaces
from core.db import session_scope
from core.errors import InvalidInput
from core.models import Chunk, Document
from core.settings import Settings
from guardrails.evidence import Evidence
from guardrails.evidence_store import gather_evidence, load_evidence
from guardrails.quoting import data_blocks, render_evidence
from retrieval.ingest import ingest_path
from retrieval.injection import normalise, scan
from retrieval.search import SearchEngine

DATASET = Path(__file__).resolve().parent / "datasets" / "injection_corpus.jsonl"
SUFFIX = {"md": ".md", "html": ".html", "txt": ".txt"}


class InjectionCase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^inj-\d{3}$")
    kind: Literal["document", "hidden_html", "unicode", "tool_call", "chat"]
    format: Literal["md", "html", "txt", "chat"]
    text: str = Field(min_length=1)
    tries: str
    payload: str = Field(min_length=3)

    @property
    def is_document(self) -> bool:
        return self.format != "chat"

    @property
    def filename(self) -> str:
        return f"{self.id}{SUFFIX.get(self.format, '.txt')}"


@dataclass(slots=True)
class InjectionResult:
    """What happened to one case; `safe` when it was caught or dropped and never quotable."""

    case: InjectionCase
    flagged: bool
    rules: tuple[str, ...]
    payload_in_chunks: bool = False
    payload_in_evidence: bool = False
    payload_in_search: bool = False
    contained: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def caught(self) -> bool:
        """Flagged at ingest (or in chat), or dropped by the parser before it became a chunk."""
        return self.flagged or (self.case.is_document and not self.payload_in_chunks)

    @property
    def safe(self) -> bool:
        return (
            self.caught
            and not self.payload_in_evidence
            and not self.payload_in_search
            and self.contained
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.case.id,
            "kind": self.case.kind,
            "flagged": self.flagged,
            "rules": list(self.rules),
            "payload_in_chunks": self.payload_in_chunks,
            "payload_in_evidence": self.payload_in_evidence,
            "payload_in_search": self.payload_in_search,
            "contained": self.contained,
            "safe": self.safe,
            **self.extra,
        }


Step = Callable[[InjectionCase, str, Settings], dict[str, Any]]


def load_cases(path: Path = DATASET) -> list[InjectionCase]:
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                cases.append(InjectionCase.model_validate_json(line))
            except ValueError as exc:
                raise InvalidInput(f"line {number}: {exc}", field=str(path)) from exc
    return cases


def _holds(payload: str, text: str) -> bool:
    return normalise(payload).casefold() in " ".join(normalise(text).split()).casefold()


def contained(text: str) -> bool:
    """True when the text, rendered as evidence, stays inside exactly one data block."""
    quoted = render_evidence([Evidence("chk_0000000000000000", "Case", ("Case",), text)])
    try:
        return len(data_blocks(quoted)) == 1
    except ValueError:
        return False


def run(
    settings: Settings,
    cases: Sequence[InjectionCase],
    *,
    workspace: str = "injection-eval",
    steps: Sequence[Step] = (),
) -> list[InjectionResult]:
    """Ingest the document cases into `workspace` (created) and follow every case through."""
    documents = [c for c in cases if c.is_document]
    with tempfile.TemporaryDirectory() as folder:
        for case in documents:
            (Path(folder) / case.filename).write_text(case.text, encoding="utf-8")
        if documents:
            report = ingest_path(settings, workspace, folder, create_workspace=True)
            if report.failed:
                problems = "; ".join(f"{f.source}: {f.message}" for f in report.failed)
                raise InvalidInput(f"corpus files failed to ingest: {problems}", field="corpus")
    engine = SearchEngine(settings)
    results: list[InjectionResult] = []
    with session_scope(settings) as session:
        workspace_id = workspaces.get_or_raise(session, workspace).id if documents else ""
        for case in cases:
            if not case.is_document:
                flags = scan(case.text)
                result = InjectionResult(case, bool(flags), tuple(sorted({f.rule for f in flags})))
            else:
                rows = session.execute(
                    select(Chunk.id, Chunk.text, Chunk.flagged, Chunk.injection_flags)
                    .join(Document, Document.id == Chunk.document_id)
                    .where(Chunk.workspace_id == workspace_id, Document.source == case.filename)
                ).all()
                rules = sorted({flag["rule"] for row in rows for flag in row.injection_flags})
                lookup = load_evidence(session, workspace_id, [row.id for row in rows])
                found = gather_evidence(engine, session, workspace, case.payload, k=10)
                result = InjectionResult(
                    case,
                    flagged=any(row.flagged for row in rows),
                    rules=tuple(rules),
                    payload_in_chunks=any(_holds(case.payload, row.text) for row in rows),
                    payload_in_evidence=any(
                        _holds(case.payload, e.text) for e in lookup.found.values()
                    ),
                    payload_in_search=any(
                        _holds(case.payload, e.text) for e in found if e.source == case.filename
                    ),
                )
            result.contained = contained(case.text)
            results.append(result)
    for result in results:
        for step in steps:
            result.extra.update(step(result.case, workspace, settings))
    return results


@dataclass(frozen=True, slots=True)
class Rates:
    documents: int
    flagged: int
    dropped: int
    chats: int
    chats_flagged: int
    safe: int
    total: int


def rates(results: Sequence[InjectionResult]) -> Rates:
    documents = [r for r in results if r.case.is_document]
    chats = [r for r in results if not r.case.is_document]
    return Rates(
        documents=len(documents),
        flagged=sum(r.flagged for r in documents),
        dropped=sum(not r.flagged and not r.payload_in_chunks for r in documents),
        chats=len(chats),
        chats_flagged=sum(r.flagged for r in chats),
        safe=sum(r.safe for r in results),
        total=len(results),
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        results = run(Settings(data_dir=Path(scratch)), load_cases())
    for result in results:
        print(json.dumps(result.to_dict()))
    r = rates(results)
    print(
        f"documents: {r.flagged}/{r.documents} flagged at ingest, {r.dropped} more dropped by "
        f"the parser; chat: {r.chats_flagged}/{r.chats} flagged; safe: {r.safe}/{r.total}"
    )


if __name__ == "__main__":
    main()
