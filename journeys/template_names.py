"""The variables a draft asset's Jinja2 templates read (jinja2.meta), for the validator.

Parsed with the same sandboxed environment the channels render with, so a template that parses
here parses there. `BUILT_INS` are the variables every send has without a personalization
field: the profile's own fields and the unsubscribe link the email and webhook channels add.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from jinja2 import TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

BUILT_INS = frozenset({"user_id", "email", "locale", "timezone", "unsubscribe_url"})
_ENVIRONMENT = SandboxedEnvironment()


@dataclass(frozen=True, slots=True)
class TemplateNames:
    """Per content key: the variables read, or the syntax error that stopped the parse."""

    variables: dict[str, frozenset[str]]
    syntax_errors: dict[str, str]


def template_names(content: Mapping[str, str]) -> TemplateNames:
    variables: dict[str, frozenset[str]] = {}
    broken: dict[str, str] = {}
    for key, source in content.items():
        try:
            parsed = _ENVIRONMENT.parse(source)
        except TemplateSyntaxError as exc:
            broken[key] = f"{exc.message} (line {exc.lineno})"
            continue
        variables[key] = frozenset(meta.find_undeclared_variables(parsed))
    return TemplateNames(variables, broken)
