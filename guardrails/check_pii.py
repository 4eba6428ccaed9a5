"""Personal data in copy (emails, phone and card numbers, IBANs, SSNs), except the brand's own
contact details that the policy allows."""

from __future__ import annotations

import re

from guardrails.findings import Finding
from guardrails.pii import find_pii
from guardrails.policy import BrandPolicy

SOURCE = "built-in rule: copy never carries personal data"


def _key(value: str) -> str:
    value = value.strip().lower()
    digits = re.sub(r"\D", "", value)
    return digits if "@" not in value and len(digits) >= 7 else value


def check_pii(policy: BrandPolicy, field: str, text: str) -> list[Finding]:
    """A block finding for each piece of personal data that is not an allowed contact."""
    allowed = {_key(contact.value) for contact in policy.allowed_contacts}
    return [
        Finding(
            f"pii.{match.kind}",
            "block",
            f"personal data in copy ({match.kind.replace('_', ' ')})",
            start=match.start,
            end=match.end,
            text=match.text,
            fix="remove it, or use a template variable the sender fills",
            source=SOURCE,
            field=field,
        )
        for match in find_pii(text)
        if _key(match.text) not in allowed
    ]
