"""Bulk loads of millions of rows in one transaction: multi-row INSERTs on SQLite, COPY on PG."""

from __future__ import annotations

import gc
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from itertools import chain
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, Table
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.schema import AddConstraint, Constraint, DropConstraint

from core.bulk_values import copy_text_values, sqlite_values
from core.db import refresh_planner_statistics

SQLITE_BATCH = 50_000  # rows turned into statement parameters at a time
SQLITE_MAX_PARAMETERS = 999  # the lowest limit of any SQLite build (newer ones allow 32,766)
SQLITE_CACHE_KIB = 256 * 1024  # page cache for the foreign key check, in KiB
COPY_BATCH = 50_000  # rows per COPY write
POSTGRES_BUILD_MEMORY = "256MB"  # per index build and foreign key validation
LOADED_TABLES = "bulk_loaded_tables"  # session.info key: the tables bulk_insert wrote to
KEYS_TRUSTED = "bulk_keys_trusted"  # session.info key: the load's rows need no key check


@contextmanager
def bulk_session(engine: Engine, *, keys_trusted: bool = False) -> Iterator[Session]:
    """A session for one trusted bulk load, committed at the end or rolled back.

    On SQLite, foreign keys are verified once over the whole database before the commit
    (`PRAGMA foreign_key_check`) instead of row by row, which takes 40% less time; a
    violation rolls everything back. The check runs with a 256 MiB page cache (SQLite's
    default is 2 MiB), which keeps the parent indexes it probes in memory: 2-3 times faster.
    The connection's settings are restored before it goes back to the pool. When no other
    connection has the database open, the load runs with a rollback journal instead of WAL
    (`_rollback_journal`): what it appends is written once, not twice, and it holds the
    database alone until the commit.

    keys_trusted: the caller guarantees that every row it loads satisfies every foreign key
    and that it deletes nothing other rows point at (a generated data set, consistent by
    construction, into an empty workspace). Then the whole-database check is skipped: on
    SQLite the final `foreign_key_check`, on PostgreSQL the validation of the keys
    `indexes_and_keys_built_after` adds back (`NOT VALID`: in place and enforced on every
    later write, not re-checked over the rows already there). At 2M orders that check was
    a tenth of the load on SQLite and a fifth of the server's work on PostgreSQL.

    On PostgreSQL the transaction gets more memory for building indexes and validating
    foreign keys (`indexes_and_keys_built_after`), and the tables loaded are vacuumed after
    the commit. That marks their pages all-visible, so index-only scans skip the table: the
    first RFM snapshot after loading 2M orders otherwise spent 5 s of its 8 s reading every
    order row from the table to learn it was visible.
    """
    connection = engine.connect()
    sqlite = connection.dialect.name == "sqlite"
    postgresql = connection.dialect.name == "postgresql"
    rollback_journal = False
    if sqlite:  # must happen outside a transaction to take effect
        cache_size = connection.exec_driver_sql("PRAGMA cache_size").scalar()
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        rollback_journal = _rollback_journal(connection)
        connection.commit()
    session = Session(bind=connection, expire_on_commit=False)
    session.info[KEYS_TRUSTED] = keys_trusted
    try:
        if postgresql:
            session.connection().exec_driver_sql(
                f"SET LOCAL maintenance_work_mem = '{POSTGRES_BUILD_MEMORY}'"
            )
        yield session
        if sqlite and not keys_trusted:
            connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
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
        loaded = session.info.get(LOADED_TABLES, [])
        session.close()
        if sqlite:
            connection.exec_driver_sql(f"PRAGMA cache_size={cache_size}")
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            if rollback_journal:
                _back_to_wal(connection)
            connection.commit()
        connection.close()
    if postgresql and loaded:
        with engine.connect() as maintenance:  # VACUUM cannot run in a transaction
            maintenance.execution_options(isolation_level="AUTOCOMMIT")
            maintenance.exec_driver_sql("VACUUM " + ", ".join(f'"{name}"' for name in loaded))


