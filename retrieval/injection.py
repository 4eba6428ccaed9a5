"""Scan ingested text for instruction-like content (prompt injection); flagged, never obeyed."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Characters that render as nothing and are used to break up trigger words.
_INVISIBLE = dict.fromkeys(
    map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e"),
    None,
)
# Common look-alike letters from Cyrillic and Greek mapped to their Latin twins.
_CONFUSABLES = str.maketrans(
    "аеорсухіјѕԁԛԝАВЕКМНОРСТХІЈЅΑΒΕΗΙΚΜΝΟΡΤΧΥΖονι",
    "aeopcyxijsdqwABEKMHOPCTXIJSABEHIKMNOPTXYZovi",
)

_AUDIENCE = r"(?:customers?|users?|subscribers?|contacts?|recipients?|members?|clients?|people)"
_PATTERNS: tuple[tuple[str, str], ...] = (
    (
        "override_instructions",
        r"\b(?:ignore|disregard|forget|override|bypass)\b[^.\n]{0,30}?\b(?:previous|prior|above|"
        r"earlier|preceding|all|any|your|system)\b[^.\n]{0,20}?\b(?:instructions?|guidance|"
        r"guidelines|rules|prompts?|directions|polic(?:y|ies)|constraints)\b",
    ),
    (
        "role_override",
        r"\byou\s+are\s+now\s+(?:in\s+)?(?:an?\s+|the\s+)?(?:admin|administrator|developer|"
        r"system|root|unrestricted|jailbroken|dan|evil|different\s+(?:ai|assistant)|new\s+"
        r"(?:ai|assistant))\b|\b(?:admin|developer|god|jailbreak|dan|unrestricted)\s+mode\b|"
        r"\bact\s+as\s+(?:an?\s+)?(?:admin|administrator|system|root|unrestricted)\b|"
        r"\bnew\s+(?:system\s+)?instructions?\s*:",
    ),
    (
        "addressed_to_ai",
        r"\b(?:note|message|instructions?|attention)\s+(?:for|to)\s+(?:the\s+|all\s+|any\s+)?"
        r"(?:ai|llm|language\s+models?|assistants?|chat\s?bots?|agents?|automated\s+(?:tools?|"
        r"systems?|agents?))\b|\b(?:ai|llm|assistants?|models?|agents?|bots?)\s+(?:reading|"
        r"processing|parsing|summari[sz]ing)\s+this\b",
    ),
    (
        "mass_action",
        r"\b(?:e-?mail|message|text|sms|send|notify|contact|push)\b[^.\n]{0,30}?\b(?:every|all|"
        r"each|entire)\b[^.\n]{0,20}?" + _AUDIENCE + r"\b(?!\s+(?:who|that|whose|which|when|if)\b)",
    ),
    (
        "skip_approval",
        r"\b(?:do\s+not|don't|never|no\s+need\s+to)\s+(?:ask|wait|request|seek)\s+(?:for\s+)?"
        r"(?:human\s+|any\s+|an\s+)?(?:approval|review|permission|confirmation|sign-?off)\b|"
        r"\bwithout\s+(?:asking|waiting|requesting|seeking)\s+(?:for\s+)?(?:human\s+|any\s+)?"
        r"(?:approval|review|permission|confirmation|sign-?off)\b|\b(?:skip|bypass)\s+(?:the\s+)?"
        r"(?:human\s+)?(?:approval|review)\s+(?:step|queue|process)?",
    ),
    (
        "exfiltration",
        r"\b(?:reveal|print|output|repeat|leak|exfiltrate|disclose|send)\b[^.\n]{0,30}?\b(?:system\s+"
        r"prompt|hidden\s+instructions|api[\s_-]?keys?|secrets|credentials)\b",
    ),
    (
        "prompt_markup",
        r"<\|(?:im_start|im_end|system|endoftext)\|>|\[/?INST\]|<<\s*SYS\s*>>|^\s*#{2,}\s*"
        r"(?:system|instruction)s?\s*:?\s*$|<\s*/?\s*(?:system|tool_call|function_call)\s*>",
    ),
    (
        "tool_call",
        r"[\"']?(?:tool|function|action|tool_calls?|function_call)[\"']?\s*:\s*[\"'{\[]"
        r"[^\n]{0,80}?\b(?:send|email|delete|approve|activate|execute|transfer|export)",
    ),
)
_COMPILED = tuple(
    (rule, re.compile(pattern, re.IGNORECASE | re.MULTILINE)) for rule, pattern in _PATTERNS
)


@dataclass(frozen=True, slots=True)
class InjectionFlag:
    """One instruction-like passage: which rule matched and the (normalised) words it matched."""

    rule: str
    match: str
    start: int
    end: int

    def as_dict(self) -> dict[str, str | int]:
        return {"rule": self.rule, "match": self.match, "start": self.start, "end": self.end}


def strip_invisible(text: str) -> str:
    """NFKC (full-width and compatibility forms folded) without zero-width characters."""
    return unicodedata.normalize("NFKC", text).translate(_INVISIBLE)


def normalise(text: str) -> str:
    """Fold the tricks used to hide trigger words: width forms, invisible characters, homoglyphs."""
    return strip_invisible(text).translate(_CONFUSABLES)


def scan(text: str) -> list[InjectionFlag]:
    """Every instruction-like passage in the text; spans index the normalised text."""
    folded = normalise(text)
    flags: list[InjectionFlag] = []
    for rule, pattern in _COMPILED:
        for match in pattern.finditer(folded):
            words = " ".join(match.group().split())
            flags.append(InjectionFlag(rule, words[:200], match.start(), match.end()))
    flags.sort(key=lambda flag: (flag.start, flag.rule))
    return flags
