"""The journey spec: a typed, versioned journey (audience, trigger, timed steps, splits, exits).

A journey is a small graph. `start` names the first node; every node names the node that
follows (`next`; none ends the path, and the customer completes the journey). Three kinds:

- `step`: one message on one channel at a day (and hour) offset from the customer's entry,
  with its asset (the approval item that holds the reviewed copy, or a draft template), an
  optional backup channel for when the first one fails, and whether it is a high-value offer;
- `split`: branches with conditions in the segment language (`scoring.criteria`), tried in
  order; a branch without `when` is the otherwise-branch and comes last;
- `experiment`: an A/B test at a decision point: variants with weights, each leading on.

Exit criteria end a customer's journey whenever they hold (a condition, an event, or days in
the journey), with an outcome and an optional transition to another journey. Caps, holdout,
personalization fields with fallbacks, priority and the conversion goal complete it. Every
element of seed 000's journey blueprint has a place here; `knowledge/journeys/` holds it as
an example. This module checks shapes and references one field at a time; the graph checks
(reachability, cycles, exits, caps, consent paths, template variables) are the validator's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from core.config_files import field_path
from core.errors import InvalidInput
from core.models import CHANNELS
from scoring.criteria import parse_criteria
from scoring.segment_fields import LIFECYCLE_STAGES

Channel = Literal["email", "sms", "push", "in_app"]
Status = Literal["draft", "active", "paused", "retired"]
ActionType = Literal["message", "offer", "content_recommendation"]
Outcome = Literal["completed", "converted", "transition", "churned", "exited"]
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
JOURNEY_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,63}$"
VERSION_PATTERN = r"^\d{1,6}(\.\d{1,6})?$"
MAX_NODES = 200
MAX_DAY = 365
CAP_WINDOWS = ("day", "week")
TOTAL = "total"

Criteria = dict[str, Any]
NodeId = Annotated[str, Field(pattern=ID_PATTERN)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_criteria(value: Criteria | None) -> Criteria | None:
    """Criteria must parse in the segment language; the parser's message names the field."""
    if value is not None:
        try:
            parse_criteria(value)
        except InvalidInput as exc:
            raise ValueError(f"{exc.field}: {exc}" if exc.field else str(exc)) from None
    return value


class Target(_Spec):
    """Who may enter: lifecycle stages, a segment, entry and exclusion criteria."""

    description: str = ""
    lifecycle_stages: tuple[str, ...] = ()
    segment: str | None = None
    entry: Criteria | None = None
    exclusion: Criteria | None = None

    @field_validator("lifecycle_stages")
    @classmethod
    def _stages(cls, stages: tuple[str, ...]) -> tuple[str, ...]:
        canonical = tuple(stage.strip().lower().replace("-", "_") for stage in stages)
        unknown = [stage for stage in canonical if stage not in LIFECYCLE_STAGES]
        if unknown:
            raise ValueError(f"unknown stage {unknown[0]!r}; use {', '.join(LIFECYCLE_STAGES)}")
        return canonical

    _entry = field_validator("entry", "exclusion")(_check_criteria)


class AbandonedCartTrigger(_Spec):
    """Seed 002: the cart was updated, then nothing for `inactive_hours`, and no order since."""

    type: Literal["abandoned_cart"]
    inactive_hours: float = Field(default=1.0, gt=0, le=24 * 30)
    description: str = ""


class ChurnRiskTrigger(_Spec):
    """Seed 002: an active customer whose last order is `days_since_last_order` or more ago."""

    type: Literal["churn_risk"]
    days_since_last_order: int = Field(default=45, ge=1, le=3650)
    description: str = ""


class VipMilestoneTrigger(_Spec):
    """Seed 002: the RFM composite crosses `composite_gte` (from below) on a new snapshot."""

    type: Literal["vip_milestone"]
    composite_gte: int = Field(default=38, ge=10, le=50)
    description: str = ""


class PostPurchaseTrigger(_Spec):
    """Seed 002: an order is paid; the steps' day offsets time the follow-up (upsell at day 2)."""

    type: Literal["post_purchase"]
    description: str = ""


class SegmentEntryTrigger(_Spec):
    """Seed 002: the customer enters the named segment on a recompute."""

    type: Literal["segment_entry"]
    segment: str = Field(min_length=1)
    description: str = ""


class EventTrigger(_Spec):
    """Any tracked event, `count` times within `within_days` (pricing-page views, feature
    adoption, payment failure), optionally only for customers matching `where`."""

    type: Literal["event"]
    event: str = Field(min_length=1, max_length=200)
    count: int = Field(default=1, ge=1, le=1000)
    within_days: int | None = Field(default=None, ge=1, le=365)
    where: Criteria | None = None
    description: str = ""

    _where = field_validator("where")(_check_criteria)


class InactivityTrigger(_Spec):
    """No tracked event and no order for `days` days."""

    type: Literal["inactivity"]
    days: int = Field(ge=1, le=3650)
    description: str = ""


