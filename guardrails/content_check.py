"""The content check agents and the CLI call: the workspace's active policy on one asset."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from core import workspaces
from core.db import session_scope
from core.settings import Settings
from guardrails.claim_check import judge_text
from guardrails.claims import TextEmbedder
from guardrails.copy_asset import CopyAsset
from guardrails.copy_checks import check_copy
from guardrails.findings import Finding, blocking, ordered
from guardrails.policy import BrandPolicy
from guardrails.policy_store import active_policy
from retrieval.citations import parse_citations
from retrieval.embeddings import get_embedder

NO_POLICY = "none"
CLAIM_FIELDS = ("subject", "preheader", "title", "body")


@dataclass(frozen=True, slots=True)
class ContentCheck:
    """The findings on one asset and the policy version they were checked against
    (`none`: the workspace has no policy, so only the built-in rules ran)."""

    policy_version: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not blocking(self.findings)


def has_citations(asset: CopyAsset) -> bool:
    """True when the copy cites evidence, so its claims can (and must) be checked."""
    return any(parse_citations(getattr(asset, name)) for name in CLAIM_FIELDS)


def claim_findings(
    session: Session, workspace_id: str, asset: CopyAsset, embedder: TextEmbedder
) -> list[Finding]:
    """Claim support for every field that carries prose: each factual sentence must cite a
    chunk of this workspace that supports it (all such findings block)."""
    findings: list[Finding] = []
    for name in CLAIM_FIELDS:
        text = getattr(asset, name)
        if not text.strip():
            continue
        for verdict in judge_text(session, workspace_id, text, embedder=embedder, field=name):
            findings.extend(verdict.findings)
    return findings


def check_asset(
    session: Session,
    workspace_id: str,
    asset: CopyAsset,
    *,
    claims_embedder: TextEmbedder | None = None,
) -> ContentCheck:
    """Check one asset against the workspace's active brand policy; with an embedder, also
    check that its factual sentences are supported by the evidence they cite."""
    stored = active_policy(session, workspace_id)
    policy = stored.policy if stored else BrandPolicy()
    findings = check_copy(policy, asset)
    if claims_embedder is not None:
        findings = ordered(
            [*findings, *claim_findings(session, workspace_id, asset, claims_embedder)]
        )
    return ContentCheck(stored.version if stored else NO_POLICY, findings)


def check_in_workspace(
    settings: Settings, workspace_slug: str, asset: CopyAsset, *, claims: bool | None = None
) -> ContentCheck:
    """`claims`: check claim support (None: when the copy cites evidence)."""
    wanted = has_citations(asset) if claims is None else claims
    embedder = get_embedder(settings) if wanted else None
    with session_scope(settings) as session:
        workspace = workspaces.get_or_raise(session, workspace_slug)
        return check_asset(session, workspace.id, asset, claims_embedder=embedder)
