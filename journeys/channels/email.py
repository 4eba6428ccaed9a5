"""The email channel: one approved message to one customer over SMTP (STARTTLS, login), its
template filled with the customer's fields, with one-click unsubscribe headers (RFC 8058)."""

from __future__ import annotations

import email.utils
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime

from core.ids import sha256_hex
from core.settings import Settings
from guardrails.delivery import Delivery, DeliveryFailed, Receipt
from journeys.channels.mime import MimeError, address, compose, header_line
from journeys.templates import render_content
from journeys.unsubscribe import unsubscribe_url

REQUIRED_FIELDS = ("subject", "body")
ONE_CLICK = "List-Unsubscribe=One-Click"
#: Headers a journey step may not set: the channel sets them, or they would change the envelope.
RESERVED_HEADERS = frozenset(
    name.lower()
    for name in (
        "From",
        "To",
        "Cc",
        "Bcc",
        "Subject",
        "Date",
        "Message-ID",
        "MIME-Version",
        "Content-Type",
        "Content-Transfer-Encoding",
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
    )
)
_HEADER_NAME = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    """One message ready for SMTP: its envelope, its Message-ID and its bytes."""

    sender: str  # the envelope's MAIL FROM
    recipient: str  # the envelope's RCPT TO
    message_id: str
    data: bytes


def list_unsubscribe(url: str, mailto: str | None) -> str:
    """The List-Unsubscribe header: the https link first, then the mailbox when there is one."""
    links = [f"<{url}>"]
    if mailto:
        links.append(f"<mailto:{mailto}?subject=unsubscribe>")
    return ", ".join(links)


def message_id(delivery: Delivery, domain: str) -> str:
    """The Message-ID: a function of the workspace and idempotency key only (no time, pid or
    random part, unlike email.utils.make_msgid), so every retry of one send carries the same
    id and a provider or receiver that dedupes by it keeps one copy."""
    digest = sha256_hex(f"{delivery.workspace_id}\x1f{delivery.idempotency_key}")[:40]
    return f"<{digest}@{domain}>"


def _extra_header(name: str, value: object) -> str:
    if not name or set(name) - _HEADER_NAME or name.lower() in RESERVED_HEADERS:
        raise DeliveryFailed(f"the header name {name!r} cannot be set by a step", retryable=False)
    return header_line(name, str(value))


def build_message(
    delivery: Delivery,
    sender: str,
    *,
    unsubscribe: str,
    mailto: str | None = None,
    now: datetime | None = None,
) -> OutgoingEmail:
    """The message: subject, a text body and, when given, an HTML alternative, each rendered
    with the delivery's variables and `unsubscribe_url`, with one-click unsubscribe headers
    (RFC 8058). The Message-ID derives from the idempotency key, so a provider can drop a
    repeat. A header value with a line break or an address that is not one plain address
    fails the delivery (not retryable), naming the header."""
    content = render_content(
        delivery.content, {**delivery.variables, "unsubscribe_url": unsubscribe}
    )
    missing = [name for name in REQUIRED_FIELDS if not str(content.get(name) or "").strip()]
    if missing:
        raise DeliveryFailed(f"email content lacks {', '.join(missing)}", retryable=False)
    try:
        from_line, from_addr = address("From", sender)
        to_line, to_addr = address("To", delivery.recipient)
        domain = from_addr.rpartition("@")[2] or "mcopilot.local"
        identifier = message_id(delivery, domain)
        headers = [
            from_line,
            to_line,
            header_line("Subject", str(content["subject"])),
            f"Date: {email.utils.format_datetime(now) if now else email.utils.formatdate()}",
            f"Message-ID: {identifier}",
            *(_extra_header(name, value) for name, value in delivery.headers.items()),
            header_line("List-Unsubscribe", list_unsubscribe(unsubscribe, mailto)),
            f"List-Unsubscribe-Post: {ONE_CLICK}",
        ]
        html = str(content["html"]) if content.get("html") else None
        data = compose(headers, str(content["body"]), html)
    except MimeError as exc:
        raise DeliveryFailed(f"the email cannot be built: {exc}", retryable=False) from exc
    return OutgoingEmail(from_addr, to_addr, identifier, data)


