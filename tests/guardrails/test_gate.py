"""The execution gate against a real database and a real SMTP server: every check, in order,
exactly once, audited; on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.db import session_scope
from core.errors import InvalidInput
from core.models import AuditRecord, CustomerTouch, Execution, GateControl, OutboxMessage
from core.settings import Settings
from guardrails import approvals
from guardrails.approval_requests import parse_request
from guardrails.audit.service import verify
from guardrails.gate import GateResult, execute, first_refusal
from guardrails.opt_out import opt_out
from journeys.channels.email import SmtpEmailAdapter
from tests.fixtures.smtp import smtp_server
from tests.guardrails.approval_fixtures import POLICY
from tests.guardrails.gate_fixtures import (
    CONTENT,
    CUSTOMER,
    EMAIL,
    NOW,
    GateWorld,
    approve,
    make_world,
)


def _with_smtp(settings: Settings, port: int) -> Settings:
    return settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})


def run(world: GateWorld, settings: Settings, request=None, now=NOW) -> GateResult:
    with session_scope(settings) as session:
        return execute(
            session,
            request or world.request(),
            SmtpEmailAdapter(settings),
            settings=settings,
            now=now,
        )


def count(settings: Settings, model) -> int:
    with session_scope(settings) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def audit_decisions(settings: Settings, workspace_id: str) -> list[str]:
    with session_scope(settings) as session:
        return list(
            session.scalars(
                select(AuditRecord.decision)
                .where(AuditRecord.workspace_id == workspace_id)
                .order_by(AuditRecord.seq)
            )
        )


def test_an_approved_send_goes_out_once_with_touch_outbox_and_audit(db_settings):
    world = make_world(db_settings)
    with smtp_server() as (inbox, port):
        settings = _with_smtp(db_settings, port)
        first = run(world, settings)
        again = run(world, settings)
    assert first.status == "executed" and first.executed
    assert again.status == "duplicate" and again.execution_id == first.execution_id
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == EMAIL and message["Subject"] == CONTENT["subject"]
    assert message["Message-ID"] == first.provider_message_id
    assert count(settings, Execution) == 1
    assert count(settings, OutboxMessage) == 1
    with session_scope(settings) as session:
        touch = session.scalars(select(CustomerTouch)).one()
        assert (touch.channel, touch.trigger_id, touch.action_id) == (
            "email",
            "spring_launch",
            "spring_email",
        )
        outbox = session.scalars(select(OutboxMessage)).one()
        assert outbox.topic == "message.sent"
        assert outbox.payload["content_hash"] == world.content_hash
        report = verify(session, world.team.workspace_id, settings=settings)
        assert report.intact
        record = session.scalars(
            select(AuditRecord).where(AuditRecord.decision == "executed")
        ).one()
        assert EMAIL not in str(record.inputs)  # the address is personal data: redacted
        assert record.output_hash == world.content_hash
    assert audit_decisions(settings, world.team.workspace_id)[-2:] == ["executed", "duplicate"]


def test_content_other_than_the_approved_one_is_refused_and_the_key_stays_free(db_settings):
    world = make_world(db_settings)
    changed = {**CONTENT, "subject": "Spring is here: 90% off everything"}
    with smtp_server() as (inbox, port):
        settings = _with_smtp(db_settings, port)
        refused = run(world, settings, world.request(content=changed))
        allowed = run(world, settings)  # the same key, the approved content
    assert (refused.status, refused.rule) == ("blocked", "approval")
    assert allowed.status == "executed"
    assert [m["Subject"] for m in inbox.messages] == [CONTENT["subject"]]
    assert audit_decisions(settings, world.team.workspace_id)[-2:] == ["blocked", "executed"]


def test_an_unapproved_or_edited_item_sends_nothing(db_settings):
    world = make_world(db_settings, approved=False)
    with smtp_server() as (inbox, port):
        settings = _with_smtp(db_settings, port)
        pending = run(world, settings)
        approve(world.team, world.item_id, world.content_hash)  # then edit: the approval is void
        with session_scope(settings) as session:
            approvals.edit(
                session,
                actor=world.team.marketer,
                item_id=world.item_id,
                request=parse_request(
                    {
                        "kind": "asset",
                        "title": "Spring email",
                        "content": {**CONTENT, "body": "Edited after approval"},
                    }
                ),
                policy=POLICY,
            )
        edited = run(world, settings)
    assert (pending.status, pending.rule) == ("blocked", "approval")
    assert (edited.status, edited.rule) == ("blocked", "approval")
    assert inbox.messages == []
    assert count(settings, Execution) == 0


def test_the_kill_switch_stops_everything_workspace_or_global(db_settings):
    world = make_world(db_settings)
    with smtp_server() as (inbox, port):
        settings = _with_smtp(db_settings, port)
        with session_scope(settings) as session:
            session.add(
                GateControl(
                    workspace_id=world.team.workspace_id,
                    paused=True,
                    reason="incident 42",
                    changed_by="root",
                )
            )
        paused = run(world, settings)
        with session_scope(settings) as session:
            session.get(GateControl, world.team.workspace_id).paused = False
        global_off = run(world, settings.model_copy(update={"kill_switch": True}))
        resumed = run(world, settings)
    assert (paused.status, paused.rule) == ("blocked", "kill_switch")
    assert "incident 42" in paused.detail
    assert (global_off.status, global_off.rule) == ("blocked", "kill_switch")
    assert resumed.status == "executed"
    assert len(inbox.messages) == 1


def test_an_opt_out_blocks_the_next_send_and_caps_block_a_second_one(db_settings):
    world = make_world(db_settings)
    with smtp_server() as (inbox, port):
        settings = _with_smtp(db_settings, port)
        first = run(world, settings)
        capped = run(
            world,
            settings,
            world.request(key="k2", trigger_id="other"),
            now=NOW + timedelta(hours=1),
        )
        same_trigger = run(world, settings, world.request(key="k3"), now=NOW + timedelta(days=2))
        with session_scope(settings) as session:
            opt_out(
                session,
                world.team.workspace_id,
                CUSTOMER,
                "all",
                "preference centre",
                now=NOW + timedelta(days=2),
            )
        after = run(
            world, settings, world.request(key="k4", trigger_id="t4"), now=NOW + timedelta(days=3)
        )
    assert first.status == "executed"
    assert (capped.status, capped.rule) == ("blocked", "cap_day")
    assert capped.retry_at is not None
    assert same_trigger.status == "executed"  # the trigger's 24 h have passed
    assert after.status == "blocked" and after.rule in {"consent", "suppressed"}
    assert len(inbox.messages) == 2


def test_quiet_hours_defer_with_the_time_to_retry(db_settings):
    world = make_world(db_settings)
    night = NOW.replace(hour=22)  # 23:00 in Paris
    with smtp_server() as (inbox, port):
        result = run(world, _with_smtp(db_settings, port), now=night)
    assert (result.status, result.rule) == ("blocked", "quiet_hours")
    assert result.retry_at is not None and result.retry_at > night
    assert inbox.messages == []


def test_a_channel_failure_sends_nothing_and_a_retry_with_the_key_succeeds(db_settings):
    world = make_world(db_settings)
    with smtp_server() as (inbox, port):
        pass  # the port is free again: nothing listens
    down = run(world, _with_smtp(db_settings, port))
    assert (down.status, down.rule) == ("failed", "channel")
    assert count(db_settings, Execution) == 0
    with smtp_server() as (inbox, port):
        retried = run(world, _with_smtp(db_settings, port))
    assert retried.status == "executed" and len(inbox.messages) == 1
    assert audit_decisions(db_settings, world.team.workspace_id)[-2:] == ["failed", "executed"]


def test_bad_requests_name_the_field(db_settings):
    world = make_world(db_settings)
    settings = _with_smtp(db_settings, 25)
    for request, field in (
        (world.request(key=""), "idempotency_key"),
        (world.request(key="x" * 201), "idempotency_key"),
        (world.request(channel="fax"), "channel"),
        (world.request(channel="sms"), "channel"),  # an email adapter for an sms
        (world.request(actor=" "), "actor"),
    ):
        with pytest.raises(InvalidInput) as caught:
            run(world, settings, request)
        assert caught.value.field == field


def test_first_refusal_keeps_the_gate_order():
    from guardrails.contact import ContactDecision

    blocked = ContactDecision(False, "cap_week", "email cap 2/week reached")
    assert first_refusal(paused="off", approved=False, contact=blocked).rule == "kill_switch"
    assert first_refusal(paused=None, approved=False, contact=blocked).rule == "approval"
    assert first_refusal(paused=None, approved=True, contact=blocked).rule == "cap_week"
    allowed = ContactDecision(True, "allowed", "")
    assert first_refusal(paused=None, approved=True, contact=allowed) is None
    assert replace(blocked, allowed=True).allowed


def test_every_approval_step_and_send_is_in_the_audit_chain(db_settings):
    world = make_world(db_settings)
    with smtp_server() as (_, port):
        settings = _with_smtp(db_settings, port)
        run(world, settings)
    with session_scope(settings) as session:
        records = session.scalars(
            select(AuditRecord)
            .where(AuditRecord.workspace_id == world.team.workspace_id)
            .order_by(AuditRecord.seq)
        ).all()
        assert [(r.actor, r.action, r.decision) for r in records] == [
            ("mia", "approval.submit", "pending"),
            ("rev1", "approval.approve", "approved"),
            ("journey:spring", "gate.email", "executed"),
        ]
        assert verify(session, world.team.workspace_id, settings=settings).intact
