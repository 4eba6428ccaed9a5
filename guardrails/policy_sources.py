"""Check that a policy's citations point at chunks of the workspace, re-anchoring those that
came from another workspace holding the same documents (same label, same quoted line)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from core.errors import InvalidInput
from guardrails.phrases import normalize
from guardrails.policy import BrandPolicy, parse_policy
from guardrails.policy_extract import SourceChunk
from retrieval.citations import Citation, citation_label, parse_citations


def cited_chunk_ids(policy: BrandPolicy) -> set[str]:
    """Every chunk id the policy cites."""
    return {c.chunk_id for _, rule in policy.rules() for c in parse_citations(rule.source)}


def reanchor(
    policy: BrandPolicy, known_ids: Collection[str], chunks: Sequence[SourceChunk]
) -> BrandPolicy:
    """The policy with each citation of an unknown chunk replaced by the workspace chunk with
    the same label whose text holds the rule's quote; InvalidInput names a rule that has none."""
    body = policy.body()
    by_label: dict[str, list[SourceChunk]] = {}
    for chunk in chunks:
        by_label.setdefault(citation_label(chunk.title, chunk.heading_path), []).append(chunk)
    for kind, rules in body.items():
        if not isinstance(rules, list):
            continue
        for index, rule in enumerate(rules):
            source = rule["source"]
            for citation in parse_citations(source):
                if citation.chunk_id in known_ids:
                    continue
                quote = normalize(rule.get("quote", ""))
                match = next(
                    (
                        chunk
                        for chunk in by_label.get(citation.label, [])
                        if quote and quote in normalize(chunk.text)
                    ),
                    None,
                )
                if match is None:
                    raise InvalidInput(
                        f"cites {citation}, which is not a chunk of this workspace",
                        field=f"policy.{kind}[{index}].source",
                        fix="ingest the brand documents into the workspace first, or cite a "
                        "chunk it holds (`mcopilot search`)",
                    )
                source = source.replace(
                    str(citation), str(Citation(match.chunk_id, citation.label))
                )
            rule["source"] = source
    return parse_policy(body)
