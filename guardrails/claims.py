"""Claim support: every factual sentence cites evidence, and the evidence it cites supports it.

Pure: the copy, the cited chunks (already looked up in the workspace) and an embedder come
in; findings come out. A factual sentence (see `guardrails.claim_parts`) blocks when

- it cites nothing (`claim.uncited`), or a citation is malformed (`claim.malformed_citation`);
- a cited chunk is unknown in the workspace (`claim.unknown_source`) or quarantined
  (`claim.quarantined_source`);
- a figure (number, percentage, price) is in none of its cited chunks
  (`claim.unsupported_figure`), or a name is in none of them (`claim.unsupported_entity`);
- it is not semantically close to any of them (`claim.unsupported`): the best cosine between
  the sentence and a window of one or two sentences of the evidence (or the whole chunk)
  stays below `SIMILARITY_THRESHOLD`.

The threshold was chosen on evals/datasets/claims.jsonl (73 sentences written against the
demo brand, labelled; `python -m evals.claims_eval --sweep` prints the sweep). With figures
and names checked first, similarity is what catches a sentence citing a real but unrelated
chunk: those scored at most 0.383 with all-MiniLM-L6-v2, supported sentences at least 0.580
(0.642 with one citation). 0.48 is the middle of that gap: 0.40-0.50 give accuracy 0.959;
0.55-0.60 give 0.973 only because one wrong-name sentence scores 0.545, too close to the
weakest supported one (0.580) to tune on; from 0.65 up, supported paraphrases are blocked.
It does not catch a true figure put to a false use ("26% more revenue" from "a 26% relative
increase in conversion"), nor a swapped relation between names the chunk mentions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from guardrails.claim_parts import (
    Sentence,
    entities,
    is_factual,
    quantities,
    split_sentences,
    supported_quantity,
)
from guardrails.evidence import Evidence, EvidenceLookup
from guardrails.findings import Finding

SIMILARITY_THRESHOLD = 0.48
MAX_WINDOW_SENTENCES = 2


class TextEmbedder(Protocol):
    """What the check needs of an embedding model: L2-normalised rows for a list of texts."""

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class SentenceVerdict:
    """How one sentence fared: factual or not, its best similarity, and its findings."""

    sentence: Sentence
    factual: bool
    similarity: float | None
    findings: tuple[Finding, ...]

    @property
    def supported(self) -> bool:
        return not self.findings


def evidence_windows(evidence: Evidence) -> list[str]:
    """What a sentence is compared with: each sentence and pair of sentences of the chunk,
    with the heading path in front, and the whole chunk."""
    parts = [s.claim for s in split_sentences(evidence.text) if s.claim]
    heading = " › ".join(evidence.heading_path[-1:])
    windows = []
    for size in range(1, MAX_WINDOW_SENTENCES + 1):
        for index in range(0, max(len(parts) - size + 1, 0)):
            window = " ".join(parts[index : index + size])
            windows.append(f"{heading}: {window}" if heading else window)
    windows.append(evidence.full_text)
    return list(dict.fromkeys(windows))


def _mentions(name: str, haystack: str) -> bool:
    stem = re.sub(r"(?:es|s)$", "", name) if len(name) > 4 else name
    pattern = r"(?<![\w])" + re.escape(stem) + r"(?:s|es|'s|’s)?(?![\w])"
    return re.search(pattern, haystack, re.IGNORECASE) is not None


class _Similarity:
    """Embeds each evidence chunk's windows once per check, and each sentence once."""

    def __init__(self, embedder: TextEmbedder) -> None:
        self.embedder = embedder
        self._windows: dict[str, np.ndarray] = {}

    def best(self, claim: str, cited: Sequence[Evidence]) -> float:
        query = self.embedder.embed_documents([claim])[0]
        best = -1.0
        for item in cited:
            if item.chunk_id not in self._windows:
                self._windows[item.chunk_id] = self.embedder.embed_documents(evidence_windows(item))
            best = max(best, float(np.max(self._windows[item.chunk_id] @ query)))
        return best


