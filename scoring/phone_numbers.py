"""Phone numbers as E.164 (`+14155550123`): the one form a customer's `phone` identity takes.

Pure: text in, the normalised number out, or PhoneError saying what is wrong and the fix.
"""

from __future__ import annotations

import re

E164 = re.compile(r"^\+[1-9]\d{7,14}$")
_PUNCTUATION = re.compile(r"[\s\-.()]+")
PHONE_FIX = "give the number in international form, e.g. +14155550123"


class PhoneError(ValueError):
    """A number that cannot be made E.164; `fix` says how to give it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.fix = PHONE_FIX


def normalise_phone(text: str) -> str:
    """Spaces, dashes, dots and parentheses removed, a leading `00` made `+`; the result must
    be `+`, a country code and 7 to 14 more digits. The number itself never appears in the
    error (it is personal data)."""
    number = _PUNCTUATION.sub("", text)
    if number.startswith("00"):
        number = "+" + number[2:]
    if not number.startswith("+"):
        raise PhoneError("has no country code")
    if not E164.fullmatch(number):
        raise PhoneError("is not a phone number (a + and 8 to 15 digits, the first not 0)")
    return number