class SmtpEmailAdapter:
    """Sends through the SMTP server in settings over one connection kept open between messages
    (a worker's adapter lives as long as the worker); raises DeliveryFailed, never a raw error.

    The connection is opened on the first message. After a failed transaction the session is
    reset (RSET) and kept; when the server has dropped a connection that served earlier
    messages (idle timeout, restart), the message is tried once more on a new connection. That
    repeat carries the same Message-ID, so if the server had taken the first copy before it
    hung up, a receiver that dedupes by Message-ID keeps one. Not thread-safe: one per worker.
    """

    channel = "email"

    def __init__(self, settings: Settings) -> None:
        if not settings.smtp_host:
            raise DeliveryFailed("email is not set up (MCOPILOT_SMTP_HOST)", retryable=False)
        self._settings = settings
        self._smtp: smtplib.SMTP | None = None
        self._sent_on_connection = 0

    def _connect(self) -> smtplib.SMTP:
        s = self._settings
        smtp = smtplib.SMTP(s.smtp_host or "", s.smtp_port, timeout=s.smtp_timeout_s)
        try:
            smtp.ehlo()
            if s.smtp_starttls and smtp.has_extn("starttls"):
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if s.smtp_username:
                password = s.smtp_password.get_secret_value() if s.smtp_password else ""
                smtp.login(s.smtp_username, password)
        except BaseException:
            _close_quietly(smtp)
            raise
        self._smtp, self._sent_on_connection = smtp, 0
        return smtp

    def _drop(self) -> None:
        if self._smtp is not None:
            _close_quietly(self._smtp)
        self._smtp = None

    def _reset(self) -> None:
        """RSET after a failed transaction, so the next message starts clean; a connection
        that cannot even do that is dropped."""
        if self._smtp is None:
            return
        try:
            self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _send(self, message: OutgoingEmail) -> dict[str, tuple[int, bytes]]:
        reused = self._smtp is not None and self._sent_on_connection > 0
        smtp = self._smtp or self._connect()
        envelope = (message.sender, [message.recipient], message.data)
        try:
            refused = smtp.sendmail(*envelope)
        except (smtplib.SMTPServerDisconnected, ConnectionError):
            self._drop()
            if not reused:
                raise
            refused = self._connect().sendmail(*envelope)  # the server hung up: once more
        self._sent_on_connection += 1
        return refused

    def deliver(self, delivery: Delivery) -> Receipt:
        s = self._settings
        link = unsubscribe_url(s, delivery.workspace_id, delivery.customer_id, self.channel)
        message = build_message(
            delivery, s.smtp_from, unsubscribe=link, mailto=s.unsubscribe_mailto
        )
        try:
            refused = self._send(message)
        except smtplib.SMTPRecipientsRefused as exc:
            self._reset()
            raise DeliveryFailed("the SMTP server refused the recipient", retryable=False) from exc
        except smtplib.SMTPAuthenticationError as exc:
            self._drop()
            raise DeliveryFailed("SMTP login failed (MCOPILOT_SMTP_USERNAME/PASSWORD)") from exc
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused...
            self._reset()
            raise DeliveryFailed(f"SMTP failed ({exc.__class__.__name__})") from exc
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise DeliveryFailed(f"SMTP failed ({exc.__class__.__name__})") from exc
        if refused:
            self._reset()
            raise DeliveryFailed("the SMTP server refused the recipient", retryable=False)
        return Receipt(message.message_id, f"accepted by {s.smtp_host}:{s.smtp_port}")

    def close(self) -> None:
        """QUIT and close the connection, if one is open."""
        self._drop()


def _close_quietly(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
