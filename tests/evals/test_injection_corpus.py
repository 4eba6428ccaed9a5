"""The injection corpus: 50+ hostile cases, none of which reaches generation as usable text."""

from __future__ import annotations

from collections import Counter

from core import workspaces
from core.db import session_scope
from core.settings import Settings
from evals.injection_eval import load_cases, rates, run
from guardrails.evidence_store import load_evidence
from retrieval.quarantine import list_flagged, release


def test_the_corpus_covers_every_kind_of_trick():
    cases = load_cases()
    assert len(cases) >= 50
    assert len({c.id for c in cases}) == len(cases)
    kinds = Counter(c.kind for c in cases)
    assert set(kinds) == {"document", "hidden_html", "unicode", "tool_call", "chat"}
    assert min(kinds.values()) >= 8


def test_no_case_reaches_usable_evidence_and_each_stays_quoted(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    cases = load_cases()
    results = run(settings, cases)
    unsafe = [r.to_dict() for r in results if not r.safe]
    assert unsafe == []
    summary = rates(results)
    assert summary.chats_flagged == summary.chats
    # Every document is flagged, or its instruction was hidden markup the parser dropped.
    assert summary.flagged + summary.dropped == summary.documents
    dropped = {r.case.kind for r in results if r.case.is_document and not r.flagged}
    assert dropped <= {"hidden_html"}
    # Quarantine is what keeps visible payloads out: release one and it becomes evidence.
    visible = next(r for r in results if r.case.kind == "document" and r.flagged)
    with session_scope(settings) as session:
        ws = workspaces.get_or_raise(session, "injection-eval")
        chunk = next(c for c in list_flagged(session, ws.id) if c.source == visible.case.filename)
        release(session, ws.id, chunk.chunk_id, actor="ana", reason="test: released on purpose")
    with session_scope(settings) as session:
        lookup = load_evidence(session, ws.id, [chunk.chunk_id])
        assert visible.case.payload in lookup.found[chunk.chunk_id].text
