"""The audit HMAC key: MCOPILOT_AUDIT_HMAC_KEY, or in dev a random key generated once into
data_dir (file mode 0600). The key is never logged or printed."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from core.errors import ConfigurationError
from core.settings import Settings

_KEY_BYTES = 32


def _read(path: Path) -> bytes:
    try:
        key = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(
            f"cannot read the audit key file {str(path)!r} ({exc.__class__.__name__})",
            field="MCOPILOT_AUDIT_HMAC_KEY",
            fix="restore the file, or set MCOPILOT_AUDIT_HMAC_KEY to the key that wrote the log",
        ) from None
    if len(key) < 2 * _KEY_BYTES:
        raise ConfigurationError(
            f"the audit key file {str(path)!r} is damaged (too short)",
            field="MCOPILOT_AUDIT_HMAC_KEY",
            fix="restore the file, or set MCOPILOT_AUDIT_HMAC_KEY to the key that wrote the log",
        )
    return key.encode("ascii")


def _create(path: Path) -> None:
    """Write a new random key unless another process got there first (O_EXCL)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(_KEY_BYTES) + "\n")
        os.link(temporary, path)  # fails if a key is there already: the first one wins
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)


def audit_key(settings: Settings) -> bytes:
    """The key that anchors every workspace's chain head."""
    if settings.audit_hmac_key is not None:
        return settings.audit_hmac_key.get_secret_value().encode("utf-8")
    path = settings.audit_key_file
    if not path.exists():
        _create(path)
    return _read(path)
