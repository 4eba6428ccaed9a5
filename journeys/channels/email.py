"""The email channel: one approved message to one customer over SMTP (STARTTLS, login)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from core.ids import sha256_hex
from core.settings import Settings
from guardrails.delivery import Delivery, DeliveryFailed, Receipt

REQUIRED_FIELDS = ("subject", "body")


def build_message(delivery: Delivery, sender: str) -> EmailMessage:
    """The MIME message: subject, a text body and, when given, an HTML alternative. The
    Message-ID derives from the idempotency key, so a provider can drop a repeat."""
    content = delivery.content
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
        message = build_message(delivery, s.smtp_from)
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
