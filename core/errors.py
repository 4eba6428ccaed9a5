"""Errors a user can cause, each with a message safe to show, the field at fault and the fix.

    McopilotError                 400  base: message, field, fix
    ├── InvalidInput              422  a value is wrong: names the field and what is allowed
    ├── ConfigurationError        422  an MCOPILOT_* setting is wrong
    ├── Unauthorized              401  a signature, token or timestamp does not verify
    ├── PermissionDenied          403  the acting user's role does not allow it
    ├── NotFound                  404  a workspace, document or chunk does not exist
    ├── Conflict                  409  the thing exists already or the state forbids the change
    └── BackendUnavailable        503  a database, Chroma server or model endpoint did not answer

The API turns one into RFC 9457 problem JSON; the CLI prints one line on stderr and exits 2.
"""

from __future__ import annotations

from typing import Any, ClassVar


class McopilotError(Exception):
    """Base error: a message safe to show a user, optionally the field at fault and the fix."""

    status_code: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"

    def __init__(self, message: str, *, field: str | None = None, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.fix = fix

    def one_line(self) -> str:
        """The message as one line for a terminal: `field: message (fix)`."""
        text = f"{self.field}: {self.message}" if self.field else self.message
        if self.fix:
            text = f"{text}; {self.fix}"
        return " ".join(text.split())

    def to_problem(self) -> dict[str, Any]:
        """RFC 9457 problem details."""
        problem: dict[str, Any] = {
            "type": "about:blank",
            "title": self.title,
            "status": self.status_code,
            "detail": self.message,
        }
        if self.field:
            problem["field"] = self.field
        if self.fix:
            problem["fix"] = self.fix
        return problem


class InvalidInput(McopilotError):
    status_code = 422
    title = "Invalid input"


class ConfigurationError(McopilotError):
    status_code = 422
    title = "Invalid configuration"


class Unauthorized(McopilotError):
    status_code = 401
    title = "Unauthorized"


class PermissionDenied(McopilotError):
    status_code = 403
    title = "Forbidden"


class NotFound(McopilotError):
    status_code = 404
    title = "Not found"


class Conflict(McopilotError):
    status_code = 409
    title = "Conflict"


class BackendUnavailable(McopilotError):
    status_code = 503
    title = "Backend unavailable"
