"""The feedback webhook under a real uvicorn server on loopback, hit with httpx: signatures,
stale timestamps, replays, and what each event does to the next send; SQLite and PostgreSQL."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from core.db import session_scope
from core.models import AuditRecord, DomainEvent, EmailEvent, MessageEvent, Suppression
from core.settings import Settings
from journeys.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER
from tests.api.http_fixtures import FEEDBACK, api, event, post_feedback, sent_email


def _count(settings: Settings, model, *where) -> int:
    with session_scope(settings) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_engagement_is_recorded_once_and_feeds_email_events(db_settings):
    with sent_email(db_settings) as sent, api(sent.settings) as client:
        events = [event(sent, "evt_d", "delivered"), event(sent, "evt_o", "open")]
        first = post_feedback(client, events)
        again = post_feedback(client, events)  # the provider redelivers the batch
        single = post_feedback(client, event(sent, "evt_c", "click"))  # one object, no list
        next_send = sent.send_again("j/email/next")
    assert first.status_code == 200, first.text
    assert [r["status"] for r in first.json()["results"]] == ["applied", "applied"]
    assert again.status_code == 200 and again.json()["duplicate"] == 2
    assert single.json()["applied"] == 1
    with session_scope(sent.settings) as session:
        kinds = session.scalars(select(EmailEvent.type).order_by(EmailEvent.id)).all()
        assert kinds == ["delivered", "open", "click"]  # not doubled by the replay
        stored = session.scalars(select(MessageEvent).order_by(MessageEvent.id)).all()
        assert [(m.event_id, m.customer_id) for m in stored] == [
            ("evt_d", "cus_gate_1"),
            ("evt_o", "cus_gate_1"),
            ("evt_c", "cus_gate_1"),
        ]
        assert {m.workspace_id for m in stored} == {sent.world.team.workspace_id}
    assert next_send.status == "executed"  # engagement blocks nothing


def test_a_bad_signature_or_a_stale_timestamp_is_refused_and_changes_nothing(db_settings):
    with sent_email(db_settings) as sent, api(sent.settings) as client:
        complaint = event(sent, "evt_x", "complaint")
        forged = post_feedback(client, complaint, secret="not-the-secret-" + "x" * 20)
        stale = post_feedback(client, complaint, at=int(time.time()) - 3600)
        future = post_feedback(client, complaint, at=int(time.time()) + 3600)
        unsigned = client.post(FEEDBACK, json=complaint)
    for response, header in (
        (forged, SIGNATURE_HEADER),
        (stale, TIMESTAMP_HEADER),
        (future, TIMESTAMP_HEADER),
        (unsigned, TIMESTAMP_HEADER),
    ):
        assert response.status_code == 401, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["field"] == header and response.json()["detail"]
    assert "from the server's clock" in stale.json()["detail"]
    assert _count(sent.settings, MessageEvent) == 0
    assert _count(sent.settings, Suppression) == 0


def test_a_hard_bounce_suppresses_and_a_replay_does_it_once(db_settings):
    with sent_email(db_settings) as sent, api(sent.settings) as client:
        soft = post_feedback(client, event(sent, "evt_s", "bounce", bounce_type="soft"))
        after_soft = sent.send_again("j/email/after-soft")
        hard = event(sent, "evt_b", "bounce", bounce_type="hard")
        first = post_feedback(client, hard)
        replay = post_feedback(client, hard)
    assert soft.json()["results"][0]["detail"] == "recorded"
    assert after_soft.status == "executed"  # a full mailbox is not a dead address
    assert first.json()["results"][0]["detail"] == "suppressed on email (bounce)"
    assert replay.json()["results"][0]["status"] == "duplicate"
    assert _count(sent.settings, Suppression, Suppression.reason == "bounce") == 1
    assert _count(sent.settings, AuditRecord, AuditRecord.action == "feedback.bounce") == 1
    assert _count(sent.settings, EmailEvent, EmailEvent.type == "bounce") == 1  # hard only
    blocked = sent.send_again("j/email/after-hard", days=2)
    assert (blocked.status, blocked.rule) == ("blocked", "suppressed")


def test_a_complaint_suppresses(db_settings):
    with sent_email(db_settings) as sent, api(sent.settings) as client:
        response = post_feedback(client, event(sent, "evt_c", "complaint"))
    assert response.json()["results"][0]["detail"] == "suppressed on email (complaint)"
    blocked = sent.send_again("j/email/after-complaint")
    assert (blocked.status, blocked.rule) == ("blocked", "suppressed")


def test_an_unsubscribe_opts_out_at_once_and_the_next_send_is_blocked(db_settings):
    with sent_email(db_settings) as sent, api(sent.settings) as client:
        response = post_feedback(client, event(sent, "evt_u", "unsubscribe"))
        replay = post_feedback(client, event(sent, "evt_u", "unsubscribe"))
    assert response.status_code == 200
    assert response.json()["results"][0]["detail"] == "opted out of email"
    assert replay.json()["duplicate"] == 1
    blocked = sent.send_again("j/email/after-unsubscribe")
    assert blocked.status == "blocked" and blocked.rule in {"consent", "suppressed"}
    opted = DomainEvent.name == "customer.opted_out"
    assert _count(sent.settings, DomainEvent, opted) == 1  # the journeys hear it once
    assert _count(sent.settings, Suppression, Suppression.reason == "unsubscribe") == 1


def test_an_unsubscribe_for_every_channel_blocks_every_channel(db_settings):
    with sent_email(db_settings) as sent, api(sent.settings) as client:
        response = post_feedback(client, event(sent, "evt_all", "unsubscribe", scope="all"))
    assert response.json()["results"][0]["detail"] == "opted out of all"
    with session_scope(sent.settings) as session:
        suppression = session.scalars(select(Suppression)).one()
        assert (suppression.channel, suppression.reason) == ("all", "unsubscribe")


def test_unknown_messages_are_accepted_and_ignored(db_settings):
    with sent_email(db_settings) as sent, api(sent.settings) as client:
        unknown = {**event(sent, "evt_?", "bounce"), "provider_message_id": "<nope@x>"}
        wrong_channel = {**event(sent, "evt_sms", "bounce"), "channel": "sms"}
        response = post_feedback(client, [unknown, wrong_channel, event(sent, "evt_o", "open")])
    assert response.status_code == 202
    body = response.json()
    assert [r["status"] for r in body["results"]] == ["ignored", "ignored", "applied"]
    assert (body["ignored"], body["applied"]) == (2, 1)
    assert _count(sent.settings, Suppression) == 0


def test_bad_bodies_are_refused_naming_the_field(db_settings):
    with sent_email(db_settings) as sent, api(sent.settings) as client:
        not_json = post_feedback(client, None, raw=b'{"id": "evt_1",')
        bad_type = post_feedback(client, [event(sent, "e1", "open"), event(sent, "e2", "read")])
        no_id = post_feedback(
            client, {k: v for k, v in event(sent, "e", "open").items() if k != "id"}
        )
    assert not_json.status_code == 400 and not_json.json()["field"] == "body"
    assert bad_type.status_code == 422 and bad_type.json()["field"] == "[1].type"
    assert no_id.status_code == 422 and no_id.json()["field"] == "id"
    assert _count(sent.settings, MessageEvent) == 0  # a bad batch applies nothing


def test_an_oversized_body_is_refused_before_it_is_read_as_json(settings):
    with api(settings) as client:
        response = post_feedback(client, None, raw=b" " * (2 * 1024 * 1024 + 1))
    assert response.status_code == 413 and response.json()["field"] == "body"


def test_without_a_secret_the_webhook_asks_to_be_retried_later(settings):
    with api(settings) as client:
        response = post_feedback(client, {"id": "e"})
    assert response.status_code == 503
    assert response.json()["field"] == "MCOPILOT_WEBHOOK_SECRET"


def test_two_providers_may_number_their_events_alike(db_settings):
    """Event ids are the provider's: the email provider's `evt_1` and the SMS provider's
    `evt_1` are two events; the same channel and id again is a replay."""
    from datetime import UTC, datetime

    from core.models import Execution
    from journeys.feedback import FeedbackEvent
    from journeys.feedback_store import _claim

    with sent_email(db_settings) as sent, api(sent.settings) as client:
        first = post_feedback(client, event(sent, "evt_1", "open"))
        with session_scope(sent.settings) as session:
            execution = session.scalars(select(Execution)).first()
            sms = FeedbackEvent(
                id="evt_1",
                type="delivered",
                provider_message_id="sms-1",
                occurred_at=datetime(2026, 11, 26, tzinfo=UTC),
                channel="sms",
            )
            taken = _claim(session, sms, execution, datetime.now(UTC))
            again = _claim(session, sms, execution, datetime.now(UTC))
    assert first.json()["applied"] == 1
    assert (taken, again) == (True, False)
    assert _count(sent.settings, MessageEvent) == 2


def test_an_oversized_body_without_a_length_is_cut_off_while_it_streams():
    """Read through Starlette's request stream: reading stops at the first chunk past the
    limit, so a chunked upload of any size never sits in memory whole."""
    import asyncio

    from starlette.requests import Request

    from api.http.routes.feedback import MAX_BODY_BYTES, PayloadTooLarge, _body_within

    chunk = b" " * (64 * 1024)
    received = []

    async def receive():
        received.append(1)
        return {"type": "http.request", "body": chunk, "more_body": len(received) < 400}

    request = Request({"type": "http", "method": "POST", "headers": []}, receive)
    with pytest.raises(PayloadTooLarge):
        asyncio.run(_body_within(request, MAX_BODY_BYTES))
    assert len(received) == MAX_BODY_BYTES // len(chunk) + 1  # 25 MB offered, 2 MB read


def test_odd_signature_and_timestamp_headers_are_refused_not_crashed_on(db_settings):
    with sent_email(db_settings) as sent, api(sent.settings) as client:
        body = b"[]"
        now = str(int(time.time()))
        odd = [
            {TIMESTAMP_HEADER: now, SIGNATURE_HEADER: "v1=\u00e9\u00e9"},  # not ASCII
            {TIMESTAMP_HEADER: "9" * 400, SIGNATURE_HEADER: "v1=00"},  # overflows a float
            {TIMESTAMP_HEADER: "\u0661\u0662", SIGNATURE_HEADER: "v1=00"},  # Arabic digits
            {TIMESTAMP_HEADER: now, SIGNATURE_HEADER: ",".join(["v1=00"] * 1000)},
        ]
        responses = [
            client.post(
                FEEDBACK,
                content=body,
                headers={k: v.encode("utf-8") for k, v in headers.items()},
            )
            for headers in odd
        ]
    assert [r.status_code for r in responses] == [401, 401, 401, 401], [r.text for r in responses]
    assert [r.json()["field"] for r in responses] == [
        SIGNATURE_HEADER,
        TIMESTAMP_HEADER,
        TIMESTAMP_HEADER,
        SIGNATURE_HEADER,
    ]
