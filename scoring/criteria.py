"""The segment language: criteria JSON parsed and type-checked into a small typed tree.

Grammar
    criteria   := object                        every key must hold (an implicit `all`)
    object key := FIELD | "all" | "any" | "not"
    "all"/"any": [criteria, ...]                 non-empty list
    "not"      : criteria
    FIELD      : scalar                         eq
               | [scalar, ...]                  in
               | {OP: value, ...}               every operator must hold
    OP         := eq ne gt gte lt lte in not_in exists   (which ones depends on the type)

Fields come from `scoring.segment_fields`. Values are checked against the field's type:
whole numbers for int, numbers for number, currency units with at most two decimals for
money (compared in cents), one of the listed values for enum (case-insensitive, `-` and
spaces read as `_`; `lifecycle.stage: "ACTIVE"` means activation|retention|expansion|
advocacy|at_risk), exact strings for text and category names, true/false for bool.

Missing values (no features row, no order yet, no score): a comparison on a missing value
never holds, `ne` and `not_in` included; `{"exists": false}` matches it. The logic is
two-valued, so `not` of a comparison does match customers whose value is missing.

Category sets: on `categories.purchased`, a scalar means "bought it", a list (or `in`) means
"bought any of them", `ne`/`not_in` mean "bought none of them", `exists` means "bought any
category at all". On `categories.lastOrderMissing`, a scalar or a list (or `eq`/`in`) means
the last order held none of them; customers without an order never match.
"""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass
from typing import Any

from core.errors import InvalidInput
from scoring.segment_fields import (
    FIELDS,
    OPERATORS,
    TRAIT_NAME,
    Field,
    FieldType,
    is_trait,
    trait_field,
    trait_kind,
)

COMBINATORS = ("all", "any", "not")
MAX_DEPTH = 12
MAX_CONDITIONS = 200
MAX_LIST = 1000


@dataclass(frozen=True, slots=True)
class Condition:
    """One test of one field.

    `op` and `expected` are as written; `test` and `operand` are what is evaluated: enum
    eq/ne become in/not_in over canonical values (aliases expanded), money is in cents,
    lists are tuples, category-set eq/ne become in/not_in over one category.
    """

    path: str
    field: str
    op: str
    expected: Any
    test: str
    operand: Any


