"""SMS, push and in-app over signed webhooks, against a real HTTP server on loopback: the
signature, one idempotency key and one body across retries, retries only where they help."""

from __future__ import annotations

import json
import random

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from core.db import session_scope
from core.errors import ConfigurationError
from core.models import AuditRecord, Execution
from core.settings import Settings
from guardrails.delivery import Delivery, DeliveryFailed
from journeys.channels.webhook import WebhookAdapter, backoff_delay
from journeys.dispatch import adapter_for, dispatch
from journeys.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from tests.fixtures.http import Provider, provider_server
from tests.guardrails.gate_fixtures import CUSTOMER, NOW, make_world
from tests.journeys.channel_fixtures import (
    DEVICE,
    PHONE,
    approved,
    reach_everywhere,
    request_for,
)

SECRET = "w" * 40
DELIVERY = Delivery(
    workspace_id="ws_1",
    customer_id="cus_1",
    channel="sms",
    recipient=PHONE,
    content={"channel": "sms", "body": "Hi {{ first_name }}"},
    idempotency_key="journey-1/step-2/cus_1",
    variables={"first_name": "Ada"},
)


def _settings(tmp_path, url: str, **overrides) -> Settings:
    values = {
        "data_dir": tmp_path / "data",
        "sms_webhook_url": url,
        "push_webhook_url": url,
        "in_app_webhook_url": url,
        "webhook_secret": SECRET,
        "webhook_timeout_s": 0.5,
        "webhook_max_attempts": 3,
        **overrides,
    }
    return Settings(**values)


def _adapter(settings: Settings, delays: list[float], channel: str = "sms") -> WebhookAdapter:
    return WebhookAdapter(channel, settings, sleep=delays.append, rng=random.Random(7))


def _verified(provider: Provider, settings: Settings) -> None:
    for request in provider.received:
        at = int(request.headers[TIMESTAMP_HEADER])
        verify(
            SECRET.encode(),
            timestamp=request.headers[TIMESTAMP_HEADER],
            signature_header=request.headers[SIGNATURE_HEADER],
            body=request.body,
            now=at,
            tolerance_s=settings.webhook_tolerance_s,
        )


def test_a_send_is_signed_rendered_and_carries_the_idempotency_key(tmp_path):
    with provider_server() as provider:
        settings = _settings(tmp_path, provider.url)
        receipt = _adapter(settings, []).deliver(DELIVERY)
    assert receipt.provider_message_id == "prov-1"  # the provider's own id
    (request,) = provider.received
    _verified(provider, settings)
    assert request.headers[IDEMPOTENCY_HEADER] == DELIVERY.idempotency_key
    assert request.headers["Content-Type"] == "application/json"
    body = request.json()
    assert body["content"] == {"channel": "sms", "body": "Hi Ada"}
    assert (body["recipient"], body["channel"], body["customer_id"]) == (PHONE, "sms", "cus_1")
    assert body["idempotency_key"] == DELIVERY.idempotency_key and body["sent_at"]
    assert body["workspace_id"] == "ws_1" and body["message_id"].startswith("msg_")


def test_5xx_and_timeouts_are_retried_with_the_same_key_and_body(tmp_path):
    with provider_server([500, "hang", 200]) as provider:
        settings = _settings(tmp_path, provider.url)
        delays: list[float] = []
        receipt = _adapter(settings, delays).deliver(DELIVERY)
    assert len(provider.received) == 3 and receipt.provider_message_id == "prov-3"
    assert {r.headers[IDEMPOTENCY_HEADER] for r in provider.received} == {DELIVERY.idempotency_key}
    assert len({r.body for r in provider.received}) == 1  # byte for byte the same
    _verified(provider, settings)  # each attempt signed
    assert len(delays) == 2  # a backoff before each retry, none before the first attempt
    assert 0 <= delays[0] <= 0.5 and 0 <= delays[1] <= 1.0  # full jitter under base * 2^n


