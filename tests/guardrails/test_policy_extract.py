"""Extraction proposes the rules the demo brand's documents state, each citing its chunk."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from guardrails.policy import load_policy_file, parse_policy
from guardrails.policy_extract import SourceChunk, add_rules, extract_policy
from knowledge import DEMO_BRAND_DIR, DEMO_POLICY_FILE
from retrieval.chunking import chunk_document
from retrieval.embeddings import minilm_token_counter
from retrieval.ingest import chunk_ids
from retrieval.parsers import SUFFIXES, parse_bytes


@pytest.fixture(scope="module")
def chunks() -> list[SourceChunk]:
    found = []
    for file in sorted(DEMO_BRAND_DIR.iterdir()):
        if file.suffix in SUFFIXES:
            document = parse_bytes(file.read_bytes(), file.name)
            drafts = chunk_document(document, count=minilm_token_counter())
            for chunk_id, draft in zip(chunk_ids(f"doc_{file.stem}", drafts), drafts, strict=True):
                found.append(SourceChunk(chunk_id, document.title, draft.heading_path, draft.text))
    return found


def by_id(policy):
    return {rule.id: rule for _, rule in policy.rules()}


def test_the_demo_documents_give_their_stated_rules(chunks):
    rules = by_id(extract_policy(chunks, brand="Brightloop"))
    assert rules["avoid.cheap"].replacement == "affordable"
    assert rules["claim.risk-free"].severity == "block"
    assert rules["claim.risk-free"].category == "risk"
    assert rules["discount.saas-plan-fees-monthly-billing"].max_percent == 25
    assert rules["discount.hardware-bundles"].max_percent == 30
    assert rules["discount.transaction-fees"].max_percent == 0
    assert (rules["sms.segments"].limit, rules["email.subject_length"].limit) == (2, 60)
    assert rules["email.subject_length_target"].limit == 50
    assert (rules["push.title_length"].limit, rules["push.body_length"].limit) == (40, 120)
    assert rules["sms.stop_text"].text == "Reply STOP to opt out"
    assert rules["sms.required.terms-blp-link-terms"].offer_only
    assert rules["email.postal_address"].text.startswith("Brightloop, Inc., 2150 Harbor Point")
    assert rules["disclaimer.case-study-results"].text.startswith("Results reported by [customer")
    assert rules["tone.exclamation_marks"].limit == 1
    assert rules["regional.no-sms.eu-uk"].regions == ["EU", "UK"]
    assert "avoid.cancel" not in rules  # the documents recommend "cancel anytime" elsewhere


def test_every_rule_cites_the_chunk_that_holds_its_quote(chunks):
    texts = {chunk.chunk_id: chunk.text for chunk in chunks}
    for _, rule in extract_policy(chunks).rules():
        chunk_id = rule.source.split("#")[-1].rstrip("]")
        assert rule.quote.split(" | ")[0][:40] in texts[chunk_id], rule.id


def test_extraction_is_deterministic_and_the_shipped_policy_came_from_it(chunks):
    first, second = (
        extract_policy(chunks, brand="Brightloop"),
        extract_policy(chunks, brand="Brightloop"),
    )
    assert first.version == second.version
    shipped = by_id(load_policy_file(DEMO_POLICY_FILE))
    extracted = by_id(first)
    assert set(shipped) == set(extracted)
    changed = {
        i
        for i in shipped
        if shipped[i].model_dump(exclude={"source"}) != extracted[i].model_dump(exclude={"source"})
    }
    assert changed == {"disclaimer.payments-and-payouts"}  # the one edit made in review


def test_a_model_tier_may_add_cited_rules_but_never_remove_or_replace(chunks):
    base = extract_policy(chunks)
    cite = chunks[0].citation
    additions = parse_policy(
        {
            "avoid": [
                {"id": "avoid.awesome", "phrase": "awesome", "source": cite},
                {"id": "avoid.other", "phrase": "cheap", "replacement": "x", "source": cite},
            ],
        }
    )
    merged = add_rules(base, additions, chunks)
    rules = by_id(merged)
    assert "avoid.awesome" in rules and "avoid.other" not in rules
    assert rules["avoid.cheap"].replacement == "affordable"
    assert set(by_id(base)) < set(rules)
    uncited = parse_policy({"avoid": [{"id": "avoid.x", "phrase": "x y", "source": "model"}]})
    with pytest.raises(InvalidInput, match="does not cite"):
        add_rules(base, uncited, chunks)
