"""Journey runtime test data: a team, consenting customers, approved assets, a running journey."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from core.db import session_scope
from core.settings import Settings
from journeys import journey_store
from tests.guardrails.approval_fixtures import Team, make_team
from tests.guardrails.gate_fixtures import NOW, add_customer, approve, submit_asset

JOURNEY = "JRN-TEST"
START = NOW - timedelta(hours=1)
EMAIL_ASSET: dict[str, Any] = {
    "channel": "email",
    "subject": "Hello {{ first_name }}",
    "body": "Hi {{ first_name }}, your {{ product }} is waiting. Unsubscribe: https://example.com/u",
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_settings(request: pytest.FixtureRequest, tmp_path: Any) -> Settings:
    if request.param == "postgres":
        return Settings(
            data_dir=tmp_path / "data", database_url=request.getfixturevalue("postgres_url")
        )
    return Settings(data_dir=tmp_path / "data")


@dataclass(frozen=True)
class World:
    team: Team
    settings: Settings
    item_id: str
    customers: tuple[str, ...]

    @property
    def workspace_id(self) -> str:
        return self.team.workspace_id


def approved_item(team: Team, content: dict[str, Any] | None = None) -> str:
    item_id, digest = submit_asset(team, content or dict(EMAIL_ASSET))
    approve(team, item_id, digest)
    return item_id


def journey_body(item_id: str, **overrides: Any) -> dict[str, Any]:
    """Two email steps (day 0, day 2) on the approved item."""
    body: dict[str, Any] = {
        "id": JOURNEY,
        "version": "1.0",
        "name": "Test journey",
        "trigger": {"type": "event", "event": "Cart Viewed"},
        "start": "first",
        "nodes": [
            {
                "id": "first",
                "day": 0,
                "channel": "email",
                "asset": {"title": "First", "ref": item_id},
                "next": "second",
            },
            {
                "id": "second",
                "day": 2,
                "channel": "email",
                "asset": {"title": "Second", "ref": item_id},
            },
        ],
        "personalization": {
            "fields": [
                {"name": "first_name", "source": "traits.first_name", "generic": "there"},
                {"name": "product", "source": "traits.product", "generic": "basket"},
            ]
        },
    }
    body.update(overrides)
    return body


def make_world(
    settings: Settings,
    *,
    customers: int = 1,
    body: dict[str, Any] | None = None,
    slug: str = "acme",
    prefix: str = "c",
) -> World:
    """A workspace (`slug`) with customers `{prefix}us_0000`... at `{prefix}0000@example.com`
    (a second world in one database takes another slug and prefix)."""
    team = make_team(settings, slug)
    ids = []
    for index in range(customers):
        customer_id = f"{prefix}us_{index:04d}"
        add_customer(settings, team.workspace_id, customer_id, f"{prefix}{index:04d}@example.com")
        ids.append(customer_id)
    item_id = approved_item(team)
    with session_scope(settings) as session:
        journey_store.save(session, team.marketer, body or journey_body(item_id), now=START)
        journey_store.activate(session, team.marketer, (body or {}).get("id", JOURNEY), now=START)
    return World(team, settings, item_id, tuple(ids))


def at(hours: float) -> datetime:
    return START + timedelta(hours=hours)