Trigger = Annotated[
    AbandonedCartTrigger
    | ChurnRiskTrigger
    | VipMilestoneTrigger
    | PostPurchaseTrigger
    | SegmentEntryTrigger
    | EventTrigger
    | InactivityTrigger,
    Field(discriminator="type"),
]


class Asset(_Spec):
    """What a step sends: the approval item with the reviewed copy (`ref`), and/or a draft
    template (`content`: subject, preheader, body, html, title, text...) with Jinja2 fields."""

    title: str = Field(min_length=1, max_length=200)
    ref: str | None = Field(default=None, min_length=1, max_length=100)
    content: dict[str, str] | None = None


class Step(_Spec):
    """One message on one channel, `day` days (and `hours` hours) after the customer entered."""

    kind: Literal["step"] = "step"
    id: NodeId
    day: int = Field(ge=0, le=MAX_DAY)
    hours: int = Field(default=0, ge=0, le=23)
    channel: Channel
    asset: Asset
    action_type: ActionType = "message"
    high_value: bool = False
    backup_channel: Channel | None = None
    backup_asset: Asset | None = None
    next: NodeId | None = None

    @model_validator(mode="after")
    def _backup(self) -> Step:
        if self.backup_channel is not None and self.backup_channel == self.channel:
            raise ValueError("backup_channel must differ from channel")
        if (self.backup_channel is None) != (self.backup_asset is None):
            raise ValueError("give backup_channel and backup_asset together, or neither")
        return self

    @property
    def offset_hours(self) -> int:
        return self.day * 24 + self.hours

    def successors(self) -> tuple[str, ...]:
        return () if self.next is None else (self.next,)


class Branch(_Spec):
    """One way out of a split; no `when` means otherwise."""

    label: str = Field(default="", max_length=200)
    when: Criteria | None = None
    next: NodeId | None = None

    _when = field_validator("when")(_check_criteria)


class Split(_Spec):
    """Branches tried in order at `day` (default: when the customer reaches the split)."""

    kind: Literal["split"]
    id: NodeId
    label: str = Field(default="", max_length=200)
    day: int | None = Field(default=None, ge=0, le=MAX_DAY)
    branches: tuple[Branch, ...] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _otherwise_last(self) -> Split:
        otherwise = [i for i, branch in enumerate(self.branches) if branch.when is None]
        if len(otherwise) > 1:
            raise ValueError("a split has at most one branch without `when` (otherwise)")
        if otherwise and otherwise[0] != len(self.branches) - 1:
            raise ValueError("the branch without `when` (otherwise) must come last")
        return self

    def successors(self) -> tuple[str, ...]:
        return tuple(branch.next for branch in self.branches if branch.next is not None)


class Variant(_Spec):
    """One arm of an experiment."""

    id: NodeId
    weight: float = Field(default=1.0, gt=0, le=1000)
    next: NodeId | None = None


class Experiment(_Spec):
    """An A/B test at a decision point; the first variant is the control."""

    kind: Literal["experiment"]
    id: NodeId
    label: str = Field(default="", max_length=200)
    variants: tuple[Variant, ...] = Field(min_length=2, max_length=10)

    @field_validator("variants")
    @classmethod
    def _unique(cls, variants: tuple[Variant, ...]) -> tuple[Variant, ...]:
        ids = [variant.id for variant in variants]
        if len(set(ids)) != len(ids):
            raise ValueError("variant ids must be unique")
        return variants

    def successors(self) -> tuple[str, ...]:
        return tuple(variant.next for variant in self.variants if variant.next is not None)


def _node_kind(value: Any) -> str:
    """A node's kind; `step` when not given (most nodes are steps)."""
    if isinstance(value, Mapping):
        return str(value.get("kind", "step"))
    return str(getattr(value, "kind", "step"))


Node = Annotated[
    Annotated[Step, Tag("step")]
    | Annotated[Split, Tag("split")]
    | Annotated[Experiment, Tag("experiment")],
    Discriminator(_node_kind),
]


class Exit(_Spec):
    """Ends the customer's journey whenever it holds: a condition, an event, or days in it."""

    id: NodeId
    description: str = ""
    when: Criteria | None = None
    event: str | None = Field(default=None, min_length=1, max_length=200)
    after_days: int | None = Field(default=None, ge=1, le=MAX_DAY * 3)
    outcome: Outcome = "exited"
    transition_to: str | None = Field(default=None, pattern=JOURNEY_ID_PATTERN)

    _when = field_validator("when")(_check_criteria)

    @model_validator(mode="after")
    def _one_condition(self) -> Exit:
        given = [self.when is not None, self.event is not None, self.after_days is not None]
        if sum(given) != 1:
            raise ValueError("give exactly one of `when`, `event` or `after_days`")
        if self.outcome == "transition" and self.transition_to is None:
            raise ValueError("a transition names the journey in `transition_to`")
        return self


class Cap(_Spec):
    day: int | None = Field(default=None, ge=0, le=100)
    week: int | None = Field(default=None, ge=0, le=500)


