"""Fixtures for the journeys tests: settings on SQLite and on PostgreSQL."""

from __future__ import annotations

from tests.guardrails.conftest import db_settings

__all__ = ["db_settings"]
