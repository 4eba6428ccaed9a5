"""The audit HMAC key: MCOPILOT_AUDIT_HMAC_KEY, or in dev a random key generated once into
data_dir (file mode 0600). The key is never logged or printed."""

from __future__ import annotations

from core.key_files import file_key
from core.settings import Settings


def audit_key(settings: Settings) -> bytes:
    """The key that anchors every workspace's chain head."""
    if settings.audit_hmac_key is not None:
        return settings.audit_hmac_key.get_secret_value().encode("utf-8")
    return file_key(settings.audit_key_file, what="audit key", setting="MCOPILOT_AUDIT_HMAC_KEY")
