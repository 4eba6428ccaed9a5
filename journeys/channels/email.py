"""The email channel: one approved message to one customer over SMTP (STARTTLS, login), its
template filled with the customer's fields, with one-click unsubscribe headers (RFC 8058)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from core.ids import sha256_hex
from core.settings import Settings
from guardrails.delivery import Delivery, DeliveryFailed, Receipt
from journeys.templates import render_content
from journeys.unsubscribe import unsubscribe_url

REQUIRED_FIELDS = ("subject", "body")
ONE_CLICK = "List-Unsubscribe=One-Click"


def list_unsubscribe(url: str, mailto: str | None) -> str:
    """The List-Unsubscribe header: the https link first, then the mailbox when there is one."""
    links = [f"<{url}>"]
    if mailto:
        links.append(f"<mailto:{mailto}?subject=unsubscribe>")
    return ", ".join(links)


def build_message(
    delivery: Delivery, sender: str, *, unsubscribe: str, mailto: str | None = None
) -> EmailMessage:
    """The MIME message: subject, a text body and, when given, an HTML alternative, each
    rendered with the delivery's variables and `unsubscribe_url`. The Message-ID derives from
    the idempotency key, so a provider can drop a repeat."""
    content = render_content(
        delivery.content, {**delivery.variables, "unsubscribe_url": unsubscribe}
    )
    missing = [name for name in REQUIRED_FIELDS if not str(content.get(name) or "").strip()]
    if missing:
        raise DeliveryFailed(f"email content lacks {', '.join(missing)}", retryable=False)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = delivery.recipient
    message["Subject"] = str(content["subject"])
    domain = sender.rpartition("@")[2] or "mcopilot.local"
    message["Message-ID"] = make_msgid(
        idstring=sha256_hex(f"{delivery.workspace_id}\x1f{delivery.idempotency_key}")[:32],
        domain=domain,
    )
    for name, value in delivery.headers.items():
        message[name] = value
    message["List-Unsubscribe"] = list_unsubscribe(unsubscribe, mailto)
    message["List-Unsubscribe-Post"] = ONE_CLICK
    message.set_content(str(content["body"]))
    if content.get("html"):
        message.add_alternative(str(content["html"]), subtype="html")
    return message


class SmtpEmailAdapter:
    """Sends through the SMTP server in settings; raises DeliveryFailed, never a raw error."""

    channel = "email"

    def __init__(self, settings: Settings) -> None:
        if not settings.smtp_host:
            raise DeliveryFailed("email is not set up (MCOPILOT_SMTP_HOST)", retryable=False)
        self._settings = settings

    def deliver(self, delivery: Delivery) -> Receipt:
        s = self._settings
        link = unsubscribe_url(s, delivery.workspace_id, delivery.customer_id, self.channel)
        message = build_message(
            delivery, s.smtp_from, unsubscribe=link, mailto=s.unsubscribe_mailto
        )
        try:
            with smtplib.SMTP(s.smtp_host or "", s.smtp_port, timeout=s.smtp_timeout_s) as smtp:
                smtp.ehlo()
                if s.smtp_starttls and smtp.has_extn("starttls"):
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if s.smtp_username:
                    password = s.smtp_password.get_secret_value() if s.smtp_password else ""
                    smtp.login(s.smtp_username, password)
                refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryFailed("the SMTP server refused the recipient", retryable=False) from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryFailed("SMTP login failed (MCOPILOT_SMTP_USERNAME/PASSWORD)") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"SMTP failed ({exc.__class__.__name__})") from exc
        if refused:
            raise DeliveryFailed("the SMTP server refused the recipient", retryable=False)
        return Receipt(str(message["Message-ID"]), f"accepted by {s.smtp_host}:{s.smtp_port}")
