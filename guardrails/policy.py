"""The brand policy: a per-workspace YAML document validated here, versioned by content hash.

Every rule keeps its `source`: the citation of the document chunk it came from
(`[Title › Heading #chk_…]`, see retrieval/citations.py), or a note such as
`manual: added by legal review` for a rule a person wrote. `quote` is the line it was read
from, so a citation can be re-anchored in another workspace that holds the same documents.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.config_files import field_path, read_yaml_file
from core.errors import InvalidInput
from core.ids import sha256_hex

SCHEMA_VERSION = 1
Channel = Literal["email", "sms", "push", "in_app"]
Severity = Literal["block", "warn"]
CopyField = Literal["subject", "preheader", "title", "body"]
Region = Literal["US", "CA", "EU", "UK"]
ClaimCategory = Literal[
    "guarantee", "risk", "superlative", "financial", "health", "security", "approval", "other"
]
ChannelRuleKind = Literal[
    "max_chars",
    "min_chars",
    "max_segments",
    "required_text",
    "starts_with",
    "unsubscribe_link",
    "postal_address",
]
ToneRuleKind = Literal["max_exclamations", "no_all_caps", "max_emoji"]
RULE_ID = r"^[a-z0-9][a-z0-9_.-]{1,99}$"


class Rule(BaseModel):
    """What every rule carries: a stable id, a severity and where it comes from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=RULE_ID)
    severity: Severity = "block"
    source: str = Field(min_length=1, description="Chunk citation or `manual: …` note.")
    quote: str = Field(default="", description="The line of the document the rule was read from.")


class AvoidRule(Rule):
    """A word or phrase to avoid, with the suggested replacement."""

    severity: Severity = "warn"
    phrase: str = Field(min_length=1, max_length=200)
    replacement: str = ""
    note: str = Field(default="", description="When it applies, e.g. `in win-back copy`.")


class BannedClaim(Rule):
    """A claim never to make (guarantees, risk-free, superlatives, health or money promises)."""

    phrase: str = Field(min_length=1, max_length=200)
    category: ClaimCategory = "other"
    replacement: str = ""


class Disclaimer(Rule):
    """Text that must appear word for word (bracketed fields are free) when the rule applies.

    It applies on `channels` (empty: all) when the copy's offer type is one of
    `offer_types` or a `triggers` phrase appears in the copy (`@offer`: the copy makes an
    offer; `@price`: it shows a price); with neither set it always applies. `offer` in
    offer_types means any copy that makes an offer.
    """

    text: str = Field(min_length=1, max_length=2000)
    channels: list[Channel] = Field(default_factory=list)
    offer_types: list[str] = Field(default_factory=list)
    triggers: list[str] = Field(default_factory=list)
    requires_offer: bool = Field(default=False, description="Applies only to copy with an offer.")


class DiscountLimit(Rule):
    """The most that may be taken off what `applies_to` names; `triggers` recognise it."""

    applies_to: str = Field(min_length=1, max_length=300)
    max_percent: float = Field(ge=0, le=100)
    offer_types: list[str] = Field(default_factory=list)
    triggers: list[str] = Field(default_factory=list)


class ChannelRule(Rule):
    """A rule of one channel: a length, a segment count, a text that must appear or lead."""

    channel: Channel
    kind: ChannelRuleKind
    field: CopyField = "body"
    limit: int | None = Field(default=None, ge=0)
    text: str = ""
    offer_only: bool = False

    @model_validator(mode="after")
    def _complete(self) -> ChannelRule:
        if self.kind in {"max_chars", "min_chars", "max_segments"} and self.limit is None:
            raise ValueError(f"a {self.kind} rule needs a limit")
        if self.kind in {"required_text", "starts_with"} and not self.text:
            raise ValueError(f"a {self.kind} rule needs the text")
        return self


class ToneRule(Rule):
    """A rule of voice: exclamation marks, capitals, emoji; on `channels` (empty: all)."""

    severity: Severity = "warn"
    kind: ToneRuleKind
    limit: int = Field(default=0, ge=0)
    channels: list[Channel] = Field(default_factory=list)
    fields: list[CopyField] = Field(default_factory=list)
    allowed: list[str] = Field(default_factory=list, description="Words exempt, e.g. STOP.")


class Exclusion(Rule):
    """A cohort no campaign may target (minors, sensitive cohorts, ineligible accounts)."""

    cohort: str = Field(min_length=1, max_length=1000)


