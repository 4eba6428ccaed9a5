"""The email adapter keeps one SMTP connection open across messages, resets it after a failed
transaction, and reconnects when the server has dropped it; against aiosmtpd on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.settings import Settings
from guardrails.delivery import Delivery, DeliveryFailed
from journeys.dispatch import AdapterPool
from tests.conftest import free_port
from tests.fixtures.smtp import CountingInbox, smtp_server

CONTENT = {"channel": "email", "subject": "Hello {{ first_name }}", "body": "News for you."}


def delivery(n: int, recipient: str | None = None) -> Delivery:
    return Delivery(
        workspace_id="ws_conn",
        customer_id=f"cus_{n}",
        channel="email",
        recipient=recipient or f"c{n}@example.com",
        content=CONTENT,
        idempotency_key=f"conn/{n}",
        variables={"first_name": f"N{n}"},
    )


@pytest.fixture
def smtp(tmp_path) -> Iterator[tuple[CountingInbox, int, AdapterPool]]:
    inbox, port = CountingInbox(), free_port()
    settings = Settings(
        data_dir=tmp_path / "data", smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False
    )
    pool = AdapterPool(settings)
    with smtp_server(inbox, port):
        yield inbox, port, pool
    pool.close()


def test_many_messages_go_over_one_connection(smtp):
    inbox, _, pool = smtp
    receipts = [pool["email"].deliver(delivery(n)) for n in range(5)]
    assert [str(m["To"]) for m in inbox.messages] == [f"c{n}@example.com" for n in range(5)]
    assert [str(m["Message-ID"]) for m in inbox.messages] == [
        r.provider_message_id for r in receipts
    ]
    assert inbox.connections == 1


def test_a_refused_recipient_or_message_resets_the_session_and_keeps_the_connection(smtp):
    inbox, _, pool = smtp
    with pytest.raises(DeliveryFailed) as refused:
        pool["email"].deliver(delivery(1, "nobody@example.com"))
    assert not refused.value.retryable
    inbox.refuse_data = True
    with pytest.raises(DeliveryFailed, match="SMTPDataError"):
        pool["email"].deliver(delivery(2))
    inbox.refuse_data = False
    pool["email"].deliver(delivery(3))
    assert [str(m["To"]) for m in inbox.messages] == ["c3@example.com"]
    assert inbox.connections == 1


def test_a_server_that_is_gone_fails_retryable_and_the_next_message_reconnects(tmp_path):
    inbox, port = CountingInbox(), free_port()
    settings = Settings(
        data_dir=tmp_path / "data", smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False
    )
    pool = AdapterPool(settings)
    try:
        with smtp_server(inbox, port):
            pool["email"].deliver(delivery(1))
        with pytest.raises(DeliveryFailed) as down:  # the server went away with the connection
            pool["email"].deliver(delivery(2))
        assert down.value.retryable
        restarted = CountingInbox()
        with smtp_server(restarted, port):  # back on the same port: a new connection, no repeat
            pool["email"].deliver(delivery(3))
            pool["email"].deliver(delivery(4))
        assert [str(m["To"]) for m in restarted.messages] == ["c3@example.com", "c4@example.com"]
        assert restarted.connections == 1
    finally:
        pool.close()


def test_a_dropped_connection_is_replaced_once_and_the_message_delivered(tmp_path):
    inbox, port = CountingInbox(), free_port()
    settings = Settings(
        data_dir=tmp_path / "data", smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False
    )
    pool = AdapterPool(settings)
    try:
        with smtp_server(inbox, port):
            pool["email"].deliver(delivery(1))
        restarted = CountingInbox()
        with smtp_server(restarted, port):  # restarted while our connection was open
            pool["email"].deliver(delivery(2))
        assert [str(m["To"]) for m in inbox.messages] == ["c1@example.com"]
        assert [str(m["To"]) for m in restarted.messages] == ["c2@example.com"]
        assert restarted.connections == 1
    finally:
        pool.close()
