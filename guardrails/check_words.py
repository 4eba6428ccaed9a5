"""Avoided words and banned claims in copy, in any case, inflection, spacing or punctuation."""

from __future__ import annotations

from collections.abc import Sequence

from guardrails.findings import Finding
from guardrails.phrases import find_phrase, negated, normalize
from guardrails.policy import AvoidRule, BannedClaim, BrandPolicy

_NEGATIONS = ("no ", "not ", "never ", "zero ")


def _finding(rule: AvoidRule | BannedClaim, field: str, text: str, start: int, end: int) -> Finding:
    found = text[start:end]
    if isinstance(rule, BannedClaim):
        message = f"banned claim ({rule.category}): {found!r}"
    else:
        note = f" ({rule.note})" if rule.note else ""
        message = f"avoid {rule.phrase!r}{note}: {found!r}"
    fix = f"replace with {rule.replacement!r}" if rule.replacement else "rewrite the sentence"
    return Finding(
        rule_id=rule.id,
        severity=rule.severity,
        message=message,
        start=start,
        end=end,
        text=found,
        fix=fix,
        source=rule.source,
        field=field,
    )


def _preference(finding: Finding, rule: AvoidRule | BannedClaim) -> tuple[int, int, int, int]:
    exact = normalize(finding.text) == normalize(rule.phrase)
    return (
        finding.severity == "block",
        exact,
        len(rule.phrase),
        finding.end - finding.start,
    )


def check_words(
    policy: BrandPolicy,
    field: str,
    text: str,
    *,
    exempt: Sequence[tuple[int, int]] = (),
) -> list[Finding]:
    """Each avoided word or banned claim in one field; where two rules match the same words
    the stricter, more exact one is reported. Spans in `exempt` (required disclaimers) and
    negated claims ("not guaranteed") are left alone."""
    candidates: list[tuple[Finding, AvoidRule | BannedClaim]] = []
    rules: list[AvoidRule | BannedClaim] = [*policy.banned_claims, *policy.avoid]
    for rule in rules:
        negation_phrase = rule.phrase.lower().lstrip("\"'").startswith(_NEGATIONS)
        for start, end in find_phrase(rule.phrase, text):
            if any(start < stop and end > begin for begin, stop in exempt):
                continue
            if isinstance(rule, BannedClaim) and not negation_phrase and negated(text, start):
                continue
            candidates.append((_finding(rule, field, text, start, end), rule))
    candidates.sort(key=lambda pair: _preference(*pair), reverse=True)
    kept: list[Finding] = []
    for finding, _ in candidates:
        if any(finding.start < k.end and finding.end > k.start for k in kept):
            continue
        kept.append(finding)
    return sorted(kept, key=lambda f: f.start)
