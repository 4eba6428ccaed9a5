"""Claim support at the edge: look the cited chunks up in the workspace, then judge the copy."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core import workspaces
from core.db import session_scope
from core.settings import Settings
from guardrails.claim_parts import split_sentences
from guardrails.claims import SIMILARITY_THRESHOLD, SentenceVerdict, TextEmbedder, judge_claims
from guardrails.evidence_store import load_evidence
from guardrails.findings import Finding
from retrieval.embeddings import get_embedder


def judge_in_workspace(
    session: Session,
    workspace_slug: str,
    text: str,
    *,
    embedder: TextEmbedder,
    threshold: float = SIMILARITY_THRESHOLD,
    field: str = "body",
) -> list[SentenceVerdict]:
    """Per-sentence verdicts; a chunk of another workspace is unknown here, as is a made-up id."""
    workspace = workspaces.get_or_raise(session, workspace_slug)
    return judge_text(
        session, workspace.id, text, embedder=embedder, threshold=threshold, field=field
    )


def judge_text(
    session: Session,
    workspace_id: str,
    text: str,
    *,
    embedder: TextEmbedder,
    threshold: float = SIMILARITY_THRESHOLD,
    field: str = "body",
) -> list[SentenceVerdict]:
    """The verdicts of one text against the chunks it cites, looked up in this workspace."""
    cited = {c.chunk_id for s in split_sentences(text) for c in s.citations}
    lookup = load_evidence(session, workspace_id, cited)
    return judge_claims(text, lookup, embedder, threshold=threshold, field=field)


def check_claims_in_workspace(
    session: Session,
    workspace_slug: str,
    text: str,
    *,
    embedder: TextEmbedder,
    threshold: float = SIMILARITY_THRESHOLD,
    field: str = "body",
) -> list[Finding]:
    """The claim-support findings for copy written in this workspace (all of them block)."""
    verdicts = judge_in_workspace(
        session, workspace_slug, text, embedder=embedder, threshold=threshold, field=field
    )
    return [finding for verdict in verdicts for finding in verdict.findings]


def check_claims_for(
    settings: Settings, workspace_slug: str, text: str, *, field: str = "body"
) -> list[Finding]:
    """The same with the configured embedder, in a read-only session of its own."""
    embedder = get_embedder(settings)
    with session_scope(settings) as session:
        return check_claims_in_workspace(
            session, workspace_slug, text, embedder=embedder, field=field
        )
