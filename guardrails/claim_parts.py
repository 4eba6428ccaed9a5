"""Copy taken apart for claim checks: sentences with their citations, and the facts they state.

Pure and rule-based (no model): a sentence is factual when it states a quantity (number,
percentage, price, date, duration), names an entity mid-sentence (a product, plan, brand or
month), or makes an absolute or comparative claim ("fastest", "only", "guaranteed", "more
than"). Greetings, questions without figures and calls to action without figures are not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

from retrieval.citations import CITATION, Citation

QuantityKind = Literal["percent", "money", "cents", "number"]

# Anything that looks like a citation attempt: a bracket holding "#chk_".
_CITATION_LIKE = re.compile(r"\[[^\[\]\n]{0,300}?#\s*chk_[^\[\]\n]{0,40}\]")
_TEMPLATE_VAR = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{[A-Za-z_][\w.]*\}")
_BOUNDARY = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+|\n\s*\n?|(?<=:)\s*\n")
_ABBREVIATIONS = frozenset(
    {"e.g.", "i.e.", "etc.", "vs.", "approx.", "mr.", "mrs.", "ms.", "dr.", "st.", "inc.",
     "ltd.", "co.", "no.", "u.s.", "u.k.", "min.", "max.", "incl.", "excl.", "jan.", "feb.",
     "mar.", "apr.", "aug.", "sep.", "sept.", "oct.", "nov.", "dec."}
)  # fmt: skip
_BULLET = re.compile(r"^(?:[-*•·▪–—>]+|\d{1,2}[.)]|[a-z][.)])\s+|^\|\s*")

_NUMBER_WORDS = {
    "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "twenty": "20",
    "thirty": "30", "fifty": "50", "hundred": "100", "twice": "2", "double": "2",
    "triple": "3", "half": "0.5",
}  # fmt: skip
_CURRENCY_SYMBOLS = {"$": "$", "€": "€", "£": "£", "¥": "¥", "usd": "$", "eur": "€", "gbp": "£"}
_QUANTITY = re.compile(
    r"(?P<cur>[$€£¥])\s?(?P<m>\d[\d,]*(?:\.\d+)?)(?P<mm>\s?[kKmM]\b)?"
    r"|(?<![A-Za-z\d.,])(?P<n>\d[\d,]*(?:\.\d+)?)(?P<nm>[kKmM]\b)?"
    r"(?P<unit>\s?%|\s?¢|\s?percent\b|\s?per\s?cent\b|\s?(?:USD|EUR|GBP|usd|eur|gbp)\b"
    r"|\s?cents?\b)?"
    r"|\b(?P<w>" + "|".join(_NUMBER_WORDS) + r")\b",
    re.IGNORECASE,
)
_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_WORD = re.compile(r"[A-Za-z][\w'’&.-]*[\w]|[A-Za-z]")
_ABSOLUTE = re.compile(
    r"\b(?:best|fastest|cheapest|lowest|highest|largest|biggest|easiest|safest|smartest|"
    r"most|least|leading|#\s?1|number\s+one|no\.\s?1|only|never|always|guarantee[ds]?|"
    r"guaranteed|unlimited|proven|risk[-\s]free|award[-\s]winning|world[-\s]class|"
    r"faster|cheaper|better|easier|more\s+than|less\s+than|fewer\s+than|lower\s+than|"
    r"higher\s+than|every|zero|instant(?:ly)?|first|no\s+(?:fees?|risk|setup)|up\s+to|"
    r"at\s+least|(?:in\s+)?under\s+(?:a|an|one)|as\s+(?:little|low|few|fast|quick)\s+as|"
    r"in\s+(?:seconds|minutes))\b",
    re.IGNORECASE,
)
_GREETING = re.compile(
    r"^(?:hi|hello|hey|dear|thanks|thank\s+you|cheers|welcome(?:\s+back)?|good\s+(?:morning|"
    r"afternoon|evening)|best(?:\s+regards)?|regards|warmly|see\s+you|happy\s+\w+)\b[\s,!.]",
    re.IGNORECASE,
)
_CALL_TO_ACTION = re.compile(
    r"^(?:start|try|shop|sign\s+up|log\s+in|sign\s+in|tap|click|learn|get|see|book|join|"
    r"claim|use|upgrade|explore|discover|open|reply|text|visit|find|read|watch|check|set\s+up|"
    r"add|connect|create|switch|order|redeem|activate|browse|grab|download|contact|talk|"
    r"chat|call|manage|update|review|complete|finish|invite|share|turn\s+on|don't\s+miss|"
    r"let's|come|unlock|save)\b",
    re.IGNORECASE,
)
_NOT_ENTITIES = frozenset(
    {"i", "stop", "help", "start", "unsubscribe", "ok", "yes", "no", "faq", "pm", "am", "tip",
     "note", "ps", "p.s", "n/a", "tbd", "cta", "rsvp"}
)  # fmt: skip
TITLE_CASE_SHARE = 0.8  # of the words over 3 letters: "Save Big On Every Reader This Week"
_STARTS_CLAUSE = re.compile(r"[:;\"“(—–]\s*$|\s[-–—]\s*$")


@dataclass(frozen=True, slots=True)
class Quantity:
    """A figure as written and as compared: kind, canonical value and currency if any."""

    kind: QuantityKind
    value: str
    text: str
    currency: str = ""


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of copy: its span in the text, its words without citations, its citations."""

    start: int
    end: int
    text: str
    claim: str
    citations: tuple[Citation, ...]
    malformed_citations: tuple[str, ...] = ()


