"""Find a phrase in copy whatever its case, inflection, spacing and punctuation.

`risk-free` also finds "Risk free" and "RISK‑FREE"; `guarantee` finds "guaranteed" and
"guarantees"; an `X` or a `[bracketed field]` in a phrase stands for any one value
("increase your revenue by X%" finds "increase your revenue by 30%").
"""

from __future__ import annotations

import re
from functools import lru_cache

_TOKEN = re.compile(r"\[[^\]]*\]|\w+|[^\w\s]")
_SEPARATORS = r"[\s\-‐‑‒–—_/]*"
_SUFFIXES = r"(?:e|es|s|ed|d|ing|eing|er|ers|est|ly)?"
_STRIP = ("ing", "ed", "es", "s", "e")
_WILDCARD = r"[\w$€£%.,/-]{1,20}"
_JOINERS = frozenset("-‐‑‒–—_/")
_QUOTES = {"'": "['‘’`]", '"': "[\"“”]"}  # fmt: skip


def _stem(word: str) -> str:
    lowered = word.lower()
    for suffix in _STRIP:
        if lowered.endswith(suffix) and len(lowered) - len(suffix) >= 4:
            return lowered[: -len(suffix)]
    return lowered


def _token_pattern(token: str) -> str:
    if token.startswith("[") or token in {"X", "N"}:
        return _WILDCARD
    if token[0].isalpha() and len(token) >= 4 and token.isalpha():
        return re.escape(_stem(token)) + _SUFFIXES
    if token[0].isalnum() or token[0] == "_":
        return re.escape(token)
    return _QUOTES.get(token, re.escape(token))


@lru_cache(maxsize=4096)
def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """A compiled, case-insensitive pattern for the phrase and its variants."""
    tokens = _TOKEN.findall(phrase.strip().strip("\"'“”.,;:").strip())
    if not tokens:
        raise ValueError("empty phrase")
    pieces: list[str] = []
    previous_word = False
    for token in tokens:
        if token in _JOINERS:
            previous_word = previous_word and bool(pieces)
            continue
        word = token[0].isalnum() or token.startswith("[") or token[0] == "_"
        if pieces:
            pieces.append(_SEPARATORS if (word and previous_word) else r"\s*")
        pieces.append(_token_pattern(token))
        previous_word = word
    head = r"(?<![\w])" if tokens[0][0].isalnum() else ""
    tail = r"(?![\w])" if tokens[-1][-1].isalnum() or tokens[-1].startswith("[") else ""
    return re.compile(head + "".join(pieces) + tail, re.IGNORECASE)


def find_phrase(phrase: str, text: str) -> list[tuple[int, int]]:
    """Spans of every occurrence of the phrase (or a variant) in the text."""
    return [(m.start(), m.end()) for m in phrase_pattern(phrase).finditer(text)]


_NEGATION = re.compile(
    r"\b(?:not|never|no|cannot|(?:isn|aren|won|can|don|doesn|didn|couldn|wouldn)['’]t)\s+(?:\w+\s+)?$",
    re.IGNORECASE,
)


def negated(text: str, start: int) -> bool:
    """True when the words just before `start` negate it ("not guaranteed")."""
    return bool(_NEGATION.search(text[max(0, start - 24) : start]))


_SPACE = re.compile(r"\s+")
_TRANSLATE = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-"})


def normalize(text: str) -> str:
    """Lower case, straight quotes and single spaces: how required texts are compared."""
    return _SPACE.sub(" ", text.translate(_TRANSLATE)).strip().lower()


@lru_cache(maxsize=1024)
def required_text_pattern(text: str) -> re.Pattern[str]:
    """A pattern for a text that must appear word for word; `[fields]` match any value."""
    parts = re.split(r"(\[[^\]]*\])", normalize(text).rstrip(". "))
    pieces: list[str] = []
    for part in parts:
        if part.startswith("["):
            pieces.append(r".{1,120}?")
        else:
            words = part.replace("-", " ").split(" ")  # "opt out" and "opt-out" alike
            pieces.append(r"[\s\-]*".join(re.escape(word) for word in words if word) or "")
    joined = r"\s*".join(p for p in pieces if p)
    return re.compile(joined, re.IGNORECASE | re.DOTALL)


def find_text(required: str, text: str) -> tuple[int, int] | None:
    """The span of the required text in the text (case, quotes and spacing aside), if any."""
    match = required_text_pattern(required).search(text.translate(_TRANSLATE))
    return (match.start(), match.end()) if match else None


def contains_text(required: str, text: str) -> bool:
    """True when the required text appears in the text (case, quotes and spacing aside)."""
    return find_text(required, text) is not None