def _rollback_journal(connection: Connection) -> bool:
    """SQLite: leave WAL mode for the load when no other connection has the database open;
    whether it did (then `_back_to_wal` after it).

    In WAL mode every page a load writes is written twice: to the log, then by the checkpoint
    after the commit into the database (at 2M orders, 1.4 GB more to write, and the commit
    took 4-5 s). With a rollback journal the pages appended past the file's old end are
    written once and need no journal entry: a failed or interrupted load is rolled back by
    cutting them off. SQLite refuses the change while another connection has the database
    open: then the load runs in WAL mode as before, without waiting for it."""
    if str(connection.exec_driver_sql("PRAGMA journal_mode").scalar()).lower() != "wal":
        return False
    timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    connection.exec_driver_sql("PRAGMA busy_timeout=0")
    try:
        mode = connection.exec_driver_sql("PRAGMA journal_mode=DELETE").scalar()
    except OperationalError:  # database is locked: another connection has it open
        mode = "wal"
    finally:
        connection.exec_driver_sql(f"PRAGMA busy_timeout={int(timeout)}")
    return str(mode).lower() == "delete"


def _back_to_wal(connection: Connection) -> None:
    """WAL mode again after a load. Should a connection opened meanwhile hold the database,
    the next connection's start-up (`core.db`) puts WAL mode back; nothing is lost."""
    with suppress(OperationalError):
        connection.exec_driver_sql("PRAGMA journal_mode=WAL")


@contextmanager
def indexes_and_keys_built_after(
    session: Session, tables: Sequence[Table], *, in_order: Collection[str] = ()
) -> Iterator[None]:
    """Drop the tables' secondary indexes for a bulk load and build them again at the end: one
    sorted build beats millions of index inserts. in_order: indexes whose key order the rows
    arrive in; SQLite keeps those during the load, as appending to an index costs half of
    sorting for it (PostgreSQL's build finds the presorted rows by itself).

    On PostgreSQL their primary keys too, and every foreign key from or to them; keys added
    back validate all rows in one join instead of a trigger query per row. Planner statistics
    are refreshed before that: without them, PostgreSQL validated by an index probe per row,
    three times slower than a hash join.
    In the caller's transaction, so a failure restores them all.

    PostgreSQL holds these tables (and the ones their keys point at) locked until the commit,
    and the indexes of rows already there are built again too. In a `bulk_session` whose
    keys are trusted, the foreign keys come back `NOT VALID` (enforced from then on, the
    rows already there not checked).
    """
    connection = session.connection()
    kept = set(in_order) if connection.dialect.name == "sqlite" else set()
    indexes = [index for table in tables for index in table.indexes if index.name not in kept]
    primary: list[Constraint] = []
    foreign: list[Constraint] = []
    if connection.dialect.name == "postgresql" and tables:
        primary = [table.primary_key for table in tables]
        names = {table.name for table in tables}
        foreign = [
            key
            for table in tables[0].metadata.sorted_tables
            for key in table.foreign_key_constraints
            if table.name in names or key.referred_table.name in names
        ]
    for constraint in foreign + primary:
        connection.execute(DropConstraint(constraint))
    for index in indexes:
        index.drop(connection)
    yield
    for constraint in primary:
        connection.execute(AddConstraint(constraint))
    for index in indexes:
        index.create(connection)
    refresh_planner_statistics(session, [table.name for table in tables])
    trusted = session.info.get(KEYS_TRUSTED, False)
    for constraint in foreign:
        if trusted:
            add = AddConstraint(constraint).compile(dialect=connection.dialect)
            connection.exec_driver_sql(f"{add} NOT VALID")
        else:
            connection.execute(AddConstraint(constraint))


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
    """Insert the rows made by zipping the columns, in the session's transaction; the count.

    For generated and imported data sets, where an ORM insert per row would take minutes.
    Columns are numpy arrays (datetime64 ones are UTC instants) or lists of str, int, float,
    bool, None, dict or list (JSON); `core.bulk_values` converts them.
    """
    with _no_cyclic_gc():
        return _bulk_insert(session, table, columns)


def _bulk_insert(
    session: Session, table: Table, columns: Mapping[str, Sequence[Any] | np.ndarray]
) -> int:
    session.flush()
    connection = session.connection()
    dialect = connection.dialect.name
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise ValueError(f"columns of {table.name} differ in length: {sorted(lengths)}")
    count = lengths.pop() if lengths else 0
    if not count:
        return 0
    if dialect not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"bulk_insert has no path for {dialect}")
    loaded = session.info.setdefault(LOADED_TABLES, [])
    if table.name not in loaded:
        loaded.append(table.name)
    if dialect == "postgresql":
        columns = _with_sequence_ids(connection, table, columns, count)
    names = list(columns)
    quoted = ", ".join(f'"{n}"' for n in names)
    raw = connection.connection.driver_connection
    if dialect == "postgresql":
        _copy(raw, f'COPY "{table.name}" ({quoted}) FROM STDIN', [columns[n] for n in names])
    else:
        statement = f'INSERT INTO "{table.name}" ({quoted}) VALUES '
        _insert_many(raw, statement, [columns[n] for n in names])
    return count


