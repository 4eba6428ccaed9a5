"""Copy is split into sentences with their citations, and factual sentences are told apart."""

from __future__ import annotations

import pytest

from guardrails.claim_parts import (
    Quantity,
    canonical_number,
    entities,
    is_factual,
    quantities,
    split_sentences,
    supported_quantity,
)

CITE_A = "[Pricing and Plans › Plans at a glance #chk_0123456789abcdef]"
CITE_B = "[Pricing and Plans #chk_aaaaaaaaaaaaaaaa]"


def test_citations_belong_to_the_sentence_they_sit_in_or_follow():
    text = (
        f"Hi {{{{first_name}}}}, welcome back! Growth costs $79/month {CITE_A}. "
        f"About 46% of merchants choose it. {CITE_B} Start your trial today."
    )
    sentences = split_sentences(text)
    assert [s.claim for s in sentences] == [
        "Hi, welcome back!",
        "Growth costs $79/month.",
        "About 46% of merchants choose it.",
        "Start your trial today.",
    ]
    assert [[c.chunk_id for c in s.citations] for s in sentences] == [
        [],
        ["chk_0123456789abcdef"],
        ["chk_aaaaaaaaaaaaaaaa"],
        [],
    ]
    growth = sentences[1]
    assert text[growth.start : growth.end].startswith("Growth costs $79/month")


def test_lines_and_bullets_are_sentences_and_abbreviations_do_not_split():
    text = "Subject line here\n- Prices in the U.S. store, e.g. Growth at $79.\n- Second point"
    claims = [s.claim for s in split_sentences(text)]
    assert claims == [
        "Subject line here",
        "Prices in the U.S. store, e.g. Growth at $79.",
        "Second point",
    ]


def test_a_malformed_citation_is_kept_apart():
    (sentence,) = split_sentences("Growth costs $79 [Pricing #chk_12].")
    assert sentence.citations == ()
    assert sentence.malformed_citations == ("[Pricing #chk_12]",)


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [("1,299.00", "1299"), ("0.50", "0.5"), ("15", "15"), ("2.90", "2.9")],
)
def test_numbers_are_compared_in_one_spelling(raw, canonical):
    assert canonical_number(raw) == canonical


def test_quantities_know_percentages_prices_cents_and_number_words():
    found = quantities("Save 15 % on $1,299 or 30¢ fees, 2.9% rate, two months, €10, 25 USD.")
    assert [(q.kind, q.value, q.currency) for q in found] == [
        ("percent", "15", ""),
        ("money", "1299", "$"),
        ("cents", "30", ""),
        ("percent", "2.9", ""),
        ("number", "2", ""),
        ("money", "10", "€"),
        ("money", "25", "$"),
    ]


def test_a_percentage_needs_a_percentage_and_a_price_its_currency():
    evidence = quantities("Growth costs $79 and 15 days of history.")
    assert supported_quantity(Quantity("money", "79", "$79", "$"), evidence)
    assert not supported_quantity(Quantity("money", "79", "€79", "€"), evidence)
    assert not supported_quantity(Quantity("percent", "15", "15%"), evidence)
    assert supported_quantity(Quantity("number", "15", "15"), evidence)


@pytest.mark.parametrize(
    "sentence",
    [
        "Growth costs $79 a month.",
        "Brightloop is the fastest checkout.",
        "Checkout loads in under a second.",
        "Merchants on Growth get instant payouts.",
        "Prices changed in January.",
        "Did you know 46% of merchants pick Growth?",
    ],
)
def test_factual_sentences(sentence):
    assert is_factual(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "Hi, thanks for being with us!",
        "Start your free trial today.",
        "Upgrade to Growth today.",
        "Ready to take your first payment?",
        "Reply STOP to opt out.",
        "See what's new in your dashboard.",
        "We'd love to hear from you.",
    ],
)
def test_greetings_questions_and_calls_to_action_are_not_factual(sentence):
    assert not is_factual(sentence)


def test_entities_are_names_after_the_first_word_not_title_case_styling():
    assert entities("Shoppers can pay with Apple Pay and Google Pay.") == [
        "Apple", "Pay", "Google"
    ]  # fmt: skip
    assert entities("Save Big On Every Reader This Spring") == []
    assert entities("Our SLA covers SAML sign-on.") == ["SLA", "SAML"]
