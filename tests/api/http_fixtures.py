"""HTTP API test data: one approved email sent through the gate to a real SMTP server, and our
app served by uvicorn on loopback, set up to take signed provider webhooks."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import httpx
from pydantic import SecretStr

from api.http.app import create_app
from core.db import session_scope
from core.settings import Settings
from guardrails.gate import GateResult
from journeys.dispatch import dispatch
from journeys.signing import signed_headers
from tests.fixtures.http import serve_app
from tests.fixtures.smtp import smtp_server
from tests.guardrails.gate_fixtures import NOW, GateWorld, make_world
from tests.journeys.channel_fixtures import approved, reach_everywhere, request_for

SECRET = "feedback-secret-" + "f" * 24
FEEDBACK = "/v1/webhooks/feedback"


@dataclass
class Sent:
    """A world whose customer got one email; how to send them another through the gate."""

    world: GateWorld
    settings: Settings
    item_id: str
    message: EmailMessage
    smtp_port: int

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def unsubscribe_url(self) -> str:
        return str(self.message["List-Unsubscribe"]).split(",")[0].strip("<> ")

    def send_again(self, key: str, days: int = 1) -> GateResult:
        with session_scope(self.settings) as session:
            return dispatch(
                session,
                request_for(self.world, "email", self.item_id, key, trigger_id=None),
                settings=self.settings,
                now=NOW + timedelta(days=days),
            )


@contextmanager
def sent_email(db_settings: Settings) -> Iterator[Sent]:
    """Send one email through the gate with the SMTP server up for the whole block."""
    world = make_world(db_settings)
    reach_everywhere(db_settings, world.team.workspace_id)
    item_id = approved(world, "email")
    with smtp_server() as (inbox, port):
        settings = db_settings.model_copy(
            update={
                "smtp_host": "127.0.0.1",
                "smtp_port": port,
                "webhook_secret": SecretStr(SECRET),  # model_copy does not validate
            }
        )
        sent = Sent(world, settings, item_id, EmailMessage(), port)
        result = sent.send_again("j/email/first", days=0)
        assert result.status == "executed", result
        sent.message = inbox.messages[0]
        yield sent


@contextmanager
def api(settings: Settings) -> Iterator[httpx.Client]:
    """Our app under uvicorn on loopback, and a client for it."""
    with serve_app(create_app(settings)) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield client


def post_feedback(
    client: httpx.Client,
    payload: Any,
    *,
    at: int | None = None,
    secret: str = SECRET,
    raw: bytes | None = None,
) -> httpx.Response:
    """POST a provider webhook, signed as a provider would sign it."""
    body = raw if raw is not None else json.dumps(payload).encode()
    stamp = at if at is not None else int(time.time())
    headers = {"Content-Type": "application/json", **signed_headers(secret.encode(), body, stamp)}
    return client.post(FEEDBACK, content=body, headers=headers)


def event(sent: Sent, event_id: str, kind: str, **more: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": kind,
        "provider_message_id": sent.message_id,
        "occurred_at": (NOW + timedelta(hours=1)).isoformat(),
        "channel": "email",
        **more,
    }