class BudgetCeiling(Rule):
    """The most a campaign (or scope) may spend in a period."""

    scope: str = Field(min_length=1, max_length=300)
    amount: float = Field(ge=0)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    period: str = Field(default="campaign", max_length=40)


class RegionalRule(Rule):
    """A rule of some regions: a text that must appear (when a trigger appears), or a channel
    that may not be used there."""

    regions: list[Region] = Field(min_length=1)
    kind: Literal["required_text", "blocked_channel"]
    text: str = ""
    triggers: list[str] = Field(default_factory=list)
    channel: Channel | None = None

    @model_validator(mode="after")
    def _complete(self) -> RegionalRule:
        if self.kind == "required_text" and not self.text:
            raise ValueError("a required_text rule needs the text")
        if self.kind == "blocked_channel" and self.channel is None:
            raise ValueError("a blocked_channel rule needs the channel")
        return self


class AllowedContact(Rule):
    """The brand's own address or number: not personal data when it appears in copy."""

    value: str = Field(min_length=3, max_length=200)


class BrandPolicy(BaseModel):
    """One workspace's brand policy; `version` is the hash of its canonical JSON."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = SCHEMA_VERSION
    brand: str = Field(default="", max_length=200)
    avoid: list[AvoidRule] = Field(default_factory=list)
    banned_claims: list[BannedClaim] = Field(default_factory=list)
    disclaimers: list[Disclaimer] = Field(default_factory=list)
    max_discount: list[DiscountLimit] = Field(default_factory=list)
    channel_rules: list[ChannelRule] = Field(default_factory=list)
    tone_rules: list[ToneRule] = Field(default_factory=list)
    exclusions: list[Exclusion] = Field(default_factory=list)
    budget_ceilings: list[BudgetCeiling] = Field(default_factory=list)
    regional_rules: list[RegionalRule] = Field(default_factory=list)
    allowed_contacts: list[AllowedContact] = Field(default_factory=list)

    @field_validator("avoid", "banned_claims")
    @classmethod
    def _distinct_phrases(cls, rules: list[Any]) -> list[Any]:
        seen: set[str] = set()
        for index, rule in enumerate(rules):
            key = " ".join(rule.phrase.lower().split())
            if key in seen:
                raise ValueError(f"[{index}] phrase {rule.phrase!r} appears twice")
            seen.add(key)
        return rules

    @model_validator(mode="after")
    def _unique_ids(self) -> BrandPolicy:
        seen: set[str] = set()
        for name, rule in self.rules():
            if rule.id in seen:
                raise ValueError(f"{name}: rule id {rule.id!r} appears twice")
            seen.add(rule.id)
        return self

    def rules(self) -> list[tuple[str, Rule]]:
        """Every rule with the name of the list it is in."""
        found: list[tuple[str, Rule]] = []
        for name in RULE_LISTS:
            found.extend((name, rule) for rule in getattr(self, name))
        return found

    def body(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @property
    def version(self) -> str:
        return policy_version(self.body())

    def rule_count(self) -> int:
        return len(self.rules())


RULE_LISTS = (
    "avoid",
    "banned_claims",
    "disclaimers",
    "max_discount",
    "channel_rules",
    "tone_rules",
    "exclusions",
    "budget_ceilings",
    "regional_rules",
    "allowed_contacts",
)


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def policy_version(body: dict[str, Any]) -> str:
    """The content hash of a policy body: equal bodies, equal versions."""
    return sha256_hex(canonical_json(body))[:16]


def parse_policy(data: Any) -> BrandPolicy:
    """Validate a policy body; the error names the path of the first bad field."""
    if not isinstance(data, dict):
        raise InvalidInput(
            "a policy is a mapping of rule lists",
            field="policy",
            fix="start from `mcopilot policy extract PATH --out policy.yaml`",
        )
    try:
        return BrandPolicy.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise InvalidInput(
            error["msg"],
            field=field_path(tuple(error["loc"]), "policy"),
            fix="correct that field (see knowledge/brand-policy.yaml for an example)",
        ) from None


def load_policy_file(path: Path) -> BrandPolicy:
    """Read and validate a policy YAML (or JSON) file."""
    return parse_policy(read_yaml_file(path))


def dump_policy_yaml(policy: BrandPolicy) -> str:
    """The policy as YAML a reviewer can read and edit (empty fields left out)."""
    body = policy.model_dump(mode="json", exclude_defaults=True)
    body = {"schema_version": SCHEMA_VERSION, **body}
    return yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=100)