def canonical_number(raw: str, multiplier: str = "") -> str:
    """`1,299.00` -> `1299`, `0.50` -> `0.5`, `1.2k` -> `1200`; comparable across spellings."""
    try:
        value = Decimal(raw.replace(",", ""))
    except InvalidOperation:
        return raw
    scale = {"k": 1000, "m": 1_000_000}.get(multiplier.strip().lower(), 1)
    value *= scale
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def quantities(text: str) -> list[Quantity]:
    """Every figure in the text: prices, percentages, cents, plain numbers and number words."""
    found: list[Quantity] = []
    for match in _QUANTITY.finditer(text):
        if match["cur"]:
            value = canonical_number(match["m"], match["mm"] or "")
            found.append(Quantity("money", value, match.group(), _CURRENCY_SYMBOLS[match["cur"]]))
        elif match["n"]:
            value = canonical_number(match["n"], match["nm"] or "")
            unit = (match["unit"] or "").strip().lower()
            if unit in {"%", "percent"} or unit.replace(" ", "") == "percent":
                found.append(Quantity("percent", value, match.group()))
            elif unit in {"¢", "cent", "cents"}:
                found.append(Quantity("cents", value, match.group()))
            elif unit in _CURRENCY_SYMBOLS:
                found.append(Quantity("money", value, match.group(), _CURRENCY_SYMBOLS[unit]))
            else:
                found.append(Quantity("number", value, match.group()))
        else:
            found.append(Quantity("number", _NUMBER_WORDS[match["w"].lower()], match.group()))
    return found


def supported_quantity(claimed: Quantity, evidence: list[Quantity]) -> bool:
    """A figure is supported by the same value in the evidence, of a compatible kind.

    A percentage needs a percentage, a price the same currency (or a bare number), cents
    cents; a bare number in the copy matches the value in any form.
    """
    for seen in evidence:
        if seen.value != claimed.value:
            continue
        if claimed.kind == "number":
            return True
        if claimed.kind == "money" and (
            (seen.kind == "money" and seen.currency == claimed.currency) or seen.kind == "number"
        ):
            return True
        if claimed.kind in {"percent", "cents"} and seen.kind == claimed.kind:
            return True
    return False


def _title_case(words: list[str]) -> bool:
    lettered = [w for w in words if w[:1].isalpha() and len(w) > 3]
    capitalised = [w for w in lettered if w[:1].isupper()]
    return len(lettered) >= 3 and len(capitalised) / len(lettered) >= TITLE_CASE_SHARE


