"""Contact state, suppressions, opt-out and the contact policy against a real database, on
SQLite and PostgreSQL: workspace isolation, provenance, idempotency, and an opt-out seen by the
very next decision."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core import workspaces
from core.db import session_scope
from core.errors import InvalidInput, NotFound
from core.models import (
    ChannelConsent,
    Customer,
    CustomerIdentity,
    CustomerTouch,
    DomainEvent,
    EmailEvent,
    Suppression,
)
from core.settings import Settings
from guardrails import suppressions
from guardrails.contact import ContactAction, contact_decision
from guardrails.contact_state import load_customer_state, lookback_of
from guardrails.contact_store import policy_of, reset_rules, set_rules
from guardrails.opt_out import opt_out
from tests.scoring.segment_fixtures import db_settings  # noqa: F401 - fixture

NOW = datetime(2026, 11, 20, 15, tzinfo=UTC)  # 16:00 in Paris
D = timedelta(days=1)
CHANNELS = ("email", "sms", "push", "in_app")
PLAIN = ContactAction("newsletter")


def setup(settings: Settings, slug: str = "shop", customer: str = "c1") -> str:
    with session_scope(settings) as session:
        workspace = workspaces.get(session, slug) or workspaces.create(session, slug)
        session.add(
            Customer(
                id=f"{slug}-{customer}",
                workspace_id=workspace.id,
                user_id=customer,
                timezone="Europe/Paris",
            )
        )
        session.add(
            CustomerIdentity(
                workspace_id=workspace.id,
                kind="user_id",
                value=customer,
                customer_id=f"{slug}-{customer}",
            )
        )
        session.flush()
        for channel in CHANNELS:
            session.add(
                ChannelConsent(
                    workspace_id=workspace.id,
                    customer_id=f"{slug}-{customer}",
                    channel=channel,
                    status="granted",
                    source="signup form",
                    recorded_at=NOW - 90 * D,
                )
            )
        return workspace.id


def decide(session, ws, customer, channel="email", trigger=None, action=PLAIN, now=NOW):
    policy = policy_of(session, ws)
    state = load_customer_state(session, ws, customer, now, lookback=lookback_of(policy))
    return contact_decision(state, channel, trigger, action, policy, now)


def test_state_is_scoped_to_the_workspace_and_holds_every_kind_of_row(db_settings):  # noqa: F811
    ws = setup(db_settings)
    other = setup(db_settings, "other")
    with session_scope(db_settings) as session:
        # the other workspace's suppression and touches must not leak
        suppressions.add(
            session, other, "other-c1", channel="all", reason="manual", source="ops ticket 7"
        )
        session.add_all(
            [
                CustomerTouch(
                    workspace_id=ws,
                    customer_id="shop-c1",
                    channel="sms",
                    action_id="cart-sms",
                    action_type="sms",
                    occurred_at=NOW - timedelta(hours=3),
                    trigger_id="cart:9",
                    high_value=True,
                ),
                CustomerTouch(  # older than the 14-day lookback: not loaded
                    workspace_id=ws,
                    customer_id="shop-c1",
                    channel="email",
                    action_id="old",
                    action_type="email",
                    occurred_at=NOW - 20 * D,
                ),
                EmailEvent(
                    workspace_id=ws,
                    customer_id="shop-c1",
                    campaign_id="spring",
                    type="sent",
                    occurred_at=NOW - 2 * D,
                ),
                EmailEvent(
                    workspace_id=ws,
                    customer_id="shop-c1",
                    campaign_id="spring",
                    type="bounce",
                    occurred_at=NOW - 2 * D,
                ),
            ]
        )
        session.flush()
        policy = policy_of(session, ws)
        state = load_customer_state(session, ws, "shop-c1", NOW, lookback=lookback_of(policy))
        assert state.timezone == "Europe/Paris"
        assert {c: r.status for c, r in state.consent.items()} == dict.fromkeys(CHANNELS, "granted")
        assert state.consent["sms"].source == "signup form"
        assert state.consent["sms"].recorded_at == NOW - 90 * D
        assert [(s.channel, s.reason) for s in state.suppressions] == [("email", "bounce")]
        assert [(t.channel, t.action_id, t.trigger_id, t.high_value) for t in state.touches] == [
            ("email", "campaign:spring", None, False),
            ("sms", "cart-sms", "cart:9", True),
        ]
        assert all(t.occurred_at.tzinfo is not None for t in state.touches)
        assert decide(session, ws, "shop-c1").rule == "suppressed"
        assert decide(session, ws, "shop-c1", "push", trigger="cart:9").rule == "trigger_once"
        offer = ContactAction("vip", high_value=True)
        assert decide(session, ws, "shop-c1", "push", action=offer).rule == "high_value_cooldown"
        assert decide(session, ws, "shop-c1", "push").allowed
        with pytest.raises(NotFound) as caught:
            load_customer_state(session, ws, "other-c1", NOW)
        assert caught.value.field == "customer"


def test_an_opt_out_is_seen_by_the_very_next_decision_on_every_channel(db_settings):  # noqa: F811
    ws = setup(db_settings)
    with session_scope(db_settings) as session:
        assert all(decide(session, ws, "shop-c1", ch).allowed for ch in CHANNELS)
        done = opt_out(session, ws, "shop-c1", "all", "preference centre", now=NOW)
        assert done.channels == CHANNELS and done.newly_revoked == CHANNELS
        for channel in CHANNELS:
            decision = decide(session, ws, "shop-c1", channel, now=NOW + timedelta(seconds=1))
            assert (decision.allowed, decision.rule, decision.retry_at) == (False, "consent", None)
            assert "revoked by preference centre" in decision.detail
    with session_scope(db_settings) as session:
        again = opt_out(session, ws, "shop-c1", "all", "preference centre", now=NOW + D)
        assert again.newly_revoked == ()
        rows = session.execute(select(Suppression.channel, Suppression.reason)).all()
        assert rows == [("all", "unsubscribe")]
        events = session.scalars(
            select(DomainEvent).where(DomainEvent.name == "customer.opted_out")
        ).all()
        assert [e.customer_id for e in events] == ["shop-c1", "shop-c1"]
        assert events[0].payload == {
            "channels": list(CHANNELS),
            "scope": "all",
            "source": "preference centre",
        }
        consent = session.get(ChannelConsent, (ws, "shop-c1", "sms"))
        assert (consent.status, consent.source) == ("revoked", "preference centre")


def test_a_single_channel_opt_out_leaves_the_others(db_settings):  # noqa: F811
    ws = setup(db_settings)
    with session_scope(db_settings) as session:
        opt_out(session, ws, "shop-c1", "sms", "STOP reply", now=NOW)
        assert decide(session, ws, "shop-c1", "sms").rule == "consent"
        assert decide(session, ws, "shop-c1", "push").allowed
        with pytest.raises(InvalidInput) as caught:
            opt_out(session, ws, "shop-c1", "fax", "x")
        assert caught.value.field == "channel"
        with pytest.raises(InvalidInput) as caught:
            opt_out(session, ws, "shop-c1", "sms", "  ")
        assert caught.value.field == "source"
        with pytest.raises(NotFound):
            opt_out(session, ws, "nobody", "sms", "x")


def test_the_suppression_list_adds_once_lists_and_removes_with_a_trace(db_settings):  # noqa: F811
    ws = setup(db_settings)
    setup(db_settings, "shop", "c2")
    with session_scope(db_settings) as session:
        assert suppressions.add(
            session, ws, "shop-c1", channel="push", reason="manual", source="ops", now=NOW
        )
        assert not suppressions.add(
            session, ws, "shop-c1", channel="push", reason="manual", source="ops again"
        )
        suppressions.add(
            session, ws, "shop-c2", channel="all", reason="complaint", source="call", now=NOW + D
        )
        listed = suppressions.list_(session, ws)
        assert [(s.user_id, s.channel, s.reason) for s in listed] == [
            ("c2", "all", "complaint"),
            ("c1", "push", "manual"),
        ]
        assert [s.user_id for s in suppressions.list_(session, ws, reason="manual")] == ["c1"]
        assert decide(session, ws, "shop-c1", "push").rule == "suppressed"
        assert decide(session, ws, "shop-c2", "sms").rule == "suppressed"
        lifted = suppressions.remove(
            session, ws, "shop-c1", channel="push", reason=None, source="ops: resolved"
        )
        assert lifted == 1
        assert decide(session, ws, "shop-c1", "push").allowed
        trace = session.scalars(
            select(DomainEvent.payload).where(DomainEvent.name == "suppression.removed")
        ).one()
        assert trace["reason"] == "manual" and trace["removed_by"] == "ops: resolved"
        assert (
            suppressions.remove(session, ws, "shop-c1", channel="push", reason=None, source="x")
            == 0
        )
        for bad, field in (
            ({"channel": "fax", "reason": "manual"}, "channel"),
            ({"channel": "sms", "reason": "bored"}, "reason"),
        ):
            with pytest.raises(InvalidInput) as caught:
                suppressions.add(session, ws, "shop-c1", source="x", **bad)
            assert caught.value.field == field


def test_import_from_events_suppresses_bounces_and_unsubscribes(db_settings, tmp_path):  # noqa: F811
    import json

    from scoring.event_import import import_events

    setup(db_settings)

    def track(message_id: str, event: str, **properties: str) -> str:
        return json.dumps(
            {
                "type": "track",
                "messageId": message_id,
                "userId": "c1",
                "event": event,
                "properties": {"campaign_id": "fall", **properties},
                "timestamp": "2026-11-10T10:00:00Z",
            }
        )

    events = tmp_path / "events.jsonl"
    events.write_text(
        "\n".join(
            [
                track("1", "Email Bounced"),
                track("2", "Email Bounced"),
                track("3", "Email Marked as Spam"),
                track("4", "Unsubscribed", channel="sms"),
            ]
        )
        + "\n"
    )
    assert import_events(db_settings, "shop", events).loaded == 4
    with session_scope(db_settings) as session:
        ws = workspaces.get(session, "shop").id
        # before the import the decision already honours the events
        assert decide(session, ws, "shop-c1", "sms").rule == "consent"
        assert decide(session, ws, "shop-c1", "email").rule == "suppressed"
        report = suppressions.import_from_events(session, ws)
        assert (report.bounces, report.complaints, report.unsubscribes) == (1, 1, 1)
        assert suppressions.import_from_events(session, ws) == suppressions.ImportReport()
        rows = session.execute(
            select(Suppression.channel, Suppression.reason).order_by(Suppression.reason)
        ).all()
        assert rows == [("email", "bounce"), ("email", "complaint"), ("sms", "unsubscribe")]
        opted = session.scalars(
            select(DomainEvent.payload).where(DomainEvent.name == "customer.opted_out")
        ).one()
        assert opted == {"channels": ["sms"], "scope": "sms", "source": "unsubscribe:fall"}
        assert decide(session, ws, "shop-c1", "push").allowed


def test_the_contact_policy_takes_rules_from_its_file_and_caps_from_the_inventory(
    db_settings,  # noqa: F811
    tmp_path: Path,
):
    from scoring.action_store import set_inventory

    ws = setup(db_settings)
    rules = tmp_path / "contact.yaml"
    rules.write_text(
        "quiet_hours: {start: 22:00, end: '07:30', channels: [sms]}\n"
        "default_timezone: America/New_York\nflood_per_day: 1\n",
        encoding="utf-8",
    )
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        "actions:\n  - {id: a1, title: A, channel: sms, type: sms, goal: retain, value: 1}\n"
        "caps: {per_week: {sms: 4}, per_day: {sms: 2}, total_per_week: 9}\n",
        encoding="utf-8",
    )
    with session_scope(db_settings) as session:
        stored = set_rules(session, ws, rules)
        set_inventory(session, ws, inventory)
        policy = policy_of(session, ws)
        assert policy.rules == stored and policy.rules.flood_per_day == 1
        assert policy.rules.quiet_hours.start.hour == 22  # YAML's 22:00 is 1320 in base 60
        assert policy.caps.per_week == {"sms": 4} and policy.caps.total_per_week == 9
        session.add(
            CustomerTouch(
                workspace_id=ws,
                customer_id="shop-c1",
                channel="push",
                action_type="push",
                occurred_at=NOW - timedelta(hours=2),
            )
        )
        session.flush()
        assert decide(session, ws, "shop-c1", "sms").rule == "flood"
        reset_rules(session, ws)
        assert policy_of(session, ws).rules.flood_per_day == 3
        bad = tmp_path / "bad.yaml"
        for text, field in (
            ("caps: {total_per_week: 3}\n", "contact_policy.caps"),
            ("default_timezone: Mars/Base\n", "contact_policy.default_timezone"),
            ("quiet_hours: {start: '25:00'}\n", "contact_policy.quiet_hours.start"),
            ("flood_per_day: -1\n", "contact_policy.flood_per_day"),
            ("[unclosed\n", "FILE"),
        ):
            bad.write_text(text, encoding="utf-8")
            with pytest.raises(InvalidInput) as caught:
                set_rules(session, ws, bad)
            assert caught.value.field == field, text


@pytest.mark.postgres
def test_an_opt_out_waits_for_a_send_in_flight_and_the_next_send_sees_it(tmp_path, postgres_url):
    """Two real connections: the gate holds the customer's lock while it sends; an opt-out
    arriving meanwhile waits for it, and the send after the opt-out is blocked."""
    settings = Settings(data_dir=tmp_path / "pg", database_url=postgres_url)
    ws = setup(settings)
    holding = threading.Event()
    release = threading.Event()
    finished: list[float] = []

    def send_in_flight() -> None:
        with session_scope(settings) as session:
            state = load_customer_state(session, ws, "shop-c1", NOW, lock=True)
            assert contact_decision(state, "sms", None, PLAIN, policy_of(session, ws), NOW).allowed
            holding.set()
            release.wait(10)
            session.add(
                CustomerTouch(
                    workspace_id=ws,
                    customer_id="shop-c1",
                    channel="sms",
                    action_type="sms",
                    occurred_at=NOW,
                )
            )

    def opt_out_now() -> None:
        with session_scope(settings) as session:
            opt_out(session, ws, "shop-c1", "all", "STOP reply", now=NOW)
        finished.append(time.monotonic())

    sender = threading.Thread(target=send_in_flight)
    sender.start()
    assert holding.wait(10)
    stopper = threading.Thread(target=opt_out_now)
    stopper.start()
    time.sleep(0.5)
    assert not finished, "the opt-out must wait for the send that holds the customer"
    released_at = time.monotonic()
    release.set()
    sender.join(10)
    stopper.join(10)
    assert finished and finished[0] >= released_at
    with session_scope(settings) as session:
        assert session.scalar(select(func.count()).select_from(CustomerTouch)) == 1
        state = load_customer_state(session, ws, "shop-c1", NOW + D, lock=True)
        decision = contact_decision(state, "push", None, PLAIN, policy_of(session, ws), NOW + D)
        assert decision.rule == "consent" and "STOP reply" in decision.detail
