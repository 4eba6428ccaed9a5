"""The email channel against a real SMTP server on loopback: the template filled with the
customer's fields, one-click unsubscribe headers (RFC 8058) with a token that verifies, and the
personal data kept out of the audit log; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from email import message_from_bytes, policy

from sqlalchemy import select

from core.db import session_scope
from core.models import AuditRecord, Execution
from core.settings import Settings
from guardrails.delivery import Delivery
from journeys.channels.email import build_message
from journeys.dispatch import dispatch
from journeys.unsubscribe import read_token, unsubscribe_key
from tests.fixtures.smtp import smtp_server
from tests.guardrails.gate_fixtures import CUSTOMER, EMAIL, NOW, make_world
from tests.journeys.channel_fixtures import TEMPLATES, approved, reach_everywhere, request_for


def _with_smtp(settings: Settings, port: int, **more) -> Settings:
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "public_base_url": "https://mail.example.com",
            **more,
        }
    )


def test_a_templated_email_goes_out_personalized_with_one_click_unsubscribe(db_settings):
    world = make_world(db_settings)
    reach_everywhere(db_settings, world.team.workspace_id)
    item_id = approved(world, "email")
    with smtp_server() as (inbox, port):
        settings = _with_smtp(db_settings, port)
        with session_scope(settings) as session:
            result = dispatch(
                session,
                request_for(world, "email", item_id, "j/email/1"),
                settings=settings,
                now=NOW,
            )
    assert result.status == "executed", result
    (message,) = inbox.messages
    assert message["To"] == EMAIL and message["Subject"] == "Ada, spring is here"
    unsubscribe = message["List-Unsubscribe"]
    assert unsubscribe.startswith("<https://mail.example.com/v1/unsubscribe/")
    assert "mailto:" not in unsubscribe  # no mailbox set up to process one
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = unsubscribe.strip("<>")
    token = read_token(unsubscribe_key(settings), url.rsplit("/", 1)[1])
    assert (token.workspace_id, token.customer_id, token.channel) == (
        world.team.workspace_id,
        CUSTOMER,
        "email",
    )
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Hello Ada, our spring range is in." in text and url in text
    assert "<p>Hello Ada</p>" in html and url in html
    with session_scope(settings) as session:
        assert session.scalars(select(Execution.provider_message_id)).one() == message["Message-ID"]
        records = session.scalars(
            select(AuditRecord).where(AuditRecord.workspace_id == world.team.workspace_id)
        ).all()
        assert "Ada" not in json.dumps([[r.inputs, r.result] for r in records])


def test_a_variable_the_customer_lacks_fails_and_frees_the_key(db_settings):
    world = make_world(db_settings)  # no first_name trait
    item_id = approved(world, "email")
    with smtp_server() as (inbox, port):
        settings = _with_smtp(db_settings, port)
        with session_scope(settings) as session:
            failed = dispatch(
                session,
                request_for(world, "email", item_id, "j/email/2"),
                settings=settings,
                now=NOW,
            )
        with session_scope(settings) as session:
            fixed = dispatch(
                session,
                request_for(world, "email", item_id, "j/email/2", variables={"first_name": "A."}),
                settings=settings,
                now=NOW,
            )
    assert (failed.status, failed.rule) == ("failed", "channel")
    assert "'first_name'" in failed.detail
    assert fixed.status == "executed"  # the same key: the failure did not hold it
    assert [m["Subject"] for m in inbox.messages] == ["A., spring is here"]


def test_a_configured_mailbox_is_offered_after_the_link():
    delivery = Delivery(
        workspace_id="ws_1",
        customer_id="cus_1",
        channel="email",
        recipient=EMAIL,
        content=TEMPLATES["email"],
        idempotency_key="k1",
        variables={"first_name": "Ada"},
    )
    built = build_message(
        delivery,
        "news@shop.example",
        unsubscribe="https://m.example/v1/unsubscribe/T",
        mailto="unsubscribe@shop.example",
    )
    message = message_from_bytes(built.data, policy=policy.default)
    assert message["List-Unsubscribe"] == (
        "<https://m.example/v1/unsubscribe/T>, "
        "<mailto:unsubscribe@shop.example?subject=unsubscribe>"
    )


def test_a_long_unsubscribe_link_stays_one_readable_header_line():
    delivery = Delivery(
        workspace_id="ws_1",
        customer_id="cus_1",
        channel="email",
        recipient="ada@example.com",
        content={"channel": "email", "subject": "Hi", "body": "News"},
        idempotency_key="j/email/long",
    )
    link = "https://mail.example.com/v1/unsubscribe/" + "t" * 150
    raw = build_message(delivery, "news@example.com", unsubscribe=link).data
    assert f"List-Unsubscribe: <{link}>".encode() in raw  # not folded into encoded words
    assert b"=?utf-8?" not in raw