@dataclass(frozen=True, slots=True)
class AllOf:
    path: str
    items: tuple[Criterion, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    path: str
    items: tuple[Criterion, ...]


@dataclass(frozen=True, slots=True)
class Not:
    path: str
    item: Criterion


Criterion = Condition | AllOf | AnyOf | Not


def shown(value: Any) -> str:
    """A value as the user wrote it, JSON-style."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _suggest(word: str, choices: list[str]) -> str | None:
    lowered = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None


class _Parser:
    def __init__(self) -> None:
        self.conditions = 0

    def criteria(self, data: Any, path: str, depth: int) -> Criterion:
        if depth > MAX_DEPTH:
            raise InvalidInput(f"nested deeper than {MAX_DEPTH} levels", field=path)
        if not isinstance(data, dict):
            raise InvalidInput(
                f"must be an object of fields and all/any/not, got {shown(data)}", field=path
            )
        if not data:
            raise InvalidInput(
                "empty criteria",
                field=path,
                fix='name at least one field, e.g. {"orders.count": {"gte": 1}}',
            )
        items = [self.key(key, value, path, depth) for key, value in data.items()]
        return items[0] if len(items) == 1 else AllOf(path, tuple(items))

    def key(self, key: Any, value: Any, parent: str, depth: int) -> Criterion:
        path = f"{parent}.{key}"
        if key in ("all", "any"):
            if not isinstance(value, list) or not value:
                raise InvalidInput(
                    f"must be a non-empty list of criteria objects, got {shown(value)}", field=path
                )
            items = tuple(
                self.criteria(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)
            )
            return AllOf(path, items) if key == "all" else AnyOf(path, items)
        if key == "not":
            return Not(path, self.criteria(value, path, depth + 1))
        if isinstance(key, str) and is_trait(key):
            return self.trait(key, value, path)
        spec = FIELDS.get(key)
        if spec is None:
            names = [*COMBINATORS, *FIELDS]
            guess = _suggest(str(key), names)
            hint = f"did you mean {guess}? " if guess else ""
            raise InvalidInput(
                "unknown field",
                field=path,
                fix=f"{hint}(allowed: {', '.join(names)}, traits.<name>)",
            )
        return self.field(spec, value, path)

    def trait(self, key: str, value: Any, path: str) -> Criterion:
        """`traits.<name>`: typed by what it is compared with (numbers, text, true/false)."""
        name = key.split(".", 1)[1]
        if not TRAIT_NAME.match(name):
            raise InvalidInput(
                f"bad trait name {name!r}",
                field=path,
                fix="name a top-level trait: a letter or _ then letters, digits or _ "
                "(at most 64), e.g. traits.csat",
            )
        implicit = "in" if isinstance(value, list) else "eq"
        ops = value if isinstance(value, dict) else {implicit: value}
        if not ops:
            raise InvalidInput("no operator", field=path, fix="use eq, ne, gt, in, exists, ...")
        items = []
        for op, operand in ops.items():
            at = f"{path}.{op}" if isinstance(value, dict) else path
            items.append(self.condition(_trait_spec(key, op, operand, at), op, operand, at))
        return items[0] if len(items) == 1 else AllOf(path, tuple(items))

    def field(self, spec: Field, value: Any, path: str) -> Criterion:
        if isinstance(value, dict):
            if not value:
                raise InvalidInput(
                    "no operator",
                    field=path,
                    fix=f"use one of {', '.join(spec.allowed_operators)}",
                )
            items = [self.condition(spec, op, v, f"{path}.{op}") for op, v in value.items()]
            return items[0] if len(items) == 1 else AllOf(path, tuple(items))
        op = "in" if isinstance(value, list) else "eq"
        if op not in spec.allowed_operators:
            raise InvalidInput(
                f"a list is not a value for {spec.name} ({spec.type})",
                field=path,
                fix=f"use one of {', '.join(spec.allowed_operators)}",
            )
        return self.condition(spec, op, value, path)

    def condition(self, spec: Field, op: Any, value: Any, path: str) -> Condition:
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise InvalidInput(f"more than {MAX_CONDITIONS} conditions", field=path)
        allowed = spec.allowed_operators
        if op not in allowed:
            guess = _suggest(str(op), list(allowed))
            hint = f"did you mean {guess}? " if guess else ""
            raise InvalidInput(
                f"unknown operator for {spec.name} ({spec.type})",
                field=path,
                fix=f"{hint}(allowed: {', '.join(allowed)})",
            )
        if op == "exists":
            if not isinstance(value, bool):
                raise InvalidInput(f"must be true or false, got {shown(value)}", field=path)
            return Condition(path, spec.name, op, value, "exists", value)
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                raise InvalidInput(
                    f"must be a non-empty list of {_kind(spec)}, got {shown(value)}", field=path
                )
            if len(value) > MAX_LIST:
                raise InvalidInput(f"more than {MAX_LIST} values", field=path)
            operands = [_value(spec, v, f"{path}[{i}]") for i, v in enumerate(value)]
        else:
            if isinstance(value, list) and spec.type is FieldType.CATEGORIES:
                operands = [_value(spec, v, f"{path}[{i}]") for i, v in enumerate(value)]
                op_test = "in" if op == "eq" else "not_in"
                return Condition(path, spec.name, op, value, op_test, _flat(operands))
            operands = [_value(spec, value, path)]
        test = op
        if spec.type in (FieldType.ENUM, FieldType.CATEGORIES) and op in ("eq", "ne"):
            test = "in" if op == "eq" else "not_in"
        if test in ("in", "not_in"):
            return Condition(path, spec.name, op, value, test, _flat(operands))
        return Condition(path, spec.name, op, value, test, operands[0][0])


def _trait_spec(key: str, op: Any, operand: Any, path: str) -> Field:
    """The trait's field for one operator: its type from the operand, which must be numbers,
    strings or true/false, not a mix."""
    if op == "exists":
        return trait_field(key, None)
    values = operand if isinstance(operand, list) else [operand]
    scalars = [v for v in values if isinstance(v, bool | int | float | str)]
    kinds = {trait_kind(op, v) for v in scalars}
    if len(scalars) + values.count(None) != len(values) or len(kinds) > 1:
        raise InvalidInput(
            f"compare a trait with numbers, strings or true/false (one kind), got {shown(operand)}",
            field=path,
            fix='e.g. {"traits.csat": {"gte": 8}} or {"traits.plan": ["pro", "team"]}',
        )
    kind = kinds.pop() if kinds else FieldType.TEXT
    assert kind is not None
    spec = trait_field(key, kind)
    if op not in OPERATORS[kind]:
        guess = _suggest(str(op), list(OPERATORS[kind]))
        hint = f"did you mean {guess}? " if guess else ""
        raise InvalidInput(
            f"unknown operator for {key} compared as {kind}",
            field=path,
            fix=f"{hint}(allowed: {', '.join(OPERATORS[kind])})",
        )
    return spec


def _flat(operands: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    """The values of several operands, in order, without repeats."""
    return tuple(dict.fromkeys(v for operand in operands for v in operand))


def _kind(spec: Field) -> str:
    return {
        FieldType.INT: "whole numbers",
        FieldType.NUMBER: "numbers",
        FieldType.MONEY: "amounts",
        FieldType.ENUM: "values",
        FieldType.TEXT: "strings",
        FieldType.CATEGORIES: "category names",
        FieldType.BOOL: "true/false",
    }[spec.type]


def _value(spec: Field, value: Any, path: str) -> tuple[Any, ...]:
    """One written value, checked and normalized; a tuple (an enum alias gives several)."""
    if value is None:
        raise InvalidInput(
            "null is not a value", field=path, fix='to match a missing value use {"exists": false}'
        )
    kind = spec.type
    if kind is FieldType.BOOL:
        if not isinstance(value, bool):
            raise InvalidInput(f"must be true or false, got {shown(value)}", field=path)
        return (value,)
    if kind in (FieldType.INT, FieldType.NUMBER, FieldType.MONEY):
        number = _number(spec, value, path)
        return (number,)
    if not isinstance(value, str):
        raise InvalidInput(f"must be a string, got {shown(value)}", field=path)
    if kind is FieldType.ENUM:
        key = "_".join(value.strip().lower().replace("-", " ").split())
        if key in spec.aliases:
            return spec.aliases[key]
        if key in spec.values:
            return (key,)
        guess = _suggest(key, [*spec.aliases, *spec.values])
        hint = f"did you mean {guess}? " if guess else ""
        raise InvalidInput(
            f"unknown value {shown(value)} for {spec.name}",
            field=path,
            fix=f"{hint}(allowed: {spec.describe_values()})",
        )
    if not value.strip():
        raise InvalidInput("must not be empty", field=path)
    return (value,)


def _number(spec: Field, value: Any, path: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"must be a number, got {shown(value)}", field=path)
    kind = spec.type
    if kind is FieldType.INT:
        if isinstance(value, float) and not value.is_integer():
            raise InvalidInput(f"must be a whole number, got {shown(value)}", field=path)
        value = int(value)
    low, high = spec.minimum, spec.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = (
            f"between {_num(low)} and {_num(high)}"
            if low is not None and high is not None
            else f"at least {_num(low)}"
            if low is not None
            else f"at most {_num(high)}"
        )
        raise InvalidInput(f"must be {bounds} ({spec.unit}), got {shown(value)}", field=path)
    if kind is FieldType.MONEY:
        cents = round(value * 100)
        if abs(value * 100 - cents) > 1e-6:
            raise InvalidInput(
                f"must be an amount in currency units with at most 2 decimals, got {shown(value)}",
                field=path,
            )
        return cents
    return value


def _num(value: float | None) -> str:
    return f"{value:g}"


def parse_criteria(data: Any, *, root: str = "criteria") -> Criterion:
    """The typed tree of criteria JSON; InvalidInput naming the path of the first problem."""
    return _Parser().criteria(data, root, 0)


def load_criteria_json(text: str, *, field: str = "criteria") -> Any:
    """JSON text as data; InvalidInput with the line and column of a syntax error."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", field=field
        ) from None


def conditions(criterion: Criterion) -> list[Condition]:
    """Every condition of the tree, in order."""
    if isinstance(criterion, Condition):
        return [criterion]
    if isinstance(criterion, Not):
        return conditions(criterion.item)
    return [c for item in criterion.items for c in conditions(item)]


def fields_used(criterion: Criterion) -> set[str]:
    return {c.field for c in conditions(criterion)}


def describe(condition: Condition) -> str:
    """A condition as a person reads it: `rfm.composite gte 38`."""
    return f"{condition.field} {condition.op} {shown(condition.expected)}"
