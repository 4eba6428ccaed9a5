"""Criteria evaluated against one customer's field values, criterion by criterion.

The values are a plain dict from field name to what the SQL expression of the field gives
(money in cents), with category sets as frozensets: `categories.purchased` every category
bought, `categories.lastOrderMissing` the categories of the last order (None without an
order). The semantics are those of `scoring.criteria_sql`, and a test holds them equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.models import CHANNELS
from scoring.criteria import AllOf, AnyOf, Condition, Criterion, Not, describe
from scoring.segment_fields import FIELDS, FieldType, is_trait, spec_for, trait_kind, trait_typed

LAST_ORDER_MISSING = "categories.lastOrderMissing"


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of one node of the criteria: a condition with the actual value, or a
    combination (all, any, not) of the checks below it."""

    path: str
    kind: str
    label: str
    passed: bool
    field: str | None = None
    op: str | None = None
    expected: Any = None
    actual: Any = None
    children: tuple[Check, ...] = ()

    def flatten(self, depth: int = 0) -> list[tuple[int, Check]]:
        """Every check with its depth, this one first."""
        rows = [(depth, self)]
        for child in self.children:
            rows.extend(child.flatten(depth + 1))
        return rows


def holds(condition: Condition, values: Mapping[str, Any]) -> bool:
    """Whether the condition holds for the values (a missing value never satisfies it)."""
    test, operand = condition.test, condition.operand
    spec = spec_for(condition.field, test, operand)
    value = values.get(condition.field)
    if is_trait(condition.field):
        value = trait_typed(value, trait_kind(test, operand))
    if spec.type is FieldType.CATEGORIES:
        bought: frozenset[str] | None = value
        if condition.field == LAST_ORDER_MISSING:
            return bought is not None and not (bought & set(operand))
        bought = bought or frozenset()
        if test == "exists":
            return bool(bought) == operand
        hit = bool(bought & set(operand))
        return hit if test == "in" else not hit
    if test == "exists":
        return (value is not None) == operand
    if value is None:
        return False
    if test == "eq":
        return bool(value == operand)
    if test == "ne":
        return bool(value != operand)
    if test == "in":
        return value in operand
    if test == "not_in":
        return value not in operand
    if test == "gt":
        return bool(value > operand)
    if test == "gte":
        return bool(value >= operand)
    if test == "lt":
        return bool(value < operand)
    if test == "lte":
        return bool(value <= operand)
    raise ValueError(f"unknown test {test!r}")


def matches(criterion: Criterion, values: Mapping[str, Any]) -> bool:
    """Whether the customer meets the criteria (short-circuits; for one-at-a-time checks)."""
    if isinstance(criterion, Condition):
        return holds(criterion, values)
    if isinstance(criterion, Not):
        return not matches(criterion.item, values)
    if isinstance(criterion, AllOf):
        return all(matches(item, values) for item in criterion.items)
    return any(matches(item, values) for item in criterion.items)


def shown_value(field: str, value: Any) -> Any:
    """A field value as a person reads it: money in currency units, sets as sorted lists."""
    if value is None or is_trait(field):
        return value
    kind = FIELDS[field].type
    if kind is FieldType.MONEY:
        return round(value / 100, 2)
    if kind is FieldType.CATEGORIES:
        return sorted(value)
    return value


def evaluate(criterion: Criterion, values: Mapping[str, Any]) -> Check:
    """Every node of the criteria with its outcome and, for conditions, the actual value."""
    if isinstance(criterion, Condition):
        return Check(
            path=criterion.path,
            kind="condition",
            label=describe(criterion),
            passed=holds(criterion, values),
            field=criterion.field,
            op=criterion.op,
            expected=criterion.expected,
            actual=shown_value(criterion.field, values.get(criterion.field)),
        )
    if isinstance(criterion, Not):
        inner = evaluate(criterion.item, values)
        return Check(criterion.path, "not", "not", not inner.passed, children=(inner,))
    children = tuple(evaluate(item, values) for item in criterion.items)
    if isinstance(criterion, AllOf):
        return Check(
            criterion.path, "all", "all of", all(c.passed for c in children), children=children
        )
    assert isinstance(criterion, AnyOf)
    return Check(
        criterion.path, "any", "any of", any(c.passed for c in children), children=children
    )


def unsubscribed(
    values: Mapping[str, Any], channel: str | None, include_unsubscribed: bool
) -> str | None:
    """Why the customer is left out for consent, or None.

    With a channel: its consent is revoked. Without one: every channel the customer has a
    consent record for is revoked (no record at all leaves them in). Never when
    include_unsubscribed.
    """
    if include_unsubscribed:
        return None
    if channel is not None:
        if values.get(f"consent.{channel}") == "revoked":
            return f"unsubscribed from {channel} (consent.{channel} is revoked)"
        return None
    statuses = {ch: values.get(f"consent.{ch}") for ch in CHANNELS}
    if "revoked" in statuses.values() and "granted" not in statuses.values():
        revoked = ", ".join(ch for ch, s in statuses.items() if s == "revoked")
        return f"unsubscribed from every channel with a consent record ({revoked})"
    return None


def in_segment(
    criterion: Criterion,
    values: Mapping[str, Any],
    channel: str | None = None,
    include_unsubscribed: bool = False,
) -> bool:
    """What the segment query decides for this one customer."""
    return (
        matches(criterion, values) and unsubscribed(values, channel, include_unsubscribed) is None
    )