def test_a_4xx_fails_at_once_without_a_retry(tmp_path):
    with provider_server([400]) as provider:
        delays: list[float] = []
        with pytest.raises(DeliveryFailed) as caught:
            _adapter(_settings(tmp_path, provider.url), delays).deliver(DELIVERY)
    assert caught.value.retryable is False and "HTTP 400" in str(caught.value)
    assert len(provider.received) == 1 and delays == []


def test_a_429_is_not_retried_now_but_may_be_later(tmp_path):
    with provider_server([429]) as provider, pytest.raises(DeliveryFailed) as caught:
        _adapter(_settings(tmp_path, provider.url), []).deliver(DELIVERY)
    assert caught.value.retryable is True and len(provider.received) == 1


def test_retries_are_bounded_and_the_failure_stays_retryable(tmp_path):
    with provider_server([503, 502, 500, 200]) as provider:
        delays: list[float] = []
        with pytest.raises(DeliveryFailed) as caught:
            _adapter(_settings(tmp_path, provider.url), delays).deliver(DELIVERY)
    assert len(provider.received) == 3  # webhook_max_attempts
    assert caught.value.retryable is True and "3 attempts" in str(caught.value)
    assert len(delays) == 2


def test_an_unreachable_provider_is_retried_then_fails(tmp_path):
    from tests.conftest import free_port

    settings = _settings(tmp_path, f"http://127.0.0.1:{free_port()}/send")
    delays: list[float] = []
    with pytest.raises(DeliveryFailed) as caught:
        _adapter(settings, delays).deliver(DELIVERY)
    assert "could not be reached" in str(caught.value) and len(delays) == 2


def test_backoff_is_full_jitter_under_an_exponential_cap():
    rng = random.Random(1)
    for attempt in range(1, 8):
        ceiling = min(4.0, 0.5 * 2 ** (attempt - 1))
        delays = [backoff_delay(attempt, base_s=0.5, cap_s=4.0, rng=rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling / 2  # spread over the range, not fixed


def test_a_missing_variable_fails_before_anything_is_sent(tmp_path):
    with provider_server() as provider, pytest.raises(DeliveryFailed) as caught:
        _adapter(_settings(tmp_path, provider.url), []).deliver(
            Delivery(**{**_fields(DELIVERY), "variables": {}})
        )
    assert caught.value.retryable is False and "first_name" in str(caught.value)
    assert provider.received == []


def _fields(delivery: Delivery) -> dict:
    return {name: getattr(delivery, name) for name in Delivery.__slots__}


def test_a_channel_without_an_endpoint_is_a_configuration_error(settings):
    with pytest.raises(ConfigurationError) as caught:
        adapter_for("push", settings)
    assert caught.value.field == "MCOPILOT_PUSH_WEBHOOK_URL"


@pytest.mark.parametrize(
    ("channel", "recipient"), [("sms", PHONE), ("push", DEVICE), ("in_app", CUSTOMER)]
)
def test_dispatch_addresses_personalizes_and_records_each_webhook_channel(
    db_settings, tmp_path, channel, recipient
):
    world = make_world(db_settings)
    reach_everywhere(db_settings, world.team.workspace_id)
    item_id = approved(world, channel)
    with provider_server() as provider:
        settings = db_settings.model_copy(
            update={
                f"{channel}_webhook_url": provider.url,
                "webhook_secret": SecretStr(SECRET),  # model_copy does not validate
                "webhook_max_attempts": 2,
            }
        )
        request = request_for(world, channel, item_id, f"j/{channel}/{CUSTOMER}", trigger_id=None)
        with session_scope(settings) as session:
            result = dispatch(session, request, settings=settings, now=NOW)
    assert result.status == "executed", result
    (sent,) = provider.received
    body = sent.json()
    assert body["recipient"] == recipient and "Ada" in json.dumps(body["content"])
    with session_scope(settings) as session:
        execution = session.scalars(select(Execution)).one()
        assert execution.provider_message_id == "prov-1" == result.provider_message_id
        audit = session.scalars(select(AuditRecord).where(AuditRecord.decision == "executed")).one()
        assert "Ada" not in json.dumps(audit.inputs) + json.dumps(audit.result)
