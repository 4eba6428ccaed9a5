"""Secret keys kept in a file of data_dir for dev: generated once (mode 0600), read back after."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from core.errors import ConfigurationError

KEY_BYTES = 32


def _read(path: Path, *, what: str, setting: str) -> bytes:
    fix = f"restore the file, or set {setting} to the key that was in use"
    try:
        key = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(
            f"cannot read the {what} file {str(path)!r} ({exc.__class__.__name__})",
            field=setting,
            fix=fix,
        ) from None
    if len(key) < 2 * KEY_BYTES:
        raise ConfigurationError(
            f"the {what} file {str(path)!r} is damaged (too short)", field=setting, fix=fix
        )
    return key.encode("ascii")


def _create(path: Path) -> None:
    """Write a new random key unless another process got there first (O_EXCL)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(KEY_BYTES) + "\n")
        os.link(temporary, path)  # fails if a key is there already: the first one wins
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)


def file_key(path: Path, *, what: str, setting: str) -> bytes:
    """The key in `path`, created first when there is none; `what` and `setting` name it in
    errors (for example "audit key" and MCOPILOT_AUDIT_HMAC_KEY)."""
    if not path.exists():
        _create(path)
    return _read(path, what=what, setting=setting)
