"""Alembic migrations for the mcopilot schema; core.db runs them on first use."""
