"""The opt-out sweep applies every opt-out, whatever order their transactions commit in: on
PostgreSQL an event's id is taken at insert, not at commit, so an opt-out with a lower id can
become visible after one with a higher id has been swept. The migration from the id cursor
marks the opt-outs the cursor had passed as handled, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db import session_factory, session_scope
from core.models import JourneyEnrolment
from core.models.events import UNHANDLED_OPT_OUTS
from core.settings import Settings
from guardrails.opt_out import opt_out
from guardrails.suppressions import OPTED_OUT
from journeys.sweep import remove_opted_out
from tests.journeys.runtime_fixtures import at, make_world
from tests.journeys.test_worker import enrol_all

OPTED = OPTED_OUT


@pytest.fixture
def pg_settings(tmp_path, postgres_url) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=postgres_url)


def _states(settings: Settings) -> dict[str, str]:
    with session_scope(settings) as session:
        rows = session.execute(select(JourneyEnrolment.customer_id, JourneyEnrolment.status))
        return dict(rows.all())


@pytest.mark.postgres
def test_an_opt_out_that_commits_after_a_later_one_is_still_applied(pg_settings):
    world = make_world(pg_settings, customers=2)
    enrol_all(world)
    ws = world.workspace_id
    slow = session_factory(pg_settings)()  # a long transaction: it takes the lower id
    early = opt_out(slow, ws, "cus_0000", "email", "test: slow request", now=at(1))
    with session_scope(pg_settings) as session:
        late = opt_out(session, ws, "cus_0001", "email", "test: quick request", now=at(1))
    assert early.event_id < late.event_id
    with session_scope(pg_settings) as session:
        assert remove_opted_out(session, ws, at(2)) == 1  # only the committed one is visible
    assert _states(pg_settings) == {"cus_0000": "active", "cus_0001": "removed"}
    slow.commit()
    slow.close()
    with session_scope(pg_settings) as session:
        assert remove_opted_out(session, ws, at(3)) == 1
    assert _states(pg_settings) == {"cus_0000": "removed", "cus_0001": "removed"}
    with session_scope(pg_settings) as session:
        assert remove_opted_out(session, ws, at(4)) == 0  # each event is handled once


def test_the_waiting_opt_outs_index_names_the_opt_out_event():
    assert f"name = '{OPTED_OUT}'" in UNHANDLED_OPT_OUTS


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_the_migration_marks_the_opt_outs_the_cursor_had_passed(tmp_path, request, backend):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, text

    from core.db import MIGRATIONS_DIR

    url = (
        request.getfixturevalue("postgres_url")
        if backend == "postgres"
        else f"sqlite:///{tmp_path / 'old.db'}"
    )
    engine = create_engine(Settings(data_dir=tmp_path, database_url=url).effective_database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))

    def upgrade(to: str) -> None:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, to)

    upgrade("0020")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO workspaces (id, slug, name, created_at, index_version) "
                "VALUES ('ws_old', 'old', 'old', '2026-11-01T00:00:00+00:00', 0)"
            )
        )
        for event_id, name in ((1, OPTED), (2, "journey.alert"), (3, OPTED)):
            connection.execute(
                text(
                    "INSERT INTO domain_events (id, workspace_id, name, customer_id, payload, "
                    "occurred_at) VALUES (:id, 'ws_old', :name, 'cus_1', '{}', "
                    "'2026-11-01T00:00:00+00:00')"
                ),
                {"id": event_id, "name": name},
            )
        connection.execute(
            text(
                "INSERT INTO journey_cursors (workspace_id, name, position, updated_at) "
                "VALUES ('ws_old', 'opt_outs', 2, '2026-11-02T00:00:00+00:00')"
            )
        )
    upgrade("head")
    with engine.connect() as connection:
        handled = connection.execute(
            text("SELECT id, handled_at IS NOT NULL FROM domain_events ORDER BY id")
        ).all()
    engine.dispose()
    # the opt-out the cursor had passed is handled; the one after it waits for the sweep
    assert [(i, bool(h)) for i, h in handled] == [(1, True), (2, False), (3, False)]
