"""End to end: phones recorded by a Segment import address a journey's SMS step. The worker
sends through the gate to a loopback webhook receiver, to each customer's latest number (one
customer changed numbers, another took over the old one); on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

from pydantic import SecretStr
from sqlalchemy import select

from core.db import session_scope
from core.models import Customer, CustomerIdentity
from journeys import journey_store
from journeys.dispatch import recipient_of, recipients_of
from journeys.enrolment import enrol
from journeys.worker import Worker, wait_until_idle
from scoring.event_import import import_events
from tests.fixtures.receiver import webhook_receiver
from tests.guardrails.approval_fixtures import make_team
from tests.guardrails.gate_fixtures import add_customer
from tests.journeys.runtime_fixtures import START, approved_item, db_settings, journey_body

__all__ = ["db_settings"]

SMS = {"channel": "sms", "body": "Hi {{ first_name }}, spring sale today. STOP to opt out"}


def identify(message_id: str, user_id: str, phone: str, days_ago: int, name: str) -> dict:
    return {
        "type": "identify",
        "messageId": message_id,
        "userId": user_id,
        "timestamp": (START - timedelta(days=days_ago)).isoformat(),
        "traits": {"phone": phone, "first_name": name},
        "context": {
            "timezone": "Europe/Paris",
            "consent": {"categoryPreferences": {"sms": True}},
        },
    }


def test_a_journey_sms_step_reaches_the_imported_phone_number(db_settings, tmp_path):
    team = make_team(db_settings)
    events = tmp_path / "events.jsonl"
    messages = [
        identify("1", "u-ada", "+44 7700 900123", 30, "Ada"),
        identify("2", "u-ada", "+44 (7700) 900-456", 20, "Ada"),  # Ada's new number
        identify("3", "u-bo", "0044 7700 900123", 10, "Bo"),  # Ada's old number, now Bo's
    ]
    events.write_text("\n".join(json.dumps(m) for m in messages) + "\n")
    report = import_events(db_settings, "acme", events)
    assert (report.loaded, report.errors) == (3, [])
    sms_item = approved_item(team, dict(SMS))
    body = journey_body(sms_item, id="JRN-SMS")
    body["target"] = {"entry": {"consent.sms": "granted"}}
    body["nodes"] = [body["nodes"][0] | {"channel": "sms", "next": None}]
    with session_scope(db_settings) as session:
        journey_store.save(session, team.marketer, body, now=START)
        journey_store.activate(session, team.marketer, "JRN-SMS", now=START)
        customers = dict(session.execute(select(Customer.user_id, Customer.id)).all())
        for user_id, customer_id in customers.items():
            enrol(
                session,
                workspace_id=team.workspace_id,
                journey_id="JRN-SMS",
                customer_id=customer_id,
                trigger_type="event",
                trigger_key=f"{user_id}:spring",
                at=START,
            )
    with webhook_receiver() as (received, url):
        settings = db_settings.model_copy(
            update={"sms_webhook_url": url, "webhook_secret": SecretStr("s3cret-for-tests")}
        )
        worker = Worker(settings, clock=lambda: START, retry_delay=timedelta(0))
        outcome = wait_until_idle(worker, timeout_s=60)
    assert outcome.outcomes == {"sent": 2}
    sent = {body["customer_id"]: body for body in received.bodies.values()}
    assert sent[customers["u-ada"]]["recipient"] == "+447700900456"
    assert sent[customers["u-bo"]]["recipient"] == "+447700900123"
    assert sent[customers["u-bo"]]["content"]["body"].startswith("Hi Bo,")
    assert {b["channel"] for b in sent.values()} == {"sms"}


def test_dispatch_addresses_the_latest_claimed_phone_and_the_smallest_email(db_settings):
    """Two phones of one customer (written directly: the importer keeps one): the one claimed
    last wins, whatever its value; emails carry no date and go by value, as before."""
    team = make_team(db_settings)
    ws = team.workspace_id
    add_customer(db_settings, ws, "cus_1", "b@example.com")
    with session_scope(db_settings) as session:
        for kind, value, days_ago in (
            ("phone", "+14155550199", 1),
            ("phone", "+14155550100", 9),
            ("phone", "+14155550101", None),
            ("email", "a@example.com", None),
        ):
            recorded = None if days_ago is None else START - timedelta(days=days_ago)
            session.add(
                CustomerIdentity(
                    workspace_id=ws,
                    kind=kind,
                    value=value,
                    customer_id="cus_1",
                    recorded_at=recorded,
                )
            )
    with session_scope(db_settings) as session:
        assert recipient_of(session, ws, "cus_1", "sms") == "+14155550199"
        assert recipients_of(session, ws, ["cus_1"], "sms") == {"cus_1": "+14155550199"}
        assert recipient_of(session, ws, "cus_1", "email") == "a@example.com"
        assert recipients_of(session, ws, ["cus_1", "cus_x"], "email") == {"cus_1": "a@example.com"}
        assert recipients_of(session, ws, ["cus_1"], "push") == {}
