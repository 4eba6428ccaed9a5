"""Batch settings: JIT off and more work memory on PostgreSQL, a larger page cache on SQLite,
for the batch's transaction only; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from core.batch_settings import (
    POSTGRES_WORK_MEM,
    SQLITE_CACHE_KIB,
    postgres_setting,
    use_batch_settings,
)
from core.db import get_engine, session_scope
from core.settings import Settings


@pytest.mark.postgres
def test_postgres_gets_them_for_the_transaction_only(tmp_path, postgres_url):
    settings = Settings(data_dir=tmp_path, database_url=postgres_url)
    with session_scope(settings) as session:
        before = (session.scalar(text("SHOW jit")), session.scalar(text("SHOW work_mem")))
    assert before != ("off", POSTGRES_WORK_MEM)
    with session_scope(settings) as session:
        use_batch_settings(session)
        use_batch_settings(session)  # once per transaction: a second call changes nothing
        assert session.scalar(text("SHOW jit")) == "off"
        assert session.scalar(text("SHOW work_mem")) == POSTGRES_WORK_MEM
    with session_scope(settings) as session:  # the pooled connection, a new transaction
        assert (session.scalar(text("SHOW jit")), session.scalar(text("SHOW work_mem"))) == before


def test_sqlite_gets_a_larger_cache_until_the_connection_goes_back(settings):
    engine = get_engine(settings)
    with session_scope(settings) as session:
        before = session.scalar(text("PRAGMA cache_size"))
    assert before != -SQLITE_CACHE_KIB
    for _ in range(2):  # the same pooled connection, batch after batch
        with session_scope(settings) as session:
            used = session.connection().connection.dbapi_connection
            use_batch_settings(session)
            assert session.scalar(text("PRAGMA cache_size")) == -SQLITE_CACHE_KIB
            session.commit()  # a new transaction: applied again
            use_batch_settings(session)
            assert session.scalar(text("PRAGMA cache_size")) == -SQLITE_CACHE_KIB
        with engine.connect() as connection:
            assert connection.connection.dbapi_connection is used
            assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == before


@pytest.mark.postgres
def test_a_postgres_setting_is_changed_for_the_block_and_put_back(tmp_path, postgres_url):
    settings = Settings(data_dir=tmp_path, database_url=postgres_url)
    with session_scope(settings) as session:
        session.execute(text("SET LOCAL enable_hashagg = off"))
        with postgres_setting(session, "enable_hashagg", "on"):
            assert session.scalar(text("SHOW enable_hashagg")) == "on"
        assert session.scalar(text("SHOW enable_hashagg")) == "off"
