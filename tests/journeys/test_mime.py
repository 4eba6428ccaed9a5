"""The composed email reads back through the standard library's parser exactly as written:
non-ASCII subjects, names and bodies, long lines, HTML alternatives; header injection and
addresses that are not one mailbox are refused, naming the header."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.header import decode_header, make_header

import pytest

from guardrails.delivery import Delivery, DeliveryFailed
from journeys.channels.email import build_message
from journeys.channels.mime import MimeError, address, compose, header_line

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
LINK = "https://mail.example.com/v1/unsubscribe/" + "t" * 120


def _read(data: bytes):
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))
    assert b"\n" not in data.replace(b"\r\n", b"")  # every line ends in CRLF
    return message_from_bytes(data, policy=policy.default)


def _text(part) -> str:
    """A part's text with the line ends a mail client shows (LF)."""
    return part.get_content().replace("\r\n", "\n")


def _delivery(**content) -> Delivery:
    return Delivery(
        workspace_id="ws_1",
        customer_id="cus_1",
        channel="email",
        recipient="zoe@bücher.example" if content.pop("idn", False) else "ada@example.com",
        content={"channel": "email", "subject": "Hi", "body": "News", **content},
        idempotency_key="j/mime/1",
        variables={"first_name": "Zoë"},
    )


@pytest.mark.parametrize(
    "subject",
    ["Spring is here", "Zoë, 20 % off — this week only 🌷", "x" * 300, "ü" * 120],
)
def test_subjects_read_back_as_written(subject):
    data = compose([header_line("Subject", subject)], "body")
    assert _read(data)["Subject"] == subject


@pytest.mark.parametrize(
    "body",
    [
        "Plain ASCII\nover two lines\n",
        "Grüße aus München — bis bald\n",
        "a line " * 200 + "\nand a short one",  # past 998 characters: quoted-printable
        ".starts with a dot\n--=_mc_ looks like a boundary\nFrom the top\n",
        "tabs\tand = signs =3D and trailing spaces   \n",
    ],
)
def test_bodies_read_back_as_written(body):
    message = _read(compose(["Subject: s"], body))
    assert _text(message) == body.removesuffix("\n") + "\n"


def test_an_html_alternative_and_its_text_both_read_back():
    message = _read(compose(["Subject: s"], "Hello Zoë", "<p>Hello Zoë &amp; co</p>"))
    assert message.get_content_type() == "multipart/alternative"
    assert _text(message.get_body(("plain",))).strip() == "Hello Zoë"
    assert _text(message.get_body(("html",))).strip() == "<p>Hello Zoë &amp; co</p>"


def test_the_boundary_avoids_the_text_and_is_the_same_for_the_same_message():
    first = compose(["Subject: s"], "text", "<p>html</p>")
    assert first == compose(["Subject: s"], "text", "<p>html</p>")
    boundary = _read(first).get_boundary()
    clash = compose(["Subject: s"], f"--{boundary}\nsneaky", "<p>html</p>")
    message = _read(clash)
    assert message.get_boundary() != boundary
    assert _text(message.get_body(("plain",))).strip() == f"--{boundary}\nsneaky"


@pytest.mark.parametrize("value", ["Hi\r\nBcc: victim@example.com", "Hi\nX-Evil: 1", "Hi\rthere"])
def test_a_line_break_in_a_header_value_is_refused(value):
    with pytest.raises(MimeError, match="Subject header contains a line break"):
        header_line("Subject", value)


@pytest.mark.parametrize(
    "value",
    [
        "a@example.com, b@example.com",
        "not an address",
        "Ada <ada@example.com>\r\nBcc: x@example.com",
        "@example.com",
        "ünïcode@example.com",
        "",
    ],
)
def test_an_address_must_be_one_plain_mailbox(value):
    with pytest.raises(MimeError, match="To address"):
        address("To", value)


def test_display_names_and_international_domains_are_encoded():
    line, bare = address("From", "Bücherstube Zoë <news@bücher.example>")
    assert bare == "news@xn--bcher-kva.example"
    parsed = _read(f"{line}\r\nSubject: s\r\n\r\nx\r\n".encode("ascii"))
    assert parsed["From"].addresses[0].display_name == "Bücherstube Zoë"
    assert parsed["From"].addresses[0].addr_spec == "news@xn--bcher-kva.example"


