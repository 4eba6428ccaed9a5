"""Required disclaimers, discounts above the cap and regional rules on one asset."""

from __future__ import annotations

import re

from guardrails.copy_asset import CopyAsset
from guardrails.discounts import find_discounts, limit_for, offers_something
from guardrails.findings import Finding
from guardrails.phrases import find_phrase, find_text
from guardrails.policy import BrandPolicy, Disclaimer, RegionalRule

PRICE = re.compile(
    r"[$€£]\s?\d[\d,]*(?:\.\d{1,2})?\s*(?:/|per\s+|a\s+)(?:mo|month|yr|year|user|location)\b",
    re.IGNORECASE,
)


def _triggered(triggers: list[str], text: str) -> bool:
    for trigger in triggers:
        if trigger == "@offer" and offers_something(text):
            return True
        if trigger == "@price" and PRICE.search(text):
            return True
        if not trigger.startswith("@") and find_phrase(trigger, text):
            return True
    return False


def _disclaimer_applies(rule: Disclaimer, asset: CopyAsset, text: str) -> bool:
    if rule.channels and asset.channel not in rule.channels:
        return False
    if not rule.offer_types and not rule.triggers:
        return True
    if asset.offer_type and asset.offer_type in rule.offer_types:
        return True
    if rule.requires_offer and not offers_something(text):
        return False
    if "offer" in rule.offer_types and offers_something(text):
        return True
    return _triggered(rule.triggers, text)


def disclaimer_spans(policy: BrandPolicy, field_text: str) -> list[tuple[int, int]]:
    """Where the policy's disclaimers appear in a field (words in them are not findings)."""
    spans = []
    for rule in policy.disclaimers:
        span = find_text(rule.text, field_text)
        if span:
            spans.append(span)
    return spans


def check_disclaimers(policy: BrandPolicy, asset: CopyAsset) -> list[Finding]:
    """A finding for each disclaimer that applies to the copy and is not in it word for word."""
    text = asset.full_text()
    found: list[Finding] = []
    for rule in policy.disclaimers:
        if _disclaimer_applies(rule, asset, text) and find_text(rule.text, text) is None:
            found.append(
                Finding(
                    rule.id,
                    rule.severity,
                    "required disclaimer missing"
                    + (f" for {', '.join(rule.offer_types)}" if rule.offer_types else ""),
                    fix=f"add word for word: {rule.text}",
                    source=rule.source,
                )
            )
    return found


def check_discounts(policy: BrandPolicy, asset: CopyAsset) -> list[Finding]:
    """A finding for each discount above the cap that applies to it."""
    found: list[Finding] = []
    for field, text in asset.fields():
        for discount in find_discounts(text, price=asset.price):
            limit = limit_for(policy.max_discount, text, discount, asset.offer_type)
            if limit is None or discount.percent is None:
                continue
            if discount.percent > limit.max_percent + 1e-9:
                found.append(
                    Finding(
                        limit.id,
                        limit.severity,
                        f"{discount.percent:g}% off is above the {limit.max_percent:g}% cap "
                        f"for {limit.applies_to}",
                        start=discount.start,
                        end=discount.end,
                        text=discount.text,
                        fix=f"offer at most {limit.max_percent:g}% off, or get an approved "
                        "exception",
                        source=limit.source,
                        field=field,
                    )
                )
    return found


def _regional(rule: RegionalRule, asset: CopyAsset, text: str) -> Finding | None:
    if rule.kind == "blocked_channel":
        if asset.channel != rule.channel:
            return None
        return Finding(
            rule.id,
            rule.severity,
            f"no marketing {asset.channel} to {asset.region}",
            fix="choose another channel for this region",
            source=rule.source,
        )
    if rule.triggers and not _triggered(rule.triggers, text):
        return None
    if find_text(rule.text, text) is not None:
        return None
    return Finding(
        rule.id,
        rule.severity,
        f"{asset.region} copy must include {rule.text!r}",
        fix=f"add {rule.text!r}",
        source=rule.source,
    )


def check_regional(policy: BrandPolicy, asset: CopyAsset) -> list[Finding]:
    """The rules of the asset's region (none when the region is not given)."""
    if asset.region is None:
        return []
    text = asset.full_text()
    found = []
    for rule in policy.regional_rules:
        if asset.region in rule.regions:
            finding = _regional(rule, asset, text)
            if finding:
                found.append(finding)
    return found
