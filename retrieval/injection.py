"""Scan ingested text for instruction-like content (prompt injection); flagged, never obeyed."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Characters that render as nothing and are used to break up trigger words: every format
# character (Unicode category Cf), variation selectors, fillers and the combining grapheme
# joiner. Tag characters (U+E0020-E007E) spell ASCII invisibly ("ASCII smuggling"); they are
# turned back into the ASCII they hide so the scan reads what a model would read.
_INVISIBLE_RANGES = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x0600, 0x0605), (0x061C, 0x061C), (0x06DD, 0x06DD),
    (0x070F, 0x070F), (0x0890, 0x0891), (0x08E2, 0x08E2), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x2064), (0x2066, 0x206F),
    (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD), (0x110CD, 0x110CD), (0x13430, 0x1343F), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE001F), (0xE007F, 0xE007F), (0xE0100, 0xE01EF),
)  # fmt: skip
_INVISIBLE: dict[int, str | None] = {
    code: None for low, high in _INVISIBLE_RANGES for code in range(low, high + 1)
}
_INVISIBLE.update({code: chr(code - 0xE0000) for code in range(0xE0020, 0xE007F)})
_SMUGGLING = re.compile("[\U000e0000-\U000e007f\u202a-\u202e\u2066-\u2069]")
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
        r"processing|parsing|summari[sz]ing)\s+this\b|\bwhen\s+you\s+(?:summari[sz]e|read|process|parse|"
        r"index)\s+this\b",
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
        r"(?:system|instruction)s?\s*:?\s*$|<\s*/?\s*(?:system|tool_call|function_call)\s*>|"
        r"^\s*(?:```|~~~)\s*(?:tool|tool_calls?|function|function_calls?|actions?)\s*$",
    ),
    (
        "tool_call",
        r"[\"']?(?:tool|function|action|tool_calls?|function_call)[\"']?\s*:\s*[\"'{\[]"
        r"[^\n]{0,80}?\b(?:send|email|delete|approve|activate|execute|transfer|export)|"
        r"\b(?:send|email|approve|activate|execute|delete|export|release|publish|transfer)_\w+\s*\(|"
        r"^\s*action(?:\s+input)?\s*:\s*(?:send|email|approve|activate|execute|delete|export|"
        r"release|publish|\{)",
    ),
    (
        "approval_command",
        r"\b(?:approve|reject|release|activate)\s+(?:item|asset|request|campaign|journey|chunk)\s*"
        r"(?:#|no\.?\s*|number\s+)?\d+\b",
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
    """NFKC (full-width and compatibility forms folded) without invisible characters."""
    return unicodedata.normalize("NFKC", text.translate(_INVISIBLE)).translate(_INVISIBLE)


def normalise(text: str) -> str:
    """Fold the tricks used to hide trigger words: width forms, invisible characters, homoglyphs."""
    return strip_invisible(text).translate(_CONFUSABLES)


def scan(text: str) -> list[InjectionFlag]:
    """Every instruction-like passage in the text; spans index the normalised text."""
    folded = normalise(text)
    flags: list[InjectionFlag] = []
    smuggled = _SMUGGLING.search(text)
    if smuggled:
        flags.append(InjectionFlag("hidden_unicode", f"U+{ord(smuggled.group()):04X}", 0, 0))
    for rule, pattern in _COMPILED:
        for match in pattern.finditer(folded):
            words = " ".join(match.group().split())
            flags.append(InjectionFlag(rule, words[:200], match.start(), match.end()))
    flags.sort(key=lambda flag: (flag.start, flag.rule))
    return flags
