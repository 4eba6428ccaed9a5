"""Webhook signatures and unsubscribe tokens: what verifies, and each way one does not."""

from __future__ import annotations

import pytest

from core.errors import ConfigurationError, Unauthorized
from core.settings import Settings
from journeys.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature,
    signed_headers,
    verify,
    webhook_key,
)
from journeys.unsubscribe import make_token, read_token, unsubscribe_key, unsubscribe_url

KEY = b"k" * 32
BODY = b'{"id":"evt_1"}'
AT = 1_800_000_000


def _verify(timestamp, sig, body=BODY, now=AT, tolerance=300):
    return verify(
        KEY, timestamp=timestamp, signature_header=sig, body=body, now=now, tolerance_s=tolerance
    )


def test_a_signed_request_verifies_and_matches_the_documented_formula():
    import hashlib
    import hmac

    headers = signed_headers(KEY, BODY, AT)
    expected = hmac.new(KEY, f"{AT}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert headers == {TIMESTAMP_HEADER: str(AT), SIGNATURE_HEADER: f"v1={expected}"}
    assert _verify(headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER]) == AT
    rotated = f"v1={'0' * 64}, {headers[SIGNATURE_HEADER]}"  # old and new secret, one matches
    assert _verify(str(AT), rotated) == AT


@pytest.mark.parametrize(
    ("timestamp", "sig", "body", "field", "words"),
    [
        (None, signature(KEY, AT, BODY), BODY, TIMESTAMP_HEADER, "missing"),
        ("yesterday", signature(KEY, AT, BODY), BODY, TIMESTAMP_HEADER, "Unix time"),
        (str(AT - 301), signature(KEY, AT - 301, BODY), BODY, TIMESTAMP_HEADER, "301 s"),
        (str(AT + 400), signature(KEY, AT + 400, BODY), BODY, TIMESTAMP_HEADER, "400 s"),
        (str(AT), None, BODY, SIGNATURE_HEADER, "missing"),
        (str(AT), signature(KEY, AT, BODY), b'{"id":"evt_2"}', SIGNATURE_HEADER, "not match"),
        (str(AT), signature(b"x" * 32, AT, BODY), BODY, SIGNATURE_HEADER, "not match"),
        (str(AT), signature(KEY, AT - 1, BODY), BODY, SIGNATURE_HEADER, "not match"),
    ],
)
def test_each_bad_request_is_refused_naming_the_header(timestamp, sig, body, field, words):
    with pytest.raises(Unauthorized) as caught:
        _verify(timestamp, sig, body)
    assert caught.value.field == field and words in caught.value.message
    assert caught.value.status_code == 401


def test_no_secret_means_webhooks_are_not_set_up(settings):
    with pytest.raises(ConfigurationError) as caught:
        webhook_key(settings)
    assert caught.value.field == "MCOPILOT_WEBHOOK_SECRET"


def test_an_unsubscribe_token_round_trips_and_resists_tampering():
    token = make_token(KEY, "ws_1", "cus_1", "email")
    assert "/" not in token and "+" not in token and "=" not in token  # URL-safe
    found = read_token(KEY, token)
    assert (found.workspace_id, found.customer_id, found.channel) == ("ws_1", "cus_1", "email")
    other = make_token(KEY, "ws_1", "cus_2", "email")
    forged = other.split(".")[0] + "." + token.split(".")[1]  # cus_2 with cus_1's tag
    for bad in (
        forged,
        token[:-2],
        "nodot",
        "",
        token + "x",
        make_token(b"y" * 32, "ws_1", "cus_1", "email"),
    ):
        with pytest.raises(Unauthorized) as caught:
            read_token(KEY, bad)
        assert caught.value.field == "token"


def test_dev_generates_one_unsubscribe_key_and_a_configured_secret_wins(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    first = unsubscribe_key(settings)
    assert first == unsubscribe_key(settings) and len(first) == 64
    assert (settings.unsubscribe_key_file.stat().st_mode & 0o777) == 0o600
    url = unsubscribe_url(settings, "ws_1", "cus_1", "email")
    assert url.startswith("http://127.0.0.1:8000/v1/unsubscribe/")
    configured = Settings(
        data_dir=tmp_path / "data",
        unsubscribe_secret="s" * 32,
        public_base_url="https://m.example/",
    )
    assert unsubscribe_key(configured) == b"s" * 32
    token = unsubscribe_url(configured, "ws_1", "cus_1", "email").rsplit("/", 1)[1]
    assert unsubscribe_url(configured, "ws_1", "cus_1", "email").startswith("https://m.example/v1/")
    with pytest.raises(Unauthorized):
        read_token(first, token)  # signed with the other key


def test_settings_refuse_a_webhook_url_without_a_secret_and_production_email_without_one():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="MCOPILOT_WEBHOOK_SECRET"):
        Settings(sms_webhook_url="http://127.0.0.1:9/sms")
    with pytest.raises(ValidationError, match="MCOPILOT_UNSUBSCRIBE_SECRET"):
        Settings(environment="production", audit_hmac_key="a" * 32, smtp_host="mail.example")
    with pytest.raises(ValidationError, match="at least 32"):
        Settings(webhook_secret="short")