def _with_sequence_ids(
    connection: Connection,
    table: Table,
    columns: Mapping[str, Sequence[Any] | np.ndarray],
    count: int,
) -> Mapping[str, Sequence[Any] | np.ndarray]:
    """The columns and, when they leave out the integer key a sequence fills (order_items.id),
    that key: `count` ids drawn from the sequence in one call, so COPY does not call nextval()
    per row (a third of loading order items). The table is locked against inserts first, so
    no one else draws from its sequence in between."""
    key = table.autoincrement_column
    if key is None or key.name in columns:
        return columns
    sequence = connection.exec_driver_sql(
        "SELECT pg_get_serial_sequence(%(table)s, %(column)s)",
        {"table": f'"{table.name}"', "column": key.name},
    ).scalar()
    if sequence is None:
        return columns
    connection.exec_driver_sql(f'LOCK TABLE "{table.name}" IN SHARE ROW EXCLUSIVE MODE')
    last = connection.exec_driver_sql(
        "SELECT setval(%(sequence)s, nextval(%(sequence)s) + %(count)s - 1)",
        {"sequence": sequence, "count": count},
    ).scalar()
    return {key.name: np.arange(last - count + 1, last + 1), **columns}


def _copy(raw: Any, statement: str, columns: list[Sequence[Any] | np.ndarray]) -> None:
    """COPY in text format, its lines joined in C (`str.join`) rather than formatted value by
    value (`Copy.write_row`), which was 3-4 times slower. Batch by batch, so the server parses
    one while the next is made."""
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for start in range(0, len(columns[0]), COPY_BATCH):
            batch = [copy_text_values(column[start : start + COPY_BATCH]) for column in columns]
            copy.write("\n".join(map("\t".join, zip(*batch, strict=True))) + "\n")


def _same_value(values: list[Any]) -> bool:
    """Whether every value is the first one, a str or None (a workspace id on every row)."""
    first = values[0]
    return (first is None or isinstance(first, str)) and values.count(first) == len(values)


def _insert_many(raw: Any, statement: str, columns: list[Sequence[Any] | np.ndarray]) -> None:
    """`executemany` of INSERTs of many rows each, so the sqlite3 driver's cost per statement
    (reset, step, the GIL released and taken) is paid once per hundred-odd rows, not per row.
    A column with one text (or NULL) on every row is bound once per statement (`?1` in each
    row), which saves a quarter of the binding on a typical table."""
    values = [sqlite_values(column) for column in columns]
    shared_at = [i for i, column in enumerate(values) if _same_value(column)][: len(values) - 1]
    varying_at = [i for i in range(len(values)) if i not in shared_at]
    shared = [values[i][0] for i in shared_at]
    per_statement = max(1, (SQLITE_MAX_PARAMETERS - len(shared)) // len(varying_at))

    def insert(rows: int) -> str:
        numbers = {i: n for n, i in enumerate(shared_at, start=1)}
        tuples = []
        for row in range(rows):
            first = len(shared) + row * len(varying_at) + 1
            numbers.update({i: first + k for k, i in enumerate(varying_at)})
            tuples.append(f"({', '.join(f'?{numbers[i]}' for i in range(len(values)))})")
        return statement + ", ".join(tuples)

    many = insert(per_statement)
    step = per_statement * len(varying_at)
    cursor = raw.cursor()
    for start in range(0, len(values[0]), SQLITE_BATCH):
        batch = [values[i][start : start + SQLITE_BATCH] for i in varying_at]
        flat = list(chain.from_iterable(zip(*batch, strict=True)))
        whole = len(flat) - len(flat) % step
        cursor.executemany(many, [shared + flat[j : j + step] for j in range(0, whole, step)])
        if whole < len(flat):
            cursor.execute(insert((len(flat) - whole) // len(varying_at)), shared + flat[whole:])
    cursor.close()
