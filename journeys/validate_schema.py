"""Shape errors of a journey body (unknown fields, bad types, bad criteria) as Problems: every
one Pydantic finds, not only the first, with did-you-mean suggestions for unknown names."""

from __future__ import annotations

import difflib
import types
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from core.config_files import field_path
from core.errors import InvalidInput
from journeys.problems import ERROR, Problem
from journeys.spec import NODE_KINDS, TRIGGER_TYPES, Journey, _without_tags
from scoring.criteria import parse_criteria

EXAMPLE = "knowledge/journeys/activation-retention.yaml"
CRITERIA_FIELDS = ("entry", "exclusion", "when", "where")
#: Errors that only repeat a deeper one (a tuple whose items all failed is "too short").
CASCADING = ("too_short",)


def path_of(location: tuple[Any, ...]) -> str:
    """A Pydantic location (tags removed) as the path the author wrote: `nodes[3].day`."""
    path = field_path(location, "").lstrip(".")
    return path or "journey"


def suggest(word: str, choices: list[str]) -> str | None:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return close[0] if close else None


def _strip(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _tag(member: Any) -> str | None:
    """The tag a discriminated union member answers to: Tag("step"), or a `type` Literal."""
    if get_origin(member) is Annotated:
        for meta in get_args(member)[1:]:
            if hasattr(meta, "tag"):
                return str(meta.tag)
    model = _strip(member)
    if isinstance(model, type) and issubclass(model, BaseModel):
        field = model.model_fields.get("type")
        if field is not None and get_origin(field.annotation) is Literal:
            return str(get_args(field.annotation)[0])
    return None


def model_at(annotation: Any, location: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model a (tagged) Pydantic location points into, or None."""
    annotation = _strip(annotation)
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        members = [m for m in get_args(annotation) if _strip(m) is not type(None)]
        if len(members) == 1:
            return model_at(members[0], location)
        if not location:
            return None
        for member in members:
            if _tag(member) == location[0]:
                return model_at(member, location[1:])
        return None
    if not location:
        return (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
    if origin is tuple or origin is list:
        return model_at(get_args(annotation)[0], location[1:])
    if origin is dict:
        return model_at(get_args(annotation)[1], location[1:])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(str(location[0]))
        return None if field is None else model_at(field.annotation, location[1:])
    return None


def _value_at(data: Any, location: tuple[Any, ...]) -> Any:
    for part in location:
        in_mapping = isinstance(data, Mapping) and part in data
        in_list = isinstance(data, list | tuple) and isinstance(part, int) and part < len(data)
        if not (in_mapping or in_list):
            return None
        data = data[part]
    return data


def _unknown_field(raw: tuple[Any, ...], path: str) -> Problem:
    name = str(raw[-1])
    model = model_at(Journey, raw[:-1])
    allowed = list(model.model_fields) if model is not None else []
    guess = suggest(name, allowed)
    fix = f"did you mean {guess!r}? " if guess else "remove it; "
    if allowed:
        fix += f"allowed here: {', '.join(allowed)}"
    return Problem(ERROR, "unknown_field", path, f"unknown field {name!r}", fix.strip())


def _bad_tag(error: Mapping[str, Any], path: str) -> Problem:
    tag = str((error.get("ctx") or {}).get("tag", ""))
    choices = sorted(TRIGGER_TYPES if path == "trigger" else NODE_KINDS)
    guess = suggest(tag, choices)
    what = "trigger type" if path == "trigger" else "node kind"
    hint = f"did you mean {guess!r}? " if guess else ""
    return Problem(
        ERROR,
        "unknown_kind",
        f"{path}.type" if path == "trigger" else f"{path}.kind",
        f"unknown {what} {tag!r}",
        f"{hint}use one of {', '.join(choices)}",
    )


def _criteria(data: Any, location: tuple[Any, ...], path: str, message: str) -> Problem:
    """A criteria error re-parsed in place, so it names the path inside the criteria and
    keeps the parser's fix (did you mean ...)."""
    try:
        parse_criteria(_value_at(data, location), root=path)
    except InvalidInput as exc:
        return Problem(ERROR, "bad_criteria", exc.field or path, exc.message, exc.fix or "")
    return Problem(ERROR, "bad_criteria", path, message, "see the segment language fields")


def schema_problems(exc: ValidationError, data: Any) -> list[Problem]:
    """Every Pydantic error of the body as a Problem, deeper causes first in body order."""
    raw_errors = exc.errors()
    locations = [tuple(error["loc"]) for error in raw_errors]
    problems: list[Problem] = []
    for error, raw in zip(raw_errors, locations, strict=True):
        deeper = any(other[: len(raw)] == raw and len(other) > len(raw) for other in locations)
        if error["type"] in CASCADING and deeper:
            continue
        location = _without_tags(raw)
        path = path_of(location)
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            problems.append(_unknown_field(raw, path))
        elif error["type"] == "union_tag_invalid":
            problems.append(_bad_tag(error, path))
        elif location and location[-1] in CRITERIA_FIELDS and error["type"] == "value_error":
            problems.append(_criteria(data, location, path, message))
        elif error["type"] == "missing":
            problems.append(
                Problem(ERROR, "missing_field", path, "required field missing", f"add {path}")
            )
        else:
            problems.append(
                Problem(ERROR, "bad_value", path, message, f"correct it (see {EXAMPLE})")
            )
    return problems


def not_a_mapping(data: Any) -> Problem:
    return Problem(
        ERROR,
        "not_a_mapping",
        "journey",
        f"a journey is a mapping (id, name, trigger, start, nodes, ...), got {type(data).__name__}",
        f"start from {EXAMPLE}",
    )
