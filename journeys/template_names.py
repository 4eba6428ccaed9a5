"""The variables a draft asset's Jinja2 templates read, per content key, for the validator.

Parsed by `journeys.templates.template_variables`, the parser the channels render with, so a
template that parses here parses there. `BUILT_INS` are the variables every send has without
a personalization field: the profile's own fields (journeys.dispatch fills them) and the
unsubscribe link the email and webhook channels add.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.errors import InvalidInput
from journeys.templates import template_variables

BUILT_INS = frozenset({"customer_id", "user_id", "email", "locale", "timezone", "unsubscribe_url"})


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
            variables[key] = frozenset(template_variables(source))
        except InvalidInput as exc:
            broken[key] = str(exc).removeprefix("is not a valid template: ")
    return TemplateNames(variables, broken)
