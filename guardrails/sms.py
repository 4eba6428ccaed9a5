"""SMS encoding and segments: GSM-7 (160 characters, 153 per part) or UCS-2 (70, 67 per part)."""

from __future__ import annotations

import math
from dataclasses import dataclass

# The GSM 03.38 basic character set, and the extension table whose characters take two septets.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True, slots=True)
class SmsSize:
    """How a message is sent: its encoding, its length in that encoding, and its segments."""

    encoding: str  # "GSM-7" or "UCS-2"
    units: int
    segments: int
    first_non_gsm: int | None  # index of the first character that forces UCS-2


def first_non_gsm(text: str) -> int | None:
    for index, char in enumerate(text):
        if char not in GSM7_BASIC and char not in GSM7_EXTENSION:
            return index
    return None


def sms_size(text: str) -> SmsSize:
    """Encoding, length and segment count of an SMS body."""
    offender = first_non_gsm(text)
    if offender is None:
        units = sum(2 if char in GSM7_EXTENSION else 1 for char in text)
        single, part = 160, 153
        encoding = "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, part = 70, 67
        encoding = "UCS-2"
    segments = 1 if units <= single else math.ceil(units / part)
    return SmsSize(encoding, units, segments if units else 0, offender)
