"""Find and redact personal data (emails, phones, card numbers, IBANs) and secrets, offline."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
# A run of digits with the separators people type; validated by digit count (phones) or Luhn
# (cards) so that prices, dates and order numbers are left alone.
_DIGIT_RUN = re.compile(r"(?<![\w$€£.,])\+?\(?\d[\d ()./-]{5,22}\d(?![\w%])")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
US_SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
_DATE_LIKE = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$")

SECRET_KEYS = frozenset(
    {"password", "passwd", "secret", "token", "api_key", "apikey", "authorization", "hmac_key"}
)
# Credentials that turn up inside free text: vendor key shapes, bearer tokens, JWTs and PEM
# private keys; and `password=...`-style assignments, of which only the value is masked.
SECRET_IN_TEXT = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"
    r"|\b(?:sk|pk|rk)[-_](?:live_|test_|proj-)?[A-Za-z0-9_-]{16,}"
    r"|\bgh[pousr]_[A-Za-z0-9]{30,}"
    r"|\bAKIA[0-9A-Z]{16}\b"
    r"|\bxox[abprs]-[A-Za-z0-9-]{10,}"
    r"|\beyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}"
    r"|(?i:\bbearer\s+)[\w.~+/-]{16,}=*"
)
SECRET_ASSIGNMENT = re.compile(
    r"(?i)\b(password|passwd|secret|token|api[_-]?key|client[_-]?secret)(\s*[:=]\s*)"
    r"(?!\[secret\])([^\s,;&\"']+)"
)
PII_KEYS = frozenset(
    {"email", "phone", "phone_number", "first_name", "last_name", "name", "address", "ip"}
)


@dataclass(frozen=True, slots=True)
class PiiMatch:
    """One piece of personal data in a text: what kind, where, and the text itself."""

    kind: str
    start: int
    end: int
    text: str


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn checksum that card numbers carry."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _iban_valid(candidate: str) -> bool:
    compact = candidate.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    number = "".join(str(int(char, 36)) for char in moved)
    return int(number) % 97 == 1


def _digit_kind(candidate: str) -> str | None:
    digits = re.sub(r"\D", "", candidate)
    if _DATE_LIKE.match(candidate.strip()):
        return None
    if 13 <= len(digits) <= 19 and luhn_valid(digits) and "." not in candidate:
        return "card_number"
    separators = sum(1 for char in candidate if char in " ()-./")
    looks_dialled = candidate.startswith(("+", "(")) or separators >= 1
    if 7 <= len(digits) <= 15 and looks_dialled and "." not in candidate.rstrip("."):
        return "phone"
    if 10 <= len(digits) <= 15 and candidate.startswith("+"):
        return "phone"
    return None


def find_pii(text: str) -> list[PiiMatch]:
    """Every email, phone number, card number, IBAN and US SSN in the text, in order."""
    found: list[PiiMatch] = []
    taken: list[tuple[int, int]] = []

    def add(kind: str, start: int, end: int) -> None:
        if any(start < stop and end > begin for begin, stop in taken):
            return
        taken.append((start, end))
        found.append(PiiMatch(kind, start, end, text[start:end]))

    for match in EMAIL.finditer(text):
        add("email", match.start(), match.end())
    for match in IBAN.finditer(text):
        if _iban_valid(match.group()):
            add("iban", match.start(), match.end())
    for match in US_SSN.finditer(text):
        add("us_ssn", match.start(), match.end())
    for match in _DIGIT_RUN.finditer(text):
        candidate = match.group().rstrip(" ./-")
        kind = _digit_kind(candidate)
        if kind:
            add(kind, match.start(), match.start() + len(candidate))
    return sorted(found, key=lambda item: item.start)


def redact_text(text: str) -> str:
    """The text with each piece of personal data replaced by its kind, e.g. `[email]`."""
    pieces: list[str] = []
    cursor = 0
    for match in find_pii(text):
        pieces.append(text[cursor : match.start])
        pieces.append(f"[{match.kind}]")
        cursor = match.end
    pieces.append(text[cursor:])
    return "".join(pieces)


def redact_secrets_text(text: str) -> str:
    """The text with credentials it carries (API keys, tokens, private keys) replaced by
    `[secret]`."""
    text = SECRET_IN_TEXT.sub("[secret]", text)
    return SECRET_ASSIGNMENT.sub(lambda m: f"{m.group(1)}{m.group(2)}[secret]", text)


def redact(value: Any) -> Any:
    """A copy of a JSON-like value safe to log or audit: secrets dropped, personal data masked.

    Keys that name a secret lose their value entirely; keys that name personal data are
    masked whatever their value; every other string loses the credentials it carries
    (`redact_secrets_text`) and is scanned with `find_pii`.
    """
    if isinstance(value, Mapping):
        cleaned: dict[str, Any] = {}
        for key, item in value.items():
            name = str(key).lower()
            if name in SECRET_KEYS or name.endswith(("_secret", "_token", "_password")):
                cleaned[str(key)] = "[secret]"
            elif name in PII_KEYS and item is not None:
                cleaned[str(key)] = f"[{name}]"
            else:
                cleaned[str(key)] = redact(item)
        return cleaned
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return redact_text(redact_secrets_text(value))
    return value
