"""The tamper-evident audit log: hash-chained records, an HMAC-anchored head, verification."""