def _finding(sentence: Sentence, rule: str, message: str, fix: str, field: str) -> Finding:
    return Finding(
        rule_id=rule,
        severity="block",
        message=message,
        start=sentence.start,
        end=sentence.end,
        text=sentence.text,
        fix=fix,
        source=" ".join(str(c) for c in sentence.citations),
        field=field,
    )


def judge_sentence(
    sentence: Sentence,
    lookup: EvidenceLookup,
    similarity: _Similarity,
    *,
    threshold: float,
    field: str,
) -> SentenceVerdict:
    """The verdict on one sentence (see the module doc for the rules, in the order applied)."""
    factual = is_factual(sentence.claim)
    found: list[Finding] = []

    def block(rule: str, message: str, fix: str) -> None:
        found.append(_finding(sentence, rule, message, fix, field))

    for bad in sentence.malformed_citations:
        block(
            "claim.malformed_citation",
            f"{bad!r} is not a valid citation",
            "cite as [Title › Heading #chk_<16 hex digits>], copied from the evidence",
        )
    cited: list[Evidence] = []
    for citation in dict.fromkeys(sentence.citations):
        status = lookup.status(citation.chunk_id)
        if status == "found":
            cited.append(lookup.found[citation.chunk_id])
        elif status == "quarantined":
            block(
                "claim.quarantined_source",
                f"cites {citation.chunk_id}, which is quarantined as instruction-like text",
                "cite other evidence, or have an admin review and release the chunk",
            )
        else:
            block(
                "claim.unknown_source",
                f"cites {citation.chunk_id}, which is not a chunk of this workspace",
                "cite a chunk returned by search in this workspace",
            )
    if not factual:
        return SentenceVerdict(sentence, False, None, tuple(found))
    if not sentence.citations and not sentence.malformed_citations:
        block(
            "claim.uncited",
            "a factual sentence carries no citation",
            "add the citation of the evidence that states it, or remove the claim",
        )
    if not cited:
        return SentenceVerdict(sentence, True, None, tuple(found))
    context = "\n".join(item.full_text for item in cited)
    known = quantities(context)
    missing = [q.text for q in quantities(sentence.claim) if not supported_quantity(q, known)]
    if missing:
        block(
            "claim.unsupported_figure",
            f"{', '.join(repr(m) for m in missing)} not in the cited evidence",
            "use the figure the evidence states, or cite the evidence that states this one",
        )
    names = [name for name in entities(sentence.claim) if not _mentions(name, context)]
    if names:
        block(
            "claim.unsupported_entity",
            f"{', '.join(repr(n) for n in names)} not in the cited evidence",
            "name only what the cited evidence names, or cite the evidence that names it",
        )
    score = similarity.best(sentence.claim, cited)
    if score < threshold:
        block(
            "claim.unsupported",
            f"the cited evidence does not say this (similarity {score:.2f} < {threshold:.2f})",
            "restate what the cited evidence says, or cite the evidence this sentence comes from",
        )
    return SentenceVerdict(sentence, True, round(score, 4), tuple(found))


def judge_claims(
    text: str,
    lookup: EvidenceLookup,
    embedder: TextEmbedder,
    *,
    threshold: float = SIMILARITY_THRESHOLD,
    field: str = "body",
) -> list[SentenceVerdict]:
    """A verdict for every sentence of the copy, in order."""
    similarity = _Similarity(embedder)
    return [
        judge_sentence(sentence, lookup, similarity, threshold=threshold, field=field)
        for sentence in split_sentences(text)
    ]


def check_claims(
    text: str,
    lookup: EvidenceLookup,
    embedder: TextEmbedder,
    *,
    threshold: float = SIMILARITY_THRESHOLD,
    field: str = "body",
) -> list[Finding]:
    """The claim-support findings for a piece of copy (every one blocks)."""
    verdicts = judge_claims(text, lookup, embedder, threshold=threshold, field=field)
    return [finding for verdict in verdicts for finding in verdict.findings]
