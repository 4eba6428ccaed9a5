"""The database: migrations run on first use, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from core import workspaces
from core.db import dispose_engines, get_engine, migrate, session_scope, table_names
from core.errors import BackendUnavailable, ConfigurationError
from core.models import Workspace
from core.settings import Settings

TABLES = {"alembic_version", "chunks", "documents", "embedding_cache", "workspaces"}


def test_first_use_creates_the_schema_in_a_new_data_dir(tmp_path):
    settings = Settings(data_dir=tmp_path / "fresh" / "dir")
    engine = get_engine(settings)
    assert set(table_names(engine)) >= TABLES
    assert (tmp_path / "fresh" / "dir" / "mcopilot.db").exists()
    migrate(engine)  # running again is a no-op
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def test_session_scope_commits_or_rolls_back(settings):
    with session_scope(settings) as session:
        workspaces.create(session, "kept")
    with pytest.raises(RuntimeError), session_scope(settings) as session:
        workspaces.create(session, "lost")
        raise RuntimeError("boom")
    with session_scope(settings) as session:
        assert [w.slug for w in workspaces.list_all(session)] == ["kept"]


def test_timestamps_come_back_timezone_aware_utc(settings):
    with session_scope(settings) as session:
        workspace = workspaces.create(session, "tz")
        workspace.created_at = datetime(2026, 1, 2, 3, 4, tzinfo=timezone(timedelta(hours=2)))
    with session_scope(settings) as session:
        stored = session.scalars(select(Workspace.created_at)).one()
    assert stored == datetime(2026, 1, 2, 1, 4, tzinfo=UTC)
    assert stored.tzinfo is not None


def test_unknown_database_scheme_names_the_variable(tmp_path):
    with pytest.raises(ConfigurationError) as caught:
        get_engine(Settings(data_dir=tmp_path, database_url="mysql://root@localhost/x"))
    assert caught.value.field == "MCOPILOT_DATABASE_URL"


def test_unreachable_postgres_is_a_backend_error(tmp_path):
    settings = Settings(
        data_dir=tmp_path, database_url="postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"
    )
    with pytest.raises(BackendUnavailable) as caught:
        get_engine(settings)
    assert caught.value.field == "MCOPILOT_DATABASE_URL"
    dispose_engines()


@pytest.mark.postgres
def test_postgres_schema_migrates_and_scopes_by_workspace(tmp_path, postgres_url):
    settings = Settings(data_dir=tmp_path, database_url=postgres_url)
    engine = get_engine(settings)
    assert engine.dialect.name == "postgresql"
    assert set(table_names(engine)) >= TABLES
    with session_scope(settings) as session:
        workspaces.create(session, "pg-one")
        workspaces.create(session, "pg-two")
    with session_scope(settings) as session:
        assert [w.slug for w in workspaces.list_all(session)] == ["pg-one", "pg-two"]


def _schema_drift(engine) -> list:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from core.models import Base

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_migrations_build_exactly_the_models_schema_on_sqlite(settings):
    assert _schema_drift(get_engine(settings)) == []


@pytest.mark.postgres
def test_migrations_build_exactly_the_models_schema_on_postgres(tmp_path, postgres_url):
    engine = get_engine(Settings(data_dir=tmp_path, database_url=postgres_url))
    assert _schema_drift(engine) == []
