"""Propose a brand policy from the brand's own documents, deterministically (the offline tier).

Pure: chunks in, a `BrandPolicy` out; each proposed rule cites the chunk it was read from.
It reads lists under headings such as "Words to avoid", "Don't say", "What we never
promise" and "Always include"; do/don't and avoid/use-instead tables; disclaimer sections;
a maximum-discount table; and stated limits in sentences ("subject lines 60 characters
maximum", "at most 2 segments", "no more than one exclamation mark").

A model tier may propose more rules through `add_rules`, which only adds: it never drops or
changes a rule found here, and refuses any addition without a citation of a given chunk.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.errors import InvalidInput
from guardrails.phrases import normalize
from guardrails.policy import RULE_LISTS, BrandPolicy, parse_policy
from guardrails.policy_text import (
    channels_in,
    list_items,
    number,
    quotes,
    regions_in,
    sentences,
    slug,
    split_condition,
    table_rows,
    tables,
)
from retrieval.citations import Citation, citation_label, parse_citations

AVOID_HEADING = re.compile(r"words to avoid|\bavoid\b|words we don'?t use|ableist|gendered", re.I)
BANNED_HEADING = re.compile(
    r"don'?t say|do not say|never say|\bnever\b|banned|prohibited|forbidden", re.I
)
ALWAYS_HEADING = re.compile(r"always include|must include|required elements", re.I)
ARROW = re.compile(r"\s*(?:→|->|=>)\s*")
NEGATIVE_COLUMN = re.compile(r"^(?:avoid|don'?t|do not|instead of|never)$", re.I)
POSITIVE_COLUMN = re.compile(r"^(?:use instead|use|do|write|say)$", re.I)
CLAIM_CATEGORIES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("guarantee", re.compile(r"guarantee|promise", re.I)),
    ("risk", re.compile(r"\brisk", re.I)),
    ("superlative", re.compile(r"superlative|best|#1|leading|fastest|most \w+", re.I)),
    ("financial", re.compile(r"financ|revenue|cost|sales|pay for itself|fees?\b|free\b", re.I)),
    ("health", re.compile(r"health|medical|cure|heal", re.I)),
    ("security", re.compile(r"secur|uptime|goes down|unhackable", re.I)),
    ("approval", re.compile(r"approv|qualif", re.I)),
)
LIMIT_WORDS = r"(?:or fewer|or less|maximum|max\b|hard maximum|at most|limit)"
_CHARS_AFTER = re.compile(
    rf"\b(\d{{1,4}})\s*(?:characters?|chars?)?\s*(?:is the )?{LIMIT_WORDS}", re.I
)
_CHARS_BEFORE = re.compile(
    r"(?:up to|under|at most|no more than|maximum(?: of)?|max\.?|to)\s+(\d{1,4})\s*"
    r"(?:characters|chars)\b(?!\s+(?:is|are)\b)",
    re.I,
)
_CHARS_RANGE = re.compile(r"\b(\d{1,4})\s+to\s+(\d{1,4})\s+characters\b", re.I)
_SEGMENTS = re.compile(
    r"(?:maximum(?: is)?|at most|never more than|no more than|max\.?)\s+(\d{1,2})\s+segments?"
    r"|\b(\d{1,2})\s+segments?\s+(?:maximum|max|at most)",
    re.I,
)
_FIELD_WORD = re.compile(
    r"\b(subject(?: lines?)?|preheaders?|titles?|headlines?|body|bodies)\b", re.I
)
_EXCLAMATION = re.compile(
    r"(?:no more than|at most)\s+(one|two|\d)\s+exclamation|(one|two|\d)\s+exclamation marks?\s+"
    r"(?:at most|per message)",
    re.I,
)
_EMOJI_LIMIT = re.compile(r"(?:at most|no more than)\s+(one|two|\d)\s+emoji|\bno emojis?\b", re.I)
_STARTS = re.compile(r"start (?:every|each) (?:message|sms|text) with [\"“]([^\"”]+)[\"”]", re.I)
_REQUIRE = re.compile(r"\b(?:include|includes|in every|must (?:include|contain|appear))\b", re.I)
_POSTAL = re.compile(r"postal address:\s*(.+?\b\d{5}(?:-\d{4})?(?:,\s*USA)?)", re.I)
_BLOCKED = re.compile(
    r"(?:do not|don't|never) send marketing (email|sms|push)\w* to "
    r"((?:UK|EU|US)(?: or (?:UK|EU|US))*)",
    re.I,
)
_EXCLUDED = re.compile(
    r"never eligible|not eligible|audience excludes|must not target|minors", re.I
)
_BUDGET = re.compile(
    r"(?:up to|at most|no more than|maximum of|ceiling of)\s+([$€£])\s?([\d,]+)(?:\s+per\s+(\w+))?",
    re.I,
)
_MENTIONED = re.compile(r"when (?:the |an? )?([\w -]{2,30}?) is (?:mentioned|shown|quoted)", re.I)
_PRICE_SHOWN = re.compile(r"wherever .*prices? (?:are|is) shown|prices? (?:are|is) shown", re.I)
CURRENCIES = {"$": "USD", "€": "EUR", "£": "GBP"}
GENERIC_WORDS = frozenset(
    {"saas", "fees", "fee", "individual", "items", "item", "billing", "monthly", "annual", "the"}
)
FIELD_OF_WORD = {
    "subject": "subject",
    "preheader": "preheader",
    "title": "title",
    "headline": "title",
    "body": "body",
    "bodie": "body",
}


@dataclass(frozen=True, slots=True)
class SourceChunk:
    """A chunk of a brand document: what extraction reads and cites."""

    chunk_id: str
    title: str
    heading_path: tuple[str, ...]
    text: str

    @property
    def citation(self) -> str:
        return str(Citation(self.chunk_id, citation_label(self.title, self.heading_path)))

    @property
    def heading(self) -> str:
        return self.heading_path[-1] if self.heading_path else self.title


class _Builder:
    """Collects proposed rules; the first rule with an id (or a phrase) wins."""

    def __init__(self) -> None:
        self.rules: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in RULE_LISTS}
        self.phrases: dict[str, tuple[str, str]] = {}  # normalized phrase -> (list, id)

    def add(self, kind: str, rule: dict[str, Any]) -> None:
        rules = self.rules[kind]
        if rule["id"] in rules:
            return
        rules[rule["id"]] = rule

    def phrase(
        self, kind: str, prefix: str, phrase: str, chunk: SourceChunk, quote: str, **extra: Any
    ) -> None:
        key = normalize(phrase).strip("\"'")
        if len(key) < 2:
            return
        existing = self.phrases.get(key)
        if existing:
            old_kind, old_id = existing
            old = self.rules[old_kind][old_id]
            if not old.get("replacement") and extra.get("replacement"):
                old["replacement"] = extra["replacement"]
            if old_kind == "banned_claims" or kind == "avoid":
                return
            del self.rules[old_kind][old_id]  # a banned claim beats the same avoided word
        rule_id = f"{prefix}.{slug(phrase)}"
        while any(rule_id in rules for rules in self.rules.values()):
            rule_id += "-2"
        self.phrases[key] = (kind, rule_id)
        self.add(
            kind,
            {
                "id": rule_id,
                "phrase": phrase,
                "source": chunk.citation,
                "quote": quote[:500],
                **extra,
            },
        )

    def drop_recommended(self) -> None:
        """An avoided word the documents recommend elsewhere ("cancel" in "cancel anytime on
        monthly plans") is only avoided in some uses, so it is not proposed."""
        recommended = [
            normalize(rule["replacement"])
            for kind in ("avoid", "banned_claims")
            for rule in self.rules[kind].values()
            if rule.get("replacement")
        ]
        for rule_id, rule in list(self.rules["avoid"].items()):
            pattern = re.compile(rf"(?<!\w){re.escape(normalize(rule['phrase']))}(?!\w)")
            if rule.get("note") and any(pattern.search(text) for text in recommended):
                del self.rules["avoid"][rule_id]

    def policy(self, brand: str) -> BrandPolicy:
        self.drop_recommended()
        body: dict[str, Any] = {"brand": brand}
        for kind, rules in self.rules.items():
            body[kind] = list(rules.values())
        return parse_policy(body)


def _replacement(text: str) -> str:
    found = quotes(text)
    if found:
        return found[0]
    text = text.strip()
    if text.startswith("("):
        return ""
    return split_condition(text)[0].strip().rstrip(".")


def _category(text: str) -> str:
    for name, pattern in CLAIM_CATEGORIES:
        if pattern.search(text):
            return name
    return "other"


def _avoid_phrases(left: str) -> tuple[list[str], str]:
    phrase_text, note = split_condition(left)
    found = quotes(phrase_text)
    if found:
        return found, note
    parts = re.split(r"\s+/\s+|,\s+", phrase_text)
    return [p.strip() for p in parts if p.strip()], note


def _word_lists(chunk: SourceChunk, build: _Builder) -> None:
    heading = chunk.heading
    banned = bool(BANNED_HEADING.search(heading))
    avoid = bool(AVOID_HEADING.search(heading)) and not banned
    if not (banned or avoid):
        return
    for item in list_items(chunk.text):
        sides = ARROW.split(item, maxsplit=1)
        if len(sides) == 2:
            phrases, note = _avoid_phrases(sides[0])
            replacement = _replacement(sides[1])
        elif banned:
            phrases, note, replacement = quotes(item), "", ""
            outside = re.sub(r"[\"“][^\"”]*[\"”]", "", item)
            if re.search(r"\bguarantee\b", outside, re.I):
                phrases = ["guarantee", *phrases]
        else:
            continue
        for phrase in phrases:
            if banned:
                build.phrase(
                    "banned_claims",
                    "claim",
                    phrase,
                    chunk,
                    item,
                    category=_category(f"{phrase} {item}"),
                    replacement=replacement,
                )
            else:
                build.phrase(
                    "avoid", "avoid", phrase, chunk, item, replacement=replacement, note=note
                )


def _word_tables(chunk: SourceChunk, build: _Builder) -> None:
    for rows in tables(chunk.text):
        if len(rows) < 2 or len(rows[0]) < 2:
            continue
        header = rows[0]
        bad = next((i for i, cell in enumerate(header) if NEGATIVE_COLUMN.match(cell)), None)
        good = next((i for i, cell in enumerate(header) if POSITIVE_COLUMN.match(cell)), None)
        if bad is None or good is None:
            continue
        for row in rows[1:]:
            if len(row) <= max(bad, good):
                continue
            quoted = quotes(row[bad])
            if not quoted and re.match(r"(?:say|use|write|promise|stack|imply)\b", row[bad], re.I):
                continue  # an instruction without a quotable phrase
            phrases, note = (quoted, "") if quoted else _avoid_phrases(row[bad])
            good_text = row[good] if quotes(row[good]) else split_condition(row[good])[0]
            replacement = _replacement(good_text.split(",")[0])
            for phrase in phrases:
                if note and len(phrase.split()) == 1 and len(phrase) <= 4:
                    continue  # "here (as a link)": a common word avoided in one use only
                build.phrase(
                    "avoid",
                    "avoid",
                    phrase,
                    chunk,
                    " | ".join(row),
                    replacement=replacement,
                    note=note,
                )


def _disclaimer_section(
    chunk: SourceChunk, build: _Builder, full_channels: list[str], limits: list[dict[str, Any]]
) -> None:
    parents = " ".join(chunk.heading_path[:-1])
    if "disclaimer" not in parents.lower() or "channel" in parents.lower():
        return
    text = next(
        (
            line.strip().strip('"“”')
            for line in chunk.text.splitlines()
            if re.fullmatch(r"\s*[\"“].{20,}[\"”]\s*", line)
        ),
        None,
    )
    if not text:
        return
    heading = chunk.heading
    offer_type = slug(heading).replace("-", "_")
    words = [w for w in re.findall(r"[a-z][a-z-]+", heading.lower()) if w not in GENERIC_WORDS]
    is_offer = bool(re.search(r"discount|offer|sale", heading, re.I))
    triggers: list[str] = []
    if is_offer:
        for limit in limits:
            if set(words) & set(re.findall(r"[a-z][a-z-]+", limit["applies_to"].lower())):
                triggers.extend(t for t in limit["triggers"] if t not in triggers)
    else:
        for part in re.split(r"\s+and\s+|,\s*", heading.lower()):
            kept = [w for w in part.split() if w not in GENERIC_WORDS | {"results"}]
            if kept:
                triggers.append(" ".join(kept))
    build.add(
        "disclaimers",
        {
            "id": f"disclaimer.{slug(heading)}",
            "text": text,
            "offer_types": [offer_type],
            "triggers": triggers,
            "channels": full_channels if is_offer or triggers else [],
            "requires_offer": is_offer,
            "source": chunk.citation,
            "quote": text[:500],
        },
    )


def _limit_triggers(applies_to: str) -> list[str]:
    main, inside = split_condition(applies_to)
    triggers = [part.strip() for part in inside.split(",") if part.strip()]
    head = main.split(",")[0]
    for word in re.findall(r"[A-Za-z][A-Za-z-]+", head):
        word = word.lower()
        if word not in GENERIC_WORDS:
            singular = word[:-1] if word.endswith("s") and len(word) > 4 else word
            if singular not in triggers:
                triggers.append(singular)
    return triggers


def _discount_table(chunk: SourceChunk) -> list[dict[str, Any]]:
    found = []
    for rows in tables(chunk.text):
        header = [cell.lower() for cell in rows[0]] if rows else []
        column = next((i for i, cell in enumerate(header) if "maximum discount" in cell), None)
        if column is None:
            continue
        for row in rows[1:]:
            if len(row) <= column:
                continue
            cell = row[column]
            match = re.search(r"(\d{1,3}(?:\.\d+)?)\s*%", cell)
            if match:
                percent = float(match.group(1))
            elif re.search(r"not discountable|no discount|none", cell, re.I):
                percent = 0.0
            else:
                continue
            found.append(
                {
                    "id": f"discount.{slug(split_condition(row[0])[0])}",
                    "applies_to": row[0],
                    "max_percent": percent,
                    "triggers": _limit_triggers(row[0]),
                    "source": chunk.citation,
                    "quote": " | ".join(row)[:500],
                }
            )
    return found


def _full_disclaimer_channels(chunks: Sequence[SourceChunk]) -> list[str]:
    """Channels whose row of a "disclaimers by channel" table starts with "Full"."""
    found: list[str] = []
    for chunk in chunks:
        if "channel" not in chunk.heading.lower() or "disclaimer" not in chunk.heading.lower():
            continue
        for rows in tables(chunk.text):
            for row in rows[1:]:
                if len(row) >= 2 and row[1].lower().startswith("full"):
                    found.extend(c for c in channels_in(row[0]) if c not in found)
    return found


def _channel_table(chunk: SourceChunk, build: _Builder) -> None:
    if "channel" not in chunk.heading.lower():
        return
    for rows in tables(chunk.text):
        for row in rows[1:]:
            if len(row) < 2:
                continue
            channels = [c for c in channels_in(row[0]) if c in {"email", "sms"}]
            for channel in channels[:1]:
                _required_parts(chunk, build, channel, row[1], " | ".join(row))


def _required_parts(
    chunk: SourceChunk, build: _Builder, channel: str, text: str, quote: str
) -> None:
    parts = re.split(r",\s*(?![^(]*\))(?=(?:[^\"“”]*[\"“][^\"“”]*[\"”])*[^\"“”]*$)", text)
    for part in parts:
        if re.search(r"unsubscribe", part, re.I):
            _rule(
                build,
                chunk,
                quote,
                id=f"{channel}.unsubscribe",
                channel=channel,
                kind="unsubscribe_link",
            )
        if re.search(r"postal address|mailing address", part, re.I):
            _rule(
                build,
                chunk,
                quote,
                id=f"{channel}.postal_address",
                channel=channel,
                kind="postal_address",
            )
        for phrase in quotes(part):
            rule_id = (
                f"{channel}.stop_text"
                if "STOP" in phrase
                else f"{channel}.required.{slug(phrase, 30)}"
            )
            offer_only = bool(re.search(r"\boffers?\b", part.replace(phrase, ""), re.I))
            _rule(
                build,
                chunk,
                quote,
                id=rule_id,
                channel=channel,
                kind="required_text",
                text=phrase,
                offer_only=offer_only,
            )


def _rule(build: _Builder, chunk: SourceChunk, quote: str, **rule: Any) -> None:
    build.add("channel_rules", {**rule, "source": chunk.citation, "quote": quote[:500]})


def _lengths(line: str) -> list[tuple[str, str, int]]:
    """(field, max|min, limit) for each character limit stated in a line."""
    found: list[tuple[str, str, int]] = []
    field = "body"
    for clause in re.split(r"[;,]\s*|\s+\(", line):
        digit = re.search(r"\d", clause)
        words = list(_FIELD_WORD.finditer(clause))
        before = [w for w in words if digit and w.start() < digit.start()]
        if words:
            word = (before or words)[-1 if before else 0].group(1).lower().split()[0]
            field = FIELD_OF_WORD.get(word.rstrip("s"), "body")
        if "segment" in clause.lower() or "word" in clause.lower():
            continue
        ranged = _CHARS_RANGE.search(clause)
        if ranged:
            found.append((field, "min", int(ranged.group(1))))
            found.append((field, "max", int(ranged.group(2))))
            continue
        for pattern in (_CHARS_AFTER, _CHARS_BEFORE):
            for match in pattern.finditer(clause):
                found.append((field, "max", int(match.group(1))))
    return found


def _line_channel(line: str, chunk: SourceChunk) -> str | None:
    for text in (line, chunk.heading, " ".join(chunk.heading_path), chunk.title):
        named = channels_in(text)
        if len(named) == 1:
            return named[0]
        if len(named) > 1 and text is line:
            return named[0]
    return None


def _stated_limits(
    chunk: SourceChunk, build: _Builder, lengths: dict[tuple[str, str], list[Any]]
) -> None:
    for line in sentences(chunk.text):
        channel = _line_channel(line, chunk)
        if channel:
            for field, kind, limit in _lengths(line):
                lengths.setdefault((channel, field), []).append((kind, limit, line, chunk))
            segments = _SEGMENTS.search(line)
            if segments and channel == "sms":
                _rule(
                    build,
                    chunk,
                    line,
                    id="sms.segments",
                    channel="sms",
                    kind="max_segments",
                    limit=int(segments.group(1) or segments.group(2)),
                )
            starts = _STARTS.search(line)
            if starts:
                _rule(
                    build,
                    chunk,
                    line,
                    id=f"{channel}.sender_prefix",
                    channel=channel,
                    kind="starts_with",
                    text=starts.group(1),
                )
            postal = _POSTAL.search(line)
            if postal and channel == "email":
                _rule(
                    build,
                    chunk,
                    line,
                    id="email.postal_address",
                    channel="email",
                    kind="postal_address",
                    text=postal.group(1).strip(),
                )
            elif _REQUIRE.search(line) and quotes(line) and channel in {"sms", "email"}:
                _required_parts(chunk, build, channel, line, line)
            emoji = _EMOJI_LIMIT.search(line)
            if emoji and "title" not in line.lower().split("emoji")[0]:
                build.add(
                    "tone_rules",
                    {
                        "id": f"tone.emoji.{channel}",
                        "kind": "max_emoji",
                        "channels": [channel],
                        "limit": number(emoji.group(1)) if emoji.group(1) else 0,
                        "source": chunk.citation,
                        "quote": line[:500],
                    },
                )
        _tone(chunk, build, line)
        _cohorts_budgets_regions(chunk, build, line)


def _tone(chunk: SourceChunk, build: _Builder, line: str) -> None:
    exclamation = _EXCLAMATION.search(line)
    if exclamation:
        build.add(
            "tone_rules",
            {
                "id": "tone.exclamation_marks",
                "kind": "max_exclamations",
                "limit": number(exclamation.group(1) or exclamation.group(2)),
                "source": chunk.citation,
                "quote": line[:500],
            },
        )
    if re.search(r"ALL CAPS|in capitals", line) and re.search(
        r"\bno\b|don'?t|do not|never|\|", line, re.I
    ):
        build.add(
            "tone_rules",
            {
                "id": "tone.all_caps",
                "kind": "no_all_caps",
                "source": chunk.citation,
                "quote": line[:500],
            },
        )


def _cohorts_budgets_regions(chunk: SourceChunk, build: _Builder, line: str) -> None:
    if _EXCLUDED.search(line):
        words = re.findall(r"[A-Za-z]+", line)
        build.add(
            "exclusions",
            {
                "id": f"exclusion.{slug(' '.join(words[:6]))}",
                "cohort": line[:1000],
                "source": chunk.citation,
                "quote": line[:500],
            },
        )
    if re.search(r"budget|spend|funds", line, re.I):
        budget = _BUDGET.search(line)
        if budget:
            scope = split_condition(line.split(" of up to")[0])[0][:300]
            build.add(
                "budget_ceilings",
                {
                    "id": f"budget.{slug(scope, 40)}",
                    "scope": scope,
                    "amount": float(budget.group(2).replace(",", "")),
                    "currency": CURRENCIES[budget.group(1)],
                    "period": budget.group(3) or "campaign",
                    "source": chunk.citation,
                    "quote": line[:500],
                },
            )
    blocked = _BLOCKED.search(line)
    if blocked:
        channel = channels_in(blocked.group(1))[0]
        regions = regions_in(blocked.group(2))
        build.add(
            "regional_rules",
            {
                "id": f"regional.no-{channel}.{'-'.join(r.lower() for r in regions)}",
                "regions": regions,
                "kind": "blocked_channel",
                "channel": channel,
                "source": chunk.citation,
                "quote": line[:500],
            },
        )


def _always_include(chunk: SourceChunk, build: _Builder) -> None:
    if not ALWAYS_HEADING.search(chunk.heading):
        return
    for item in list_items(chunk.text):
        found = quotes(item)
        channels = channels_in(item)
        regions = regions_in(item)
        if not found:
            for channel in channels[:1]:
                _required_parts(chunk, build, channel, item, item)
            continue
        text = found[0]
        if _line_channel(item, chunk) in {"sms", "email"}:
            continue  # a channel's required text: read with the channel's stated rules
        if regions:
            build.add(
                "regional_rules",
                {
                    "id": f"regional.{slug(text, 30)}",
                    "regions": regions,
                    "kind": "required_text",
                    "text": text,
                    "triggers": ["@price"] if re.search(r"price", item, re.I) else [],
                    "source": chunk.citation,
                    "quote": item[:500],
                },
            )
        elif channels and re.search(r"\bevery\b", item, re.I):
            _required_parts(chunk, build, channels[0], item, item)
        else:
            mentioned = _MENTIONED.search(item)
            triggers = ["@price"] if _PRICE_SHOWN.search(item) else []
            if mentioned:
                topic = mentioned.group(1).strip()
                triggers.append("@offer" if topic.lower() == "offer" else topic)
            build.add(
                "disclaimers",
                {
                    "id": f"always.{slug(text, 40)}",
                    "text": text,
                    "triggers": triggers,
                    "source": chunk.citation,
                    "quote": item[:500],
                },
            )


def _contacts(chunk: SourceChunk, build: _Builder) -> None:
    from guardrails.pii import find_pii

    for line in chunk.text.splitlines():
        candidates = quotes(line)
        if re.match(r"\s*[-*]?\s*(?:from address|reply-to)", line, re.I):
            candidates.append(line)
        for candidate in candidates:
            for match in find_pii(candidate):
                if match.kind in {"email", "phone"}:
                    build.add(
                        "allowed_contacts",
                        {
                            "id": f"contact.{slug(match.text, 40)}",
                            "value": match.text,
                            "source": chunk.citation,
                            "quote": line.strip()[:500],
                        },
                    )


def _length_rules(build: _Builder, lengths: dict[tuple[str, str], list[Any]]) -> None:
    for (channel, field), stated in lengths.items():
        maxima = [item for item in stated if item[0] == "max"]
        minima = [item for item in stated if item[0] == "min"]
        if maxima:
            _, limit, line, chunk = max(maxima, key=lambda item: item[1])
            _rule(
                build,
                chunk,
                line,
                id=f"{channel}.{field}_length",
                channel=channel,
                kind="max_chars",
                field=field,
                limit=limit,
            )
            smaller = [m for m in maxima if m[2] == line and m[1] < limit]
            if smaller:
                _rule(
                    build,
                    chunk,
                    line,
                    id=f"{channel}.{field}_length_target",
                    channel=channel,
                    kind="max_chars",
                    field=field,
                    limit=smaller[0][1],
                    severity="warn",
                )
        if minima:
            _, limit, line, chunk = min(minima, key=lambda item: item[1])
            _rule(
                build,
                chunk,
                line,
                id=f"{channel}.{field}_min",
                channel=channel,
                kind="min_chars",
                field=field,
                limit=limit,
                severity="warn",
            )


def _with_table_headers(chunks: Sequence[SourceChunk]) -> list[SourceChunk]:
    """Chunks as read: a table cut in two by chunking gets its header row back in the second
    chunk (the citation still names the chunk itself)."""
    read: list[SourceChunk] = []
    header: dict[tuple[str, ...], str] = {}
    for chunk in chunks:
        lines = chunk.text.lstrip().splitlines()
        text = chunk.text
        if lines and lines[0].startswith("|") and chunk.heading_path in header:
            first = table_rows(lines[0])
            known = table_rows(header[chunk.heading_path])
            if first and known and first[0] != known[0]:
                text = header[chunk.heading_path] + "\n|---|\n" + chunk.text.lstrip()
        for table_text in re.findall(r"(?m)^\|.*\|\s*$", chunk.text)[:1]:
            if chunk.heading_path not in header or not lines[0].startswith("|"):
                header[chunk.heading_path] = table_text.strip()
        read.append(SourceChunk(chunk.chunk_id, chunk.title, chunk.heading_path, text))
    return read


def extract_policy(chunks: Sequence[SourceChunk], *, brand: str = "") -> BrandPolicy:
    """The policy the documents state, each rule citing its chunk (the offline tier)."""
    chunks = _with_table_headers(chunks)
    build = _Builder()
    limits = [limit for chunk in chunks for limit in _discount_table(chunk)]
    for limit in limits:
        build.add("max_discount", limit)
    full_channels = _full_disclaimer_channels(chunks)
    lengths: dict[tuple[str, str], list[Any]] = {}
    for chunk in chunks:
        _word_lists(chunk, build)
        _word_tables(chunk, build)
        _disclaimer_section(chunk, build, full_channels, limits)
        _channel_table(chunk, build)
        _always_include(chunk, build)
        _stated_limits(chunk, build, lengths)
        _contacts(chunk, build)
    _length_rules(build, lengths)
    return build.policy(brand)


def add_rules(
    base: BrandPolicy, additions: BrandPolicy, chunks: Sequence[SourceChunk]
) -> BrandPolicy:
    """The seam for a model tier: rules it proposes are added to the offline ones. An addition
    whose id or phrase exists already is dropped (the offline rule stands); one that does not
    cite one of the given chunks is refused."""
    known = {chunk.chunk_id for chunk in chunks}
    body = base.body()
    taken_ids = {rule.id for _, rule in base.rules()}
    taken_phrases = {normalize(r.phrase) for r in [*base.avoid, *base.banned_claims]}
    for kind, rule in additions.rules():
        cited = [c.chunk_id for c in parse_citations(rule.source)]
        if not cited or not set(cited) <= known:
            raise InvalidInput(
                f"proposed rule {rule.id!r} does not cite a chunk of these documents",
                field=f"policy.{kind}",
                fix="every proposed rule keeps the citation of the chunk it came from",
            )
        phrase = getattr(rule, "phrase", None)
        if rule.id in taken_ids or (phrase and normalize(phrase) in taken_phrases):
            continue
        body[kind].append(rule.model_dump(mode="json"))
        taken_ids.add(rule.id)
    return parse_policy(body)
