"""Personalization values for one send: the customer's own, else segment-level, else generic.

Seed 000's edge case "personalization data stale or missing": each journey field names its
source (`traits.first_name`, a profile field such as `email` or `locale`, or a segment-language
field such as `rfm.composite`); a value that is missing, empty, or older than the field's
`max_age_days` is replaced by the field's `segment_default`, then by its `generic` value. What
is still missing is reported, so the runtime can send other content or skip the step with a
reason instead of a broken message. `resolve` decides on plain data; `load_sources` reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Customer
from journeys.spec import PersonalizationField
from scoring.criteria_sql import load_field_values
from scoring.segment_fields import FIELDS

TRAIT_PREFIX = "traits."
PROFILE_FIELDS = ("email", "locale", "timezone", "user_id")


@dataclass(frozen=True, slots=True)
class Resolution:
    """The variables for the template and how each field was filled: `customer`,
    `segment_default`, `generic` or `missing`."""

    variables: dict[str, Any]
    how: dict[str, str] = field(default_factory=dict)

    @property
    def fallbacks(self) -> dict[str, str]:
        return {name: how for name, how in self.how.items() if how != "customer"}


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def resolve(
    fields: Iterable[PersonalizationField],
    values: Mapping[str, Any],
    ages_days: Mapping[str, float | None],
) -> Resolution:
    """Each field's value from `values` (keyed by source) when present and fresh enough, else
    its segment default, else its generic value, else missing (left out of the variables)."""
    variables: dict[str, Any] = {}
    how: dict[str, str] = {}
    for spec in fields:
        value = values.get(spec.source)
        age = ages_days.get(spec.source)
        stale = spec.max_age_days is not None and age is not None and age > spec.max_age_days
        if _present(value) and not stale:
            variables[spec.name], how[spec.name] = value, "customer"
        elif spec.segment_default is not None:
            variables[spec.name], how[spec.name] = spec.segment_default, "segment_default"
        elif spec.generic is not None:
            variables[spec.name], how[spec.name] = spec.generic, "generic"
        else:
            how[spec.name] = "missing"
    return Resolution(variables, how)


def load_sources(
    session: Session,
    workspace_id: str,
    customer_id: str,
    fields: Iterable[PersonalizationField],
    now: datetime,
    *,
    customer: Customer | None = None,
) -> tuple[dict[str, Any], dict[str, float | None]]:
    """The customer's value of each field's source, and its age in days where known (traits
    and profile fields: since the profile was last updated; computed fields: not known).
    A caller that loaded the customer already (a batch) passes it in."""
    fields = list(fields)
    sources = {spec.source for spec in fields}
    if not sources:
        return {}, {}
    if customer is None:
        customer = session.scalars(
            select(Customer).where(
                Customer.workspace_id == workspace_id, Customer.id == customer_id
            )
        ).one_or_none()
    if customer is None:
        return {}, {}
    computed = [source for source in sources if source in FIELDS]
    field_values = load_field_values(session, workspace_id, customer_id) if computed else None
    return sources_of(customer, field_values, sources, now)


def sources_of(
    customer: Customer,
    field_values: Mapping[str, Any] | None,
    sources: Iterable[str],
    now: datetime,
) -> tuple[dict[str, Any], dict[str, float | None]]:
    """Each source's value from the loaded customer (and its computed field values), with
    its age in days where known."""
    age = (now - customer.updated_at).total_seconds() / 86400 if customer.updated_at else None
    values: dict[str, Any] = {}
    ages: dict[str, float | None] = {}
    traits = customer.traits or {}
    for source in sources:
        if source.startswith(TRAIT_PREFIX):
            values[source], ages[source] = traits.get(source[len(TRAIT_PREFIX) :]), age
        elif source in PROFILE_FIELDS:
            values[source], ages[source] = getattr(customer, source), age
        elif field_values is not None and source in field_values:
            values[source], ages[source] = field_values[source], None
    return values, ages
