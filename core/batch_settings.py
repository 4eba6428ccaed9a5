"""Settings for one set-based batch transaction (scores, segments) on SQLite and PostgreSQL.

The scoring jobs run a few statements over every customer of a workspace. For those, the
defaults cost more than the work. PostgreSQL's JIT compiles each big statement first (2.3 s
of a 4.0 s segment statement at 100,000 customers went to compiling), and with 4 MB of work
memory the hash joins and the RFM rank sorts spilled to disk in batches: the batch turns JIT
off and gets 64 MB for the rest of the caller's transaction only (`SET LOCAL`). SQLite's
2 MB page cache cost the RFM snapshot an eighth of its CPU time at that size: the batch gets
128 MiB. That is a setting of the connection, not of the transaction, so it is put back when
the connection returns to the pool. (Sorting in memory, `temp_store=MEMORY`, was no faster,
and SQLite refuses to change it inside a transaction that has used temporary storage.)
`postgres_setting` changes one planner setting around a few statements and puts it back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

POSTGRES_WORK_MEM = "64MB"  # per sort or hash; a handful at a time in one batch statement
SQLITE_CACHE_KIB = 128 * 1024
_APPLIED = "core.batch_settings.applied"
_SQLITE_CACHE_BEFORE = "core.batch_settings.sqlite_defaults"


def use_batch_settings(session: Session) -> None:
    """Apply the batch settings to the session's current transaction (once per transaction)."""
    connection = session.connection()  # begins the transaction, so it is the one remembered
    transaction = session.get_transaction()
    if session.info.get(_APPLIED) is transaction:
        return
    dialect = connection.dialect.name
    if dialect == "postgresql":
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text(f"SET LOCAL work_mem = '{POSTGRES_WORK_MEM}'"))
    elif dialect == "sqlite":
        if _SQLITE_CACHE_BEFORE not in connection.info:
            default = connection.exec_driver_sql("PRAGMA cache_size").scalar()
            connection.info[_SQLITE_CACHE_BEFORE] = default
            _restore_on_checkin(connection.engine)
        connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    session.info[_APPLIED] = transaction


def _restore_on_checkin(engine: Engine) -> None:
    if not event.contains(engine, "checkin", _restore_sqlite_defaults):
        event.listen(engine, "checkin", _restore_sqlite_defaults)


def _restore_sqlite_defaults(dbapi_connection: Any, record: Any) -> None:
    """Pool checkin: a connection that ran a batch gets its page cache size of before back."""
    default = record.info.pop(_SQLITE_CACHE_BEFORE, None)
    if default is None or dbapi_connection is None:
        return
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA cache_size={int(default)}")
    cursor.close()


@contextmanager
def postgres_setting(session: Session, name: str, value: str) -> Iterator[None]:
    """A PostgreSQL setting changed for the statements run inside, in the transaction, and
    put back to what it was after them (nothing on SQLite)."""
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    before = session.scalar(text("SELECT current_setting(:name)"), {"name": name})
    session.execute(text("SELECT set_config(:name, :value, true)"), {"name": name, "value": value})
    try:
        yield
    finally:
        session.execute(
            text("SELECT set_config(:name, :value, true)"), {"name": name, "value": before}
        )
