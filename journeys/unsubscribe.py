"""Unsubscribe links: a signed, URL-safe token naming the workspace, the customer and the
channel, so the link works without a login and cannot be forged for another customer.

The token is `base64url(workspace \\x1f customer \\x1f channel) . base64url(HMAC-SHA256[:16])`
under the unsubscribe key (MCOPILOT_UNSUBSCRIBE_SECRET, or in dev a key generated once in
data_dir). It does not expire: an unsubscribe link must keep working for as long as the
email can be read.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass

from core.errors import Unauthorized
from core.key_files import file_key
from core.models import ALL_CHANNELS, CHANNELS
from core.settings import Settings
from journeys.signing import mac

PATH = "/v1/unsubscribe/"
_SEPARATOR = "\x1f"
_DOMAIN = b"mcopilot-unsubscribe\x1f"
_MAC_BYTES = 16


@dataclass(frozen=True, slots=True)
class UnsubscribeToken:
    workspace_id: str
    customer_id: str
    channel: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _tag(key: bytes, payload: bytes) -> bytes:
    return mac(key, _DOMAIN + payload)[:_MAC_BYTES]


def make_token(key: bytes, workspace_id: str, customer_id: str, channel: str) -> str:
    """The token for this customer's opt-out of `channel` (or `all`)."""
    parts = (workspace_id, customer_id, channel)
    if any(_SEPARATOR in part or not part for part in parts):
        raise ValueError("workspace, customer and channel must be non-empty, without \\x1f")
    payload = _SEPARATOR.join(parts).encode("utf-8")
    return f"{_b64(payload)}.{_b64(_tag(key, payload))}"


def _invalid() -> Unauthorized:
    return Unauthorized(
        "is not a valid unsubscribe link",
        field="token",
        fix="use the link exactly as it came in the message",
    )


def read_token(key: bytes, token: str) -> UnsubscribeToken:
    """What a token names, once its signature verifies; Unauthorized otherwise."""
    payload_text, dot, tag_text = token.partition(".")
    if not dot or not payload_text or not tag_text:
        raise _invalid()
    try:
        payload, tag = _unb64(payload_text), _unb64(tag_text)
    except (binascii.Error, ValueError):
        raise _invalid() from None
    if not hmac.compare_digest(tag, _tag(key, payload)):
        raise _invalid()
    try:
        workspace_id, customer_id, channel = payload.decode("utf-8").split(_SEPARATOR)
    except (UnicodeDecodeError, ValueError):
        raise _invalid() from None
    if channel not in (*CHANNELS, ALL_CHANNELS):
        raise _invalid()
    return UnsubscribeToken(workspace_id, customer_id, channel)


def unsubscribe_key(settings: Settings) -> bytes:
    """MCOPILOT_UNSUBSCRIBE_SECRET, or dev's generated key file."""
    if settings.unsubscribe_secret is not None:
        return settings.unsubscribe_secret.get_secret_value().encode("utf-8")
    return file_key(
        settings.unsubscribe_key_file,
        what="unsubscribe key",
        setting="MCOPILOT_UNSUBSCRIBE_SECRET",
    )


def unsubscribe_url(settings: Settings, workspace_id: str, customer_id: str, channel: str) -> str:
    """The one-click unsubscribe link for the customer and channel, on the public base URL."""
    token = make_token(unsubscribe_key(settings), workspace_id, customer_id, channel)
    return f"{settings.public_base_url}{PATH}{token}"
