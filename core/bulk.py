"""Bulk loading of many rows at once: `executemany` on SQLite, `COPY` on PostgreSQL.

For generated and imported data sets of millions of rows, where an ORM insert per row would
take minutes. Data comes by column: numpy arrays (datetime64 columns are UTC instants, written
in the format SQLAlchemy itself uses) or lists of str, int, float, bool, None, dict or list
(JSON).
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
from sqlalchemy import Engine, Table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

SQLITE_BATCH = 50_000


@contextmanager
def bulk_session(engine: Engine) -> Iterator[Session]:
    """A session for one trusted bulk load, committed at the end or rolled back.

    On SQLite, foreign keys are verified once over the whole database before the commit
    (`PRAGMA foreign_key_check`) instead of row by row, which halves the load time; a
    violation rolls everything back. PostgreSQL checks as usual.
    """
    connection = engine.connect()
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:  # must happen outside a transaction to take effect
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    session = Session(bind=connection, expire_on_commit=False)
    try:
        yield session
        if sqlite:
            problems = session.connection().exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if problems:
                table, _, parent, _ = problems[0]
                raise IntegrityError(
                    f"{len(problems)} rows of {table} point at missing {parent} rows",
                    None,
                    ValueError("foreign key check failed"),
                )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
        connection.close()


@contextmanager
def indexes_built_after(session: Session, tables: Sequence[Table]) -> Iterator[None]:
    """On SQLite, drop the tables' secondary indexes for a bulk load and build them again at
    the end (one sorted build beats millions of random index inserts); in the caller's
    transaction, so a failure restores them. Elsewhere a no-op."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    indexes = [index for table in tables for index in table.indexes]
    for index in indexes:
        index.drop(connection)
    yield
    for index in indexes:
        index.create(connection)


def _column(values: Sequence[Any] | np.ndarray, dialect: str) -> list[Any]:
    """One column as a list of values the driver takes as they are."""
    if isinstance(values, np.ndarray):
        if np.issubdtype(values.dtype, np.datetime64):
            text = np.datetime_as_string(values.astype("datetime64[us]"), unit="us")
            if dialect == "sqlite":
                return np.char.replace(text, "T", " ").tolist()
            return np.char.add(text, "+00:00").tolist()
        return values.tolist()
    if values and isinstance(values[0], dict | list):
        return [json.dumps(v) for v in values]
    return list(values)


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Millions of fresh tuples make the cyclic collector walk the heap again and again; none
    of them can form a cycle, so it is paused while they are built."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def bulk_insert(
    session: Session, table: Table, columns: Mapping[str, Sequence[Any] | np.ndarray]
) -> int:
    """Insert the rows made by zipping the columns, in the session's transaction; the count."""
    with _no_cyclic_gc():
        return _bulk_insert(session, table, columns)


def _bulk_insert(
    session: Session, table: Table, columns: Mapping[str, Sequence[Any] | np.ndarray]
) -> int:
    session.flush()
    connection = session.connection()
    dialect = connection.dialect.name
    names = list(columns)
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise ValueError(f"columns of {table.name} differ in length: {sorted(lengths)}")
    count = lengths.pop() if lengths else 0
    if not count:
        return 0
    data = [_column(columns[name], dialect) for name in names]
    raw = connection.connection.driver_connection
    quoted = ", ".join(f'"{n}"' for n in names)
    if dialect == "postgresql":
        with (
            raw.cursor() as cursor,
            cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy,
        ):
            for row in zip(*data, strict=True):
                copy.write_row(row)
        return count
    if dialect != "sqlite":
        raise NotImplementedError(f"bulk_insert has no path for {dialect}")
    statement = f'INSERT INTO "{table.name}" ({quoted}) VALUES ({", ".join("?" for _ in names)})'
    cursor = raw.cursor()
    rows = list(zip(*data, strict=True))
    for i in range(0, count, SQLITE_BATCH):
        cursor.executemany(statement, rows[i : i + SQLITE_BATCH])
    cursor.close()
    return count
