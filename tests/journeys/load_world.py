"""A journey with many customers, all due now, for the crash test and the dispatch benchmark.

Contact limits are opened up (no quiet hours, high caps) so every step is due and allowed at
once: the point is the runtime's exactly-once behaviour and speed, not the contact rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert

from core.clock import utcnow
from core.db import session_scope
from core.models import (
    ActionInventory,
    ChannelConsent,
    ContactPolicyRecord,
    Customer,
    CustomerIdentity,
    JourneyTask,
)
from core.settings import Settings
from guardrails.contact_policy import ContactRules
from journeys import journey_store
from journeys.enrol_plan import Entrant
from journeys.enrolment import enrol_many
from journeys.schedule import step_key
from scoring.action_store import inventory_of
from tests.guardrails.approval_fixtures import Team, make_team
from tests.journeys.runtime_fixtures import approved_item

LOAD_JOURNEY = "JRN-LOAD"
OPEN_CAP = 1000


@dataclass(frozen=True)
class LoadWorld:
    team: Team
    customers: tuple[str, ...]
    steps: tuple[str, ...]
    enrolments: tuple[str, ...]

    @property
    def workspace_id(self) -> str:
        return self.team.workspace_id

    def expected_keys(self) -> set[str]:
        return {
            step_key(self.workspace_id, LOAD_JOURNEY, enrolment, step)
            for enrolment in self.enrolments
            for step in self.steps
        }


def open_contact_limits(settings: Settings, workspace_id: str) -> None:
    rules = ContactRules(quiet_hours=None, flood_per_day=100, trigger_window_hours=0)
    with session_scope(settings) as session:
        session.add(
            ContactPolicyRecord(
                workspace_id=workspace_id, version=rules.version, body=rules.model_dump(mode="json")
            )
        )
        body = inventory_of(session, workspace_id).model_dump(mode="json")
        channels = ("email", "sms", "push", "in_app")
        body["caps"] = {
            "per_week": dict.fromkeys(channels, OPEN_CAP),
            "per_day": dict.fromkeys(channels, OPEN_CAP),
            "total_per_week": OPEN_CAP,
            "high_value_cooldown_days": 0,
        }
        session.add(ActionInventory(workspace_id=workspace_id, version="load", body=body))


def add_customers(settings: Settings, workspace_id: str, count: int, channel: str) -> list[str]:
    ids = [f"cus_{index:06d}" for index in range(count)]
    since = utcnow() - timedelta(days=30)
    with session_scope(settings) as session:
        session.execute(
            insert(Customer),
            [
                {
                    "id": c,
                    "workspace_id": workspace_id,
                    "user_id": c,
                    "timezone": "UTC",
                    "traits": {"first_name": f"N{c[-4:]}"},
                }
                for c in ids
            ],
        )
        session.execute(
            insert(CustomerIdentity),
            [
                {
                    "workspace_id": workspace_id,
                    "kind": "email",
                    "value": f"{c}@example.com",
                    "customer_id": c,
                }
                for c in ids
            ],
        )
        session.execute(
            insert(ChannelConsent),
            [
                {
                    "workspace_id": workspace_id,
                    "customer_id": c,
                    "channel": channel,
                    "status": "granted",
                    "source": "signup form",
                    "recorded_at": since,
                }
                for c in ids
            ],
        )
    return ids


def journey(item_id: str, steps: int, channel: str) -> dict[str, Any]:
    names = [f"s{index}" for index in range(steps)]
    return {
        "id": LOAD_JOURNEY,
        "name": "Load",
        "trigger": {"type": "event", "event": "Load"},
        "start": names[0],
        "nodes": [
            {
                "id": name,
                "day": index,
                "channel": channel,
                "asset": {"title": name, "ref": item_id},
                "next": names[index + 1] if index + 1 < steps else None,
            }
            for index, name in enumerate(names)
        ],
        "personalization": {
            "fields": [{"name": "first_name", "source": "traits.first_name", "generic": "there"}]
        },
    }


CONTENT = {
    "email": {
        "channel": "email",
        "subject": "Hello {{ first_name }}",
        "body": "Hi {{ first_name }}, news from us. Unsubscribe: {{ unsubscribe_url }}",
    },
    "in_app": {"channel": "in_app", "title": "Hello {{ first_name }}", "body": "News from us."},
}


def make_load_world(
    settings: Settings,
    *,
    customers: int,
    steps: int,
    channel: str = "email",
    now: datetime | None = None,
) -> LoadWorld:
    """`customers` customers enrolled `steps` days ago in a journey of `steps` daily steps on
    `channel`, so every step is due now."""
    team = make_team(settings)
    open_contact_limits(settings, team.workspace_id)
    ids = add_customers(settings, team.workspace_id, customers, channel)
    item_id = approved_item(team, CONTENT[channel])
    entered = (now or utcnow()) - timedelta(days=steps)
    with session_scope(settings) as session:
        journey_store.save(session, team.marketer, journey(item_id, steps, channel))
        journey_store.activate(session, team.marketer, LOAD_JOURNEY)
    with session_scope(settings) as session:
        results = enrol_many(
            session,
            workspace_id=team.workspace_id,
            journey_id=LOAD_JOURNEY,
            trigger_type="event",
            entrants=[Entrant(customer, f"{customer}:load", entered) for customer in ids],
        )
    enrolments = [result.enrolment_id for result in results]
    return LoadWorld(team, tuple(ids), tuple(f"s{i}" for i in range(steps)), tuple(enrolments))


def task_states(settings: Settings, workspace_id: str) -> dict[str, int]:
    from sqlalchemy import func, select

    with session_scope(settings) as session:
        rows = session.execute(
            select(JourneyTask.status, func.count())
            .where(JourneyTask.workspace_id == workspace_id)
            .group_by(JourneyTask.status)
        )
        return {status: count for status, count in rows}