def entities(claim: str) -> list[str]:
    """Names the sentence states: capitalised words after its first word (and acronyms or
    CamelCase names anywhere); in Title Case Text only acronyms and CamelCase count."""
    matches = list(_WORD.finditer(claim))
    title_case = _title_case([m.group() for m in matches])
    found: list[str] = []
    for index, match in enumerate(matches):
        word = re.sub(r"['’]s$", "", match.group()).strip(".-")
        if not word or word.lower() in _NOT_ENTITIES or not word[0].isalpha():
            continue
        acronym = len(word) >= 2 and word.isupper() and word.isalpha()
        camel = (any(c.isupper() for c in word[1:]) and not word.isupper()) or (
            word[0].isupper() and any(c.isdigit() for c in word)
        )
        starts = index == 0 or bool(_STARTS_CLAUSE.search(claim[: match.start()]))
        capitalised = word[0].isupper()
        month = capitalised and re.fullmatch(_MONTHS, word, re.IGNORECASE) is not None
        if acronym or camel or month or (capitalised and not starts and not title_case):
            found.append(word)
    return list(dict.fromkeys(found))


def is_factual(claim: str) -> bool:
    """True when the sentence states something that evidence must support (see module doc)."""
    text = claim.strip()
    if not text:
        return False
    figures = quantities(text)
    if _GREETING.match(text + " ") and not figures:
        return False
    if text.endswith("?") and not figures:
        return False
    if _CALL_TO_ACTION.match(text) and not figures:
        return False
    return bool(figures or entities(text) or _ABSOLUTE.search(text))


def claim_text(text: str) -> str:
    """The sentence as a claim: citations and template variables out, whitespace collapsed."""
    text = _CITATION_LIKE.sub(" ", CITATION.sub(" ", text))
    text = _TEMPLATE_VAR.sub(" ", text)
    text = _BULLET.sub("", text.strip())
    text = re.sub(r"\s*\|\s*", " | ", text).strip(" |")
    text = " ".join(text.split())
    return re.sub(r"\s+([.,;:!?])", r"\1", text)


def _mask(text: str) -> tuple[str, list[tuple[int, int, Citation | None]]]:
    """The text with every citation (valid or not) blanked out, and where each one was."""
    marks: list[tuple[int, int, Citation | None]] = []
    chars = list(text)
    for match in _CITATION_LIKE.finditer(text):
        valid = CITATION.fullmatch(match.group())
        citation = Citation(valid["chunk_id"], valid["label"]) if valid else None
        marks.append((match.start(), match.end(), citation))
        chars[match.start() : match.end()] = " " * (match.end() - match.start())
    return "".join(chars), marks


def _spans(masked: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(masked):
        piece = masked[start : match.start()]
        last_word = piece.rsplit(None, 1)[-1].lower() if piece.split() else ""
        if last_word in _ABBREVIATIONS and "\n" not in match.group():
            continue
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(masked)))
    trimmed: list[tuple[int, int]] = []
    for begin, end in spans:
        piece = masked[begin:end]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            trimmed.append((begin + lead, begin + len(piece.rstrip())))
    return trimmed


def split_sentences(text: str) -> list[Sentence]:
    """The sentences of the copy, each with the citations it carries.

    A citation belongs to the sentence it sits in, or to the one just before it when it
    follows the full stop (`... $79/month. [Pricing › Plans #chk_…]`). Lines are sentences
    too (bullets, table rows, a subject line).
    """
    masked, marks = _mask(text)
    spans = _spans(masked)
    owned: list[list[tuple[int, int, Citation | None]]] = [[] for _ in spans]
    for mark in marks:
        owner = 0
        for index, (begin, _end) in enumerate(spans):
            if begin <= mark[0]:
                owner = index
        if spans and mark[0] < spans[owner][0]:
            owner = max(owner - 1, 0)
        if owned:
            owned[owner].append(mark)
    sentences: list[Sentence] = []
    for (begin, end), mine in zip(spans, owned, strict=True):
        original = text[begin:end]
        sentences.append(
            Sentence(
                start=begin,
                end=end,
                text=original,
                claim=claim_text(original),
                citations=tuple(c for _, _, c in mine if c is not None),
                malformed_citations=tuple(text[s:e] for s, e, c in mine if c is None),
            )
        )
    return sentences
