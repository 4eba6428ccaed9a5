"""Channel rules (lengths, SMS segments, opt-out text, unsubscribe link, postal address) and
tone rules (exclamation marks, capitals, emoji) on one asset."""

from __future__ import annotations

import re

from guardrails.channel_defaults import channel_rules
from guardrails.copy_asset import CopyAsset
from guardrails.discounts import offers_something
from guardrails.findings import Finding
from guardrails.phrases import contains_text, find_text
from guardrails.policy import BrandPolicy, ChannelRule, ToneRule
from guardrails.sms import sms_size

_LINK = re.compile(
    r"https?://\S+|\{\{\s*\w*unsub\w*\s*\}\}|href\s*=|\]\([^)]+\)|\b[\w-]+\.\w{2,}/\S*"
)
_STREET = re.compile(
    r"\b\d{1,6}\s+(?:[A-Z][\w.'-]*\s+){1,4}(?:Street|St|Avenue|Ave|Road|Rd|Drive|Dr|Boulevard|"
    r"Blvd|Lane|Ln|Way|Row|Place|Pl|Court|Ct|Square|Sq|Highway|Hwy|Parkway|Pkwy)\b\.?"
    r"|\bP\.?\s?O\.?\s+Box\s+\d+",
)
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\U00002600-\U000027bf\U0001f900-\U0001f9ff\U00002b00-\U00002bff]"
)
_CAPS_WORD = re.compile(r"(?<![\w-])[A-Z]{4,}(?![\w-])")
DEFAULT_CAPS_ALLOWED = frozenset(
    {"STOP", "HELP", "START", "QUIT", "CANCEL", "UNSUBSCRIBE", "STOPALL", "END", "FAQ", "HTML"}
)


def _missing(rule: ChannelRule, message: str, fix: str, field: str = "body") -> Finding:
    return Finding(rule.id, rule.severity, message, fix=fix, source=rule.source, field=field)


def _length_finding(rule: ChannelRule, field: str, text: str) -> Finding | None:
    limit = rule.limit or 0
    if rule.kind == "max_chars" and len(text) > limit:
        return Finding(
            rule.id,
            rule.severity,
            f"{field} is {len(text)} characters; the {rule.channel} limit is {limit}",
            start=limit,
            end=len(text),
            text=text[limit:],
            fix=f"cut {len(text) - limit} characters",
            source=rule.source,
            field=field,
        )
    if rule.kind == "min_chars" and len(text) < limit:
        return _missing(
            rule,
            f"{field} is {len(text)} characters; at least {limit} are expected",
            f"write a {field} of {limit} characters or more",
            field,
        )
    return None


def _postal_address_present(rule: ChannelRule, text: str) -> bool:
    if rule.text:
        street = next((part for part in rule.text.split(",") if re.search(r"\d", part)), "")
        return contains_text(rule.text, text) or bool(street and contains_text(street, text))
    return bool(_STREET.search(text))


def _sms_segments(rule: ChannelRule, body: str) -> list[Finding]:
    size = sms_size(body)
    found: list[Finding] = []
    if size.first_non_gsm is not None:
        char = body[size.first_non_gsm]
        found.append(
            Finding(
                "sms.encoding",
                "warn",
                f"{char!r} is not in GSM-7, so the whole SMS is sent as UCS-2 "
                "(70 characters a segment instead of 160)",
                start=size.first_non_gsm,
                end=size.first_non_gsm + len(char),
                text=char,
                fix="use straight quotes, plain hyphens and no emoji",
                source=rule.source,
            )
        )
    if size.segments > (rule.limit or 0):
        found.append(
            Finding(
                rule.id,
                rule.severity,
                f"{size.units} {size.encoding} characters make {size.segments} segments; "
                f"at most {rule.limit} allowed",
                start=0,
                end=len(body),
                text="",
                fix="shorten the message"
                + (" or remove non-GSM characters" if size.first_non_gsm is not None else ""),
                source=rule.source,
            )
        )
    return found


