"""HMAC-SHA256 signatures on provider webhooks, both ways: what we send, and what we accept.

A signature covers the timestamp and the exact body bytes: the header is
`v1=<hex hmac_sha256(secret, f"{timestamp}.{body}")>` (several, comma-separated, while a secret
rotates), next to a Unix-seconds timestamp header. Verifying refuses a timestamp further than
the tolerance from now, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac

from core.errors import ConfigurationError, Unauthorized
from core.settings import Settings

TIMESTAMP_HEADER = "X-Mcopilot-Timestamp"
SIGNATURE_HEADER = "X-Mcopilot-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SCHEME = "v1"
MAX_TIMESTAMP_DIGITS = 12  # Unix seconds until the year 33658
MAX_SIGNATURES = 4  # offered at once while a secret rotates


def mac(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 of the message under the key."""
    return hmac.new(key, message, hashlib.sha256).digest()


def signature(key: bytes, timestamp: int, body: bytes) -> str:
    """The signature header's value for this timestamp and body."""
    return f"{SCHEME}={mac(key, str(timestamp).encode('ascii') + b'.' + body).hex()}"


def signed_headers(key: bytes, body: bytes, timestamp: int) -> dict[str, str]:
    """The timestamp and signature headers of a request carrying `body`."""
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(key, timestamp, body)}


def verify(
    key: bytes,
    *,
    timestamp: str | None,
    signature_header: str | None,
    body: bytes,
    now: float,
    tolerance_s: int,
) -> int:
    """The request's timestamp once its signature verifies; Unauthorized naming the header
    and the problem otherwise."""
    if not timestamp:
        raise Unauthorized(
            "missing", field=TIMESTAMP_HEADER, fix="send the Unix time the request was signed at"
        )
    text = timestamp.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= MAX_TIMESTAMP_DIGITS):
        raise Unauthorized("is not a Unix time in whole seconds", field=TIMESTAMP_HEADER)
    at = int(text)
    if abs(now - at) > tolerance_s:
        raise Unauthorized(
            f"is {abs(int(now) - at)} s from the server's clock; at most {tolerance_s} s is "
            "accepted (stale or replayed request)",
            field=TIMESTAMP_HEADER,
            fix="sign each request when it is sent, with a synchronized clock",
        )
    if not signature_header:
        raise Unauthorized(
            "missing", field=SIGNATURE_HEADER, fix=f"send {SCHEME}=<hex HMAC-SHA256>"
        )
    expected = signature(key, at, body).encode("ascii")
    # compared as bytes: compare_digest refuses a str with non-ASCII characters (a 500)
    offered = [part.strip().encode("utf-8", "replace") for part in signature_header.split(",")]
    if not any(hmac.compare_digest(expected, part) for part in offered[:MAX_SIGNATURES]):
        raise Unauthorized(
            "does not match the body and timestamp",
            field=SIGNATURE_HEADER,
            fix="sign '<timestamp>.<raw body>' with HMAC-SHA256 and the shared secret",
        )
    return at


def webhook_key(settings: Settings) -> bytes:
    """The shared webhook secret's bytes; ConfigurationError when it is not set."""
    if settings.webhook_secret is None:
        raise ConfigurationError(
            "provider webhooks are not set up",
            field="MCOPILOT_WEBHOOK_SECRET",
            fix="set the secret shared with the SMS, push and in-app providers",
        )
    return settings.webhook_secret.get_secret_value().encode("utf-8")
