"""SMS, push and in-app: one approved message POSTed as signed JSON to the channel's provider.

The body is fixed before the first attempt and sent byte for byte on every retry, with the same
`Idempotency-Key`, so a provider that got an attempt whose answer was lost can drop the repeat.
Each attempt is signed afresh (`journeys.signing`: timestamp and HMAC-SHA256 of the body).
Retried: 5xx answers, connection errors and timeouts, with exponential backoff and full jitter,
at most `webhook_max_attempts` times. Not retried: any other answer (4xx at once; a 429 or 408
fails retryable, so a later attempt may try again, the rest not).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import Any

import httpx

from core.clock import utcnow
from core.ids import stable_id
from core.settings import Settings
from guardrails.delivery import Delivery, DeliveryFailed, Receipt
from journeys.signing import IDEMPOTENCY_HEADER, signed_headers, webhook_key
from journeys.templates import render_content
from journeys.unsubscribe import unsubscribe_url

WEBHOOK_CHANNELS = ("sms", "push", "in_app")
URL_SETTINGS = {
    "sms": "MCOPILOT_SMS_WEBHOOK_URL",
    "push": "MCOPILOT_PUSH_WEBHOOK_URL",
    "in_app": "MCOPILOT_IN_APP_WEBHOOK_URL",
}
LATER = {408, 429}  # the provider asks to be tried again later, not now


def backoff_delay(attempt: int, *, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Seconds to wait after failed attempt `attempt` (1, 2...): full jitter, uniform in
    [0, min(cap, base * 2^(attempt - 1))]."""
    return rng.uniform(0.0, min(cap_s, base_s * 2 ** (attempt - 1)))


def webhook_url(settings: Settings, channel: str) -> str | None:
    return {
        "sms": settings.sms_webhook_url,
        "push": settings.push_webhook_url,
        "in_app": settings.in_app_webhook_url,
    }.get(channel)


def request_body(
    delivery: Delivery, content: dict[str, Any], message_id: str, sent_at: str
) -> bytes:
    """The JSON the provider receives (canonical, so the same message is the same bytes)."""
    body = {
        "workspace_id": delivery.workspace_id,
        "customer_id": delivery.customer_id,
        "channel": delivery.channel,
        "recipient": delivery.recipient,
        "content": content,
        "idempotency_key": delivery.idempotency_key,
        "message_id": message_id,
        "sent_at": sent_at,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def provider_id(response: httpx.Response, fallback: str) -> str:
    """The provider's id of the message from its JSON answer (`id` or `message_id`), else ours."""
    try:
        answer = response.json()
    except ValueError:
        return fallback
    if isinstance(answer, dict):
        for name in ("id", "message_id"):
            value = answer.get(name)
            if isinstance(value, str | int) and str(value).strip():
                return str(value)[:200]
    return fallback


class WebhookAdapter:
    """Delivers on one of sms, push or in_app over one HTTP client kept open between messages
    (keep-alive: a worker's adapter reuses its connections); raises DeliveryFailed, never a raw
    error. `close()` closes the client."""

    def __init__(
        self,
        channel: str,
        settings: Settings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if channel not in WEBHOOK_CHANNELS:
            raise DeliveryFailed(f"{channel} is not a webhook channel", retryable=False)
        url = webhook_url(settings, channel)
        if not url:
            raise DeliveryFailed(
                f"{channel} is not set up ({URL_SETTINGS[channel]})", retryable=False
            )
        self.channel = channel
        self._url = url
        self._settings = settings
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._clock = clock
        self._client: httpx.Client | None = None

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                timeout=self._settings.webhook_timeout_s, follow_redirects=False
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def deliver(self, delivery: Delivery) -> Receipt:
        s = self._settings
        link = unsubscribe_url(s, delivery.workspace_id, delivery.customer_id, self.channel)
        content = render_content(delivery.content, {**delivery.variables, "unsubscribe_url": link})
        ours = stable_id("msg", delivery.workspace_id, delivery.idempotency_key)
        body = request_body(delivery, content, ours, utcnow().isoformat())
        key = webhook_key(s)
        problem = ""
        client = self._http()
        for attempt in range(1, s.webhook_max_attempts + 1):
            if attempt > 1:
                self._sleep(
                    backoff_delay(
                        attempt - 1,
                        base_s=s.webhook_backoff_base_s,
                        cap_s=s.webhook_backoff_max_s,
                        rng=self._rng,
                    )
                )
            headers = {
                "Content-Type": "application/json",
                IDEMPOTENCY_HEADER: delivery.idempotency_key,
                **signed_headers(key, body, int(self._clock())),
            }
            try:
                response = client.post(self._url, content=body, headers=headers)
            except httpx.TimeoutException:
                problem = "timed out"
                continue
            except httpx.TransportError as exc:
                problem = f"could not be reached ({exc.__class__.__name__})"
                continue
            status = response.status_code
            if 200 <= status < 300:
                return Receipt(
                    provider_id(response, ours),
                    f"accepted by the {self.channel} provider (HTTP {status}, attempt {attempt})",
                )
            if status >= 500:
                problem = f"answered HTTP {status}"
                continue
            raise DeliveryFailed(
                f"the {self.channel} provider refused the message (HTTP {status})",
                retryable=status in LATER,
            )
        raise DeliveryFailed(
            f"the {self.channel} provider {problem} on each of {s.webhook_max_attempts} attempts"
        )
