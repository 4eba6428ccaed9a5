"""Exceptions described for a log line without the personal data they may carry.

A database error's text holds the statement and its parameters (customers' addresses, traits),
and a driver's DETAIL line the key values it refused; provider errors may quote a recipient.
`describe` gives the class and the first line of the underlying error with personal data and
secrets masked; `stack` the traceback's frames (code locations and source lines, no values).
"""

from __future__ import annotations

import traceback

from sqlalchemy.exc import StatementError

from guardrails.pii import redact_secrets_text, redact_text


def describe(exc: BaseException) -> str:
    """`Class: first line of the message`, personal data and secrets masked; for a database
    error, the driver's error instead of the statement and parameters SQLAlchemy adds."""
    shown: BaseException = exc
    if isinstance(exc, StatementError) and isinstance(exc.orig, BaseException):
        shown = exc.orig
    lines = str(shown).strip().splitlines()
    text = redact_text(redact_secrets_text(lines[0])) if lines else ""
    name = type(exc).__name__
    if shown is not exc:
        name = f"{name} ({type(shown).__name__})"
    return f"{name}: {text}" if text else name


def stack(exc: BaseException) -> str:
    """Where it was raised: the traceback's frames, without the exception's message."""
    return "".join(traceback.format_tb(exc.__traceback__)).rstrip()
