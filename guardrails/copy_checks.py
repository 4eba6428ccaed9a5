"""`check_copy`: every content check of the brand policy on one asset, findings in order.

Pure: a policy and an asset in, findings out. `guardrails/content_check.py` loads the
workspace's policy and calls this.
"""

from __future__ import annotations

from guardrails.check_channel import check_channel, check_tone
from guardrails.check_offers import (
    check_disclaimers,
    check_discounts,
    check_regional,
    disclaimer_spans,
)
from guardrails.check_pii import check_pii
from guardrails.check_templates import check_templates
from guardrails.check_words import check_words
from guardrails.copy_asset import CopyAsset
from guardrails.findings import Finding, ordered
from guardrails.policy import BrandPolicy


def check_copy(policy: BrandPolicy, asset: CopyAsset) -> list[Finding]:
    """Avoided words, banned claims, channel and tone rules, disclaimers, discount caps,
    regional rules, template variables and personal data: blocks first, then warnings."""
    found: list[Finding] = []
    for field, text in asset.fields():
        if not text:
            continue
        found.extend(check_words(policy, field, text, exempt=disclaimer_spans(policy, text)))
        found.extend(check_templates(field, text, asset.variables))
        found.extend(check_pii(policy, field, text))
    found.extend(check_channel(policy, asset))
    found.extend(check_tone(policy, asset))
    found.extend(check_disclaimers(policy, asset))
    found.extend(check_discounts(policy, asset))
    found.extend(check_regional(policy, asset))
    return ordered(found)
