"""Personalization: an approved content's Jinja2 templates filled with one customer's fields.

Pure: a sandboxed environment (a template cannot reach Python internals), StrictUndefined (a
missing field is an error, never an empty string), autoescaping only for HTML parts (a key
`html` or ending in `_html`). Strings are templates; lists and mappings are walked; other
values pass through.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from core.errors import InvalidInput
from guardrails.delivery import DeliveryFailed

_ENVIRONMENTS = {
    escape: SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=escape, keep_trailing_newline=True
    )
    for escape in (False, True)
}


def is_html(key: str) -> bool:
    return key == "html" or key.endswith("_html")


@lru_cache(maxsize=512)
def _compiled(source: str, escape: bool) -> Any:
    return _ENVIRONMENTS[escape].from_string(source)


def _strings(content: Any, path: str, escape: bool) -> list[tuple[str, str, bool]]:
    """Every template string in the content, with its field path and whether it is HTML."""
    if isinstance(content, str):
        return [(path, content, escape)]
    if isinstance(content, Mapping):
        found: list[tuple[str, str, bool]] = []
        for key, value in content.items():
            name = f"{path}.{key}" if path else str(key)
            found += _strings(value, name, escape or is_html(str(key)))
        return found
    if isinstance(content, list | tuple):
        return [
            item
            for i, value in enumerate(content)
            for item in _strings(value, f"{path}[{i}]", escape)
        ]
    return []


@lru_cache(maxsize=1024)
def _names(source: str) -> frozenset[str]:
    """The names one template string reads (parsed once per distinct string)."""
    return frozenset(meta.find_undeclared_variables(_ENVIRONMENTS[False].parse(source)))


def template_variables(content: Any) -> set[str]:
    """The names the content's templates read (for the journey validator to check against the
    fields a customer has); InvalidInput naming the field when a template does not parse."""
    names: set[str] = set()
    for path, source, _ in _strings(content, "", False):
        try:
            found = _names(source)
        except TemplateSyntaxError as exc:
            raise InvalidInput(
                f"is not a valid template: {exc.message} (line {exc.lineno})",
                field=path or "content",
                fix="close every {{ }} and {% %}, or remove stray braces",
            ) from None
        names |= found
    return names


def _render(source: str, path: str, escape: bool, variables: Mapping[str, Any]) -> str:
    try:
        return str(_compiled(source, escape).render(variables))
    except UndefinedError as exc:
        missing = sorted(template_variables(source) - set(variables))
        what = f"variable {missing[0]!r}" if missing else str(exc.message)
        raise DeliveryFailed(
            f"template {path}: {what} is missing for this customer", retryable=False
        ) from None
    except TemplateSyntaxError as exc:
        raise DeliveryFailed(
            f"template {path} does not parse: {exc.message}", retryable=False
        ) from None
    except SecurityError:
        raise DeliveryFailed(
            f"template {path} tries an operation the sandbox forbids", retryable=False
        ) from None
    except Exception as exc:  # a filter on a value of the wrong type, a division by zero...
        raise DeliveryFailed(
            f"template {path} failed for this customer ({type(exc).__name__})", retryable=False
        ) from None


def _fill(content: Any, path: str, escape: bool, variables: Mapping[str, Any]) -> Any:
    if isinstance(content, str):
        return _render(content, path, escape, variables)
    if isinstance(content, Mapping):
        return {
            key: _fill(
                value, f"{path}.{key}" if path else str(key), escape or is_html(str(key)), variables
            )
            for key, value in content.items()
        }
    if isinstance(content, list | tuple):
        return [_fill(value, f"{path}[{i}]", escape, variables) for i, value in enumerate(content)]
    return content


def render_content(content: Mapping[str, Any], variables: Mapping[str, Any]) -> dict[str, Any]:
    """The content with every template filled; DeliveryFailed (not retryable) naming the field
    and the variable when one is missing. The content passed in is left as it was."""
    return dict(_fill(content, "", False, variables))


def customer_variables(traits: Mapping[str, Any], **fields: str | None) -> dict[str, Any]:
    """A customer's template fields: their traits (first_name...), then the profile's own
    fields (user_id, email, locale, timezone) where known, which win over a trait."""
    found = {str(key): value for key, value in traits.items()}
    found.update({key: value for key, value in fields.items() if value is not None})
    return found