def _rule_findings(rule: ChannelRule, asset: CopyAsset) -> list[Finding]:
    text = getattr(asset, rule.field) or ""
    everything = asset.full_text()
    if rule.kind in {"max_chars", "min_chars"}:
        found = _length_finding(rule, rule.field, text)
        return [found] if found else []
    if rule.kind == "max_segments":
        return _sms_segments(rule, asset.body)
    if rule.offer_only and not offers_something(everything):
        return []
    if rule.kind == "required_text" and find_text(rule.text, everything) is None:
        return [_missing(rule, f"missing required text {rule.text!r}", f"add {rule.text!r}")]
    if rule.kind == "starts_with" and not text.lstrip().startswith(rule.text):
        return [
            _missing(
                rule,
                f"{rule.field} must start with {rule.text!r}",
                f"start with {rule.text!r}",
                rule.field,
            )
        ]
    if rule.kind == "unsubscribe_link" and not (
        re.search(r"unsubscribe", everything, re.IGNORECASE) and _LINK.search(everything)
    ):
        return [_missing(rule, "no unsubscribe link", "add an unsubscribe link to the footer")]
    if rule.kind == "postal_address" and not _postal_address_present(rule, everything):
        fix = f"add the postal address: {rule.text}" if rule.text else "add the postal address"
        return [_missing(rule, "no postal address", fix)]
    return []


def check_channel(policy: BrandPolicy, asset: CopyAsset) -> list[Finding]:
    """Every channel rule of the asset's channel that the copy breaks."""
    found: list[Finding] = []
    if asset.channel == "email" and not asset.subject.strip():
        found.append(
            Finding(
                "email.subject_missing",
                "block",
                "an email needs a subject",
                fix="pass the subject line",
                source="built-in channel rule: an email has a subject",
                field="subject",
            )
        )
    for rule in channel_rules(policy, asset.channel):
        found.extend(_rule_findings(rule, asset))
    return found


def _applies(rule: ToneRule, asset: CopyAsset, field: str) -> bool:
    return (not rule.channels or asset.channel in rule.channels) and (
        not rule.fields or field in rule.fields
    )


def _tone_field(rule: ToneRule, field: str, text: str) -> list[Finding]:
    if rule.kind == "max_exclamations":
        marks = [m.start() for m in re.finditer("!", text)]
        if len(marks) > rule.limit:
            at = marks[rule.limit]
            return [
                Finding(
                    rule.id,
                    rule.severity,
                    f"{len(marks)} exclamation marks; at most {rule.limit}",
                    start=at,
                    end=at + 1,
                    text="!",
                    fix="drop the extra exclamation marks",
                    source=rule.source,
                    field=field,
                )
            ]
    if rule.kind == "max_emoji":
        emoji = list(_EMOJI.finditer(text))
        if len(emoji) > rule.limit:
            extra = emoji[rule.limit]
            return [
                Finding(
                    rule.id,
                    rule.severity,
                    f"{len(emoji)} emoji; at most {rule.limit}",
                    start=extra.start(),
                    end=extra.end(),
                    text=extra.group(),
                    fix="remove the emoji",
                    source=rule.source,
                    field=field,
                )
            ]
    if rule.kind == "no_all_caps":
        allowed = DEFAULT_CAPS_ALLOWED | {word.upper() for word in rule.allowed}
        return [
            Finding(
                rule.id,
                rule.severity,
                f"ALL CAPS word {m.group()!r}",
                start=m.start(),
                end=m.end(),
                text=m.group(),
                fix=f"write {m.group().capitalize()!r}",
                source=rule.source,
                field=field,
            )
            for m in _CAPS_WORD.finditer(text)
            if m.group() not in allowed
        ]
    return []


def check_tone(policy: BrandPolicy, asset: CopyAsset) -> list[Finding]:
    """Every tone rule the copy breaks, field by field."""
    found: list[Finding] = []
    for rule in policy.tone_rules:
        for field, text in asset.fields():
            if text and _applies(rule, asset, field):
                found.extend(_tone_field(rule, field, text))
    return found
