"""Alembic environment: runs on the connection core.db hands over, or on MCOPILOT_DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from core.models import Base

MIGRATION_LOCK_ID = 72_410_001  # a PostgreSQL advisory lock: one migrator at a time


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from core.db import get_engine

    with get_engine().begin() as own_connection:
        _run(own_connection)


run_migrations_online()