class PersonalizationField(_Spec):
    """A template variable: where its value comes from, and the fallbacks when it is missing
    or stale (segment-level, then generic), as seed 000's edge case asks."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
    source: str = Field(min_length=1, max_length=200)
    segment_default: str | None = None
    generic: str | None = None
    max_age_days: int | None = Field(default=None, ge=1, le=3650)


class Personalization(_Spec):
    description: str = ""
    fields: tuple[PersonalizationField, ...] = ()
    send_time_optimization: bool = False
    respect_channel_preference: bool = True

    @field_validator("fields")
    @classmethod
    def _unique(cls, fields: tuple[PersonalizationField, ...]) -> tuple[PersonalizationField, ...]:
        names = [f.name for f in fields]
        if len(set(names)) != len(names):
            raise ValueError("personalization field names must be unique")
        return fields


class Goal(_Spec):
    """What counts as a conversion: an order, or a tracked event, within `within_days`."""

    kind: Literal["order", "event"] = "order"
    event: str | None = None
    within_days: int = Field(default=14, ge=1, le=365)

    @model_validator(mode="after")
    def _event(self) -> Goal:
        if (self.kind == "event") != (self.event is not None):
            raise ValueError("an event goal names its event; an order goal does not")
        return self


class Journey(_Spec):
    """A journey, as the orchestrator proposes it and the runtime runs it."""

    id: str = Field(pattern=JOURNEY_ID_PATTERN)
    version: str = Field(default="1.0", pattern=VERSION_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    status: Status = "draft"
    description: str = ""
    priority: int = Field(default=0, ge=0, le=1000)
    target: Target = Target()
    trigger: Trigger
    start: NodeId
    nodes: tuple[Node, ...] = Field(min_length=1, max_length=MAX_NODES)
    exits: tuple[Exit, ...] = ()
    caps: dict[str, Cap] = {}
    personalization: Personalization = Personalization()
    holdout: float = Field(default=0.0, ge=0.0, lt=0.5)
    goal: Goal = Goal()
    reentry_days: int | None = Field(default=None, ge=0, le=3650)

    @field_validator("caps")
    @classmethod
    def _cap_keys(cls, caps: dict[str, Cap]) -> dict[str, Cap]:
        for key in caps:
            if key not in (*CHANNELS, TOTAL):
                raise ValueError(f"unknown cap {key!r}; use {', '.join((*CHANNELS, TOTAL))}")
        return caps

    @model_validator(mode="after")
    def _ids(self) -> Journey:
        seen: set[str] = set()
        for node in self.nodes:
            if node.id in seen:
                raise ValueError(f"node id {node.id!r} is used twice")
            seen.add(node.id)
        exits = [exit_.id for exit_ in self.exits]
        if len(set(exits)) != len(exits):
            raise ValueError("exit ids must be unique")
        return self

    def node(self, node_id: str) -> Step | Split | Experiment | None:
        return next((node for node in self.nodes if node.id == node_id), None)

    def steps(self) -> Iterator[Step]:
        return (node for node in self.nodes if isinstance(node, Step))

    def edges(self) -> Iterator[tuple[str, str]]:
        """(from, to) for every reference between nodes, dangling ones included."""
        for node in self.nodes:
            for successor in node.successors():
                yield node.id, successor

    def channels(self) -> set[str]:
        used: set[str] = set()
        for step in self.steps():
            used.add(step.channel)
            if step.backup_channel:
                used.add(step.backup_channel)
        return used


def parse_journey(data: Any, *, root: str = "journey") -> Journey:
    """Validate a journey body; InvalidInput names the path of the first bad field."""
    if not isinstance(data, Mapping):
        raise InvalidInput(
            "a journey is a mapping (id, name, trigger, start, nodes, ...)",
            field=root,
            fix="start from knowledge/journeys/activation-retention.yaml",
        )
    try:
        return Journey.model_validate(dict(data))
    except ValidationError as exc:
        error = exc.errors()[0]
        location = _without_tags(tuple(error["loc"]))
        raise InvalidInput(
            error["msg"].removeprefix("Value error, "),
            field=field_path(location, root),
            fix="correct that field (see knowledge/journeys/activation-retention.yaml)",
        ) from None


NODE_KINDS = frozenset({"step", "split", "experiment"})
TRIGGER_TYPES = frozenset(
    {
        "abandoned_cart",
        "churn_risk",
        "vip_milestone",
        "post_purchase",
        "segment_entry",
        "event",
        "inactivity",
    }
)


def _without_tags(location: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop the union tags Pydantic puts into error locations (`nodes.3.step.day`,
    `trigger.event.count`), so the path is the one the author wrote."""
    kept: list[Any] = []
    for index, part in enumerate(location):
        before = location[index - 1] if index else None
        if isinstance(before, int) and kept[:1] == ["nodes"] and part in NODE_KINDS:
            continue
        if before == "trigger" and index == 1 and part in TRIGGER_TYPES:
            continue
        kept.append(part)
    return tuple(kept)


def next_version(version: str) -> str:
    """The version after `version`: 2.1 -> 2.2, 3 -> 3.1."""
    major, _, minor = version.partition(".")
    return f"{major}.{int(minor or 0) + 1}"
