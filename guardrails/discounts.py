"""Find the discounts a piece of copy offers ("20% off", "save 30%", "$50 off") and the cap
that applies to each one."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from guardrails.phrases import find_phrase
from guardrails.policy import DiscountLimit

_PERCENT = re.compile(
    r"(?:(?:save|saving|discount of|get|take)\s+(?:up\s+to\s+)?(?P<pre>\d{1,3}(?:\.\d+)?)\s*%)"
    r"|(?:(?P<post>\d{1,3}(?:\.\d+)?)\s*%\s*(?:off|discount|saving|savings|cheaper|less)\b)",
    re.IGNORECASE,
)
_AMOUNT = re.compile(
    r"(?:[$€£]\s?(?P<amount>\d{1,6}(?:,\d{3})*(?:\.\d{1,2})?))\s*(?:off|discount)\b"
    r"|(?:save|discount of)\s+[$€£]\s?(?P<amount2>\d{1,6}(?:,\d{3})*(?:\.\d{1,2})?)",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")


@dataclass(frozen=True, slots=True)
class Discount:
    """A discount in the copy: where it is and how many percent it takes off."""

    start: int
    end: int
    text: str
    percent: float | None  # None: an amount off with no price to measure it against
    amount: float | None = None


def find_discounts(text: str, *, price: float | None = None) -> list[Discount]:
    """Every percentage or amount off in the text; an amount becomes a percentage of `price`."""
    found = [
        Discount(m.start(), m.end(), m.group(), float(m["pre"] or m["post"]))
        for m in _PERCENT.finditer(text)
    ]
    for m in _AMOUNT.finditer(text):
        amount = float((m["amount"] or m["amount2"]).replace(",", ""))
        percent = amount / price * 100 if price else None
        found.append(Discount(m.start(), m.end(), m.group(), percent, amount))
    return sorted(found, key=lambda d: d.start)


def offers_something(text: str) -> bool:
    """True when the copy makes an offer: a discount, a code or a credit."""
    return bool(
        find_discounts(text)
        or re.search(r"\b(?:promo|discount|coupon)\s+code\b|\bcode\s+[A-Z0-9-]{4,}", text, re.I)
        or re.search(r"[$€£]\s?\d+\s+(?:hardware\s+)?credit\b", text, re.I)
    )


def _sentence_around(text: str, start: int) -> str:
    for match in _SENTENCE.finditer(text):
        if match.start() <= start < match.end():
            return match.group()
    return text


def limit_for(
    limits: Sequence[DiscountLimit], text: str, discount: Discount, offer_type: str | None
) -> DiscountLimit | None:
    """The cap for this discount: the one for the stated offer type; else the one whose trigger
    (the longest) appears in the discount's sentence; else the loosest cap of all."""
    if not limits:
        return None
    if offer_type:
        typed = [limit for limit in limits if offer_type in limit.offer_types]
        if typed:
            return min(typed, key=lambda limit: limit.max_percent)
    sentence = _sentence_around(text, discount.start)
    best: tuple[int, float, DiscountLimit] | None = None
    for limit in limits:
        for trigger in limit.triggers:
            if find_phrase(trigger, sentence):
                key = (len(trigger), -limit.max_percent)
                if best is None or key > best[:2]:
                    best = (key[0], key[1], limit)
    if best is not None:
        return best[2]
    return max(limits, key=lambda limit: limit.max_percent)