def test_a_built_message_reads_back_with_every_header():
    delivery = _delivery(
        subject="{{ first_name }}, spring — is here",
        body="Hello {{ first_name }}\nUnsubscribe: {{ unsubscribe_url }}",
        html="<p>Hello {{ first_name }}</p>",
        idn=True,
    )
    built = build_message(
        delivery, "Shop <news@shop.example>", unsubscribe=LINK, mailto="u@shop.example", now=NOW
    )
    assert (built.sender, built.recipient) == ("news@shop.example", "zoe@xn--bcher-kva.example")
    message = _read(built.data)
    assert message["Subject"] == "Zoë, spring — is here"
    assert message["To"] == "zoe@xn--bcher-kva.example"
    assert message["From"].addresses[0].display_name == "Shop"
    assert message["Message-ID"] == built.message_id
    assert message["Date"].datetime == NOW
    assert message["List-Unsubscribe"] == f"<{LINK}>, <mailto:u@shop.example?subject=unsubscribe>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"Unsubscribe: {LINK}" in message.get_body(("plain",)).get_content()
    assert "<p>Hello Zoë</p>" in message.get_body(("html",)).get_content()


def test_a_customer_value_with_a_line_break_fails_the_delivery_for_good():
    delivery = _delivery(subject="{{ first_name }}, hello")
    delivery = replace(delivery, variables={"first_name": "Ada\r\nBcc: x@y.z"})
    with pytest.raises(DeliveryFailed, match="Subject header contains a line break") as caught:
        build_message(delivery, "news@shop.example", unsubscribe=LINK)
    assert caught.value.retryable is False


def test_a_step_cannot_override_the_channel_s_headers():
    delivery = replace(_delivery(), headers={"Bcc": "x@example.com"})
    with pytest.raises(DeliveryFailed, match="'Bcc' cannot be set"):
        build_message(delivery, "news@shop.example", unsubscribe=LINK)
    fine = replace(_delivery(), headers={"X-Campaign": "spring"})
    built = build_message(fine, "news@shop.example", unsubscribe=LINK)
    assert _read(built.data)["X-Campaign"] == "spring"


def test_international_domains_are_encoded_as_registered_not_folded_to_ascii():
    """IDNA 2003 turns `faß.de` into `fass.de`, another registrant's domain."""
    assert address("To", "info@faß.de")[1] == "info@xn--fa-hia.de"
    assert address("To", "info@straße.de")[1] == "info@xn--strae-oqa.de"


@pytest.mark.parametrize("value", ["noreply@localhost", "ops@[10.0.0.1]", "a.b+tag@mail.example"])
def test_local_senders_and_literals_are_addresses(value):
    assert address("From", value)[1] == value


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Subject", "Ada\x00"),
        ("Subject", "tab\tis fine but not \x0b"),
        ("Subject", "del\x7f"),
        ("To", "a\x00b@example.com"),
        ("To", "Ada\x1c <ada@example.com>"),
    ],
)
def test_control_characters_are_refused(name, value):
    refuse = header_line if name == "Subject" else address
    with pytest.raises(MimeError, match="control character"):
        refuse(name, value)


def test_text_that_is_not_unicode_is_refused_not_crashed_on():
    with pytest.raises(MimeError, match="not valid Unicode"):
        header_line("Subject", "broken \ud800 text")
    with pytest.raises(MimeError, match="not valid Unicode"):
        address("To", "Bad \ud800 Name <a@example.com>")


def test_long_display_names_are_folded_encoded_words_or_refused():
    name = ("Zoë " * 60).strip()
    line, _ = address("To", f"{name} <zoe@example.com>")
    message = _read(f"{line}\r\nSubject: s\r\n\r\nx\r\n".encode("ascii"))  # lines <= 998
    assert message["To"].addresses[0].addr_spec == "zoe@example.com"
    words = [w for w in line.replace("\r\n", " ").split() if w.startswith("=?")]
    assert len(words) > 1 and all(len(w) <= 75 for w in words)
    # RFC 2047: each word holds whole characters, and the words together are the name (the
    # standard library's phrase parser adds a space between words; decode_header does not)
    assert all(str(make_header(decode_header(w))) for w in words)
    assert str(make_header(decode_header(" ".join(words)))) == name
    with pytest.raises(MimeError, match="longer than 998"):
        address("To", f"{'X' * 1100} <a@example.com>")
