"""Portable SQL expressions that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    Integer,
    Numeric,
    String,
    Table,
    any_,
    func,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class whole_days_between(FunctionElement[int]):  # noqa: N801 - reads as SQL
    """Calendar days from the UTC date of a timestamp to a date: `day - date(timestamp)`."""

    type = Integer()
    inherit_cache = True
    name = "whole_days_between"

    def __init__(self, day: ColumnElement[Any], timestamp: ColumnElement[Any]) -> None:
        super().__init__(day, timestamp)


@compiles(whole_days_between, "sqlite")
def _days_sqlite(element: whole_days_between, compiler: Any, **kw: Any) -> str:
    day, timestamp = list(element.clauses)
    return (
        f"CAST(julianday({compiler.process(day, **kw)}) - "
        f"julianday(date({compiler.process(timestamp, **kw)})) AS INTEGER)"
    )


@compiles(whole_days_between, "postgresql")
def _days_postgres(element: whole_days_between, compiler: Any, **kw: Any) -> str:
    day, timestamp = list(element.clauses)
    return (
        f"(CAST({compiler.process(day, **kw)} AS DATE) - "
        f"CAST(({compiler.process(timestamp, **kw)}) AT TIME ZONE 'UTC' AS DATE))"
    )


class days_between_dates(FunctionElement[int]):  # noqa: N801 - reads as SQL
    """Calendar days from one DATE column to a later one: `later - earlier`."""

    type = Integer()
    inherit_cache = True
    name = "days_between_dates"

    def __init__(self, later: ColumnElement[Any], earlier: ColumnElement[Any]) -> None:
        super().__init__(later, earlier)


@compiles(days_between_dates, "sqlite")
def _date_days_sqlite(element: days_between_dates, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return (
        f"CAST(julianday({compiler.process(later, **kw)}) - "
        f"julianday({compiler.process(earlier, **kw)}) AS INTEGER)"
    )


@compiles(days_between_dates, "postgresql")
def _date_days_postgres(element: days_between_dates, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return (
        f"(CAST({compiler.process(later, **kw)} AS DATE) - "
        f"CAST({compiler.process(earlier, **kw)} AS DATE))"
    )


def dialect_insert(session: Session) -> Any:
    """The `insert` of the session's dialect, which has `on_conflict_do_nothing/update`."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def among(
    session: Session, column: ColumnElement[Any], values: Sequence[Any], *, chunk: int = 500
) -> list[ColumnElement[bool]]:
    """`column IN values` as conditions for queries to run one after another and combine.

    On PostgreSQL one, with the values as one array parameter (`column = ANY(:values)`):
    psycopg converts every placeholder of an expanded IN (...) in Python, 10-20 ms per 500.
    On SQLite one per `chunk` values (the lowest parameter limit of any build is 999)."""
    unique = sorted(set(values))
    if session.get_bind().dialect.name == "postgresql":
        return [column == any_(literal(unique, ARRAY(column.type)))]
    return [column.in_(unique[start : start + chunk]) for start in range(0, len(unique), chunk)]


def insert_rows(
    session: Session, table: Table, rows: Sequence[Mapping[str, Any]]
) -> tuple[Any, list[Mapping[str, Any]] | None]:
    """(statement, parameters) that insert `rows` (dicts with the same keys) when executed
    together; the statement is the dialect's insert, so `on_conflict_do_nothing` and
    `returning` apply, and the rows go in in the order given.

    For an INSERT with RETURNING. On PostgreSQL one statement with one array parameter per
    column, `INSERT ... SELECT * FROM unnest(:column_1, ...)`: an executemany with RETURNING
    (SQLAlchemy sends multi-row VALUES, a placeholder per value) made psycopg convert every
    placeholder in Python, some 0.1 ms a row, more than the server's work; 3,000 trigger
    firings took 0.35 s, now 0.06 s. Without RETURNING a plain executemany is as fast (psycopg
    pipelines it). Elsewhere an executemany of the rows (SQLite runs it in C)."""
    insert = dialect_insert(session)
    if session.get_bind().dialect.name != "postgresql" or not rows:
        return insert(table), list(rows)
    names = list(rows[0])
    source = (
        func.unnest(
            *(literal([row[name] for row in rows], ARRAY(table.c[name].type)) for name in names)
        )
        .table_valued(*names)
        .render_derived()
    )
    return insert(table).from_select(names, select(*(source.c[name] for name in names))), None


class utc_day(FunctionElement[str]):  # noqa: N801 - reads as SQL
    """The UTC calendar day of `timestamp + seconds`, as text `YYYY-MM-DD` (for keys)."""

    type = String()
    inherit_cache = False  # `seconds` is compiled into the text, not a bound parameter
    name = "utc_day"

    def __init__(self, timestamp: ColumnElement[Any], seconds: int = 0) -> None:
        self.seconds = int(seconds)
        super().__init__(timestamp)


@compiles(utc_day, "sqlite")
def _utc_day_sqlite(element: utc_day, compiler: Any, **kw: Any) -> str:
    (timestamp,) = list(element.clauses)
    return f"date({compiler.process(timestamp, **kw)}, '{element.seconds:+d} seconds')"


@compiles(utc_day, "postgresql")
def _utc_day_postgres(element: utc_day, compiler: Any, **kw: Any) -> str:
    (timestamp,) = list(element.clauses)
    return (
        f"to_char(({compiler.process(timestamp, **kw)}) AT TIME ZONE 'UTC' "
        f"+ interval '{element.seconds:d} seconds', 'YYYY-MM-DD')"
    )


class _trait(FunctionElement[Any]):  # noqa: N801 - reads as SQL
    """A value of a JSON object column by key, read only when it has one JSON type.

    The key is a bound parameter; the SQL reads it with json_type/json_extract on SQLite and
    json_typeof/->> on PostgreSQL, and gives NULL when the key is missing, is JSON null, or
    holds another type (so a cast never fails on text that is not a number).
    """

    inherit_cache = True

    def __init__(self, column: ColumnElement[Any], key: str) -> None:
        super().__init__(column, literal(key, String()))


class trait_number(_trait):  # noqa: N801 - reads as SQL
    type = Numeric(asdecimal=False)
    name = "trait_number"
    inherit_cache = True


class trait_text(_trait):  # noqa: N801 - reads as SQL
    type = String()
    name = "trait_text"
    inherit_cache = True


class trait_bool(_trait):  # noqa: N801 - reads as SQL
    type = Boolean()
    name = "trait_bool"
    inherit_cache = True


class trait_present(_trait):  # noqa: N801 - reads as SQL
    """1 when the key holds a non-null value, else NULL."""

    type = Integer()
    name = "trait_present"
    inherit_cache = True


_SQLITE_TRAIT = {
    "trait_number": "CASE WHEN json_type({c}, {p}) IN ('integer', 'real') "
    "THEN json_extract({c}, {p}) END",
    "trait_text": "CASE WHEN json_type({c}, {p}) = 'text' THEN json_extract({c}, {p}) END",
    "trait_bool": "CASE json_type({c}, {p}) WHEN 'true' THEN 1 WHEN 'false' THEN 0 END",
    "trait_present": "CASE WHEN json_type({c}, {p}) <> 'null' THEN 1 END",
}
_POSTGRES_TRAIT = {
    "trait_number": "CASE WHEN json_typeof({c} -> {k}) = 'number' "
    "THEN CAST({c} ->> {k} AS NUMERIC) END",
    "trait_text": "CASE WHEN json_typeof({c} -> {k}) = 'string' THEN {c} ->> {k} END",
    "trait_bool": "CASE WHEN json_typeof({c} -> {k}) = 'boolean' "
    "THEN CAST({c} ->> {k} AS BOOLEAN) END",
    "trait_present": "CASE WHEN json_typeof({c} -> {k}) <> 'null' THEN 1 END",
}


@compiles(_trait, "sqlite")
def _trait_sqlite(element: _trait, compiler: Any, **kw: Any) -> str:
    column, key = list(element.clauses)
    c = compiler.process(column, **kw)
    path = f"('$.' || {compiler.process(key, **kw)})"
    return f"({_SQLITE_TRAIT[element.name].format(c=c, p=path)})"


@compiles(_trait, "postgresql")
def _trait_postgres(element: _trait, compiler: Any, **kw: Any) -> str:
    column, key = list(element.clauses)
    c = f"CAST({compiler.process(column, **kw)} AS JSON)"
    k = f"CAST({compiler.process(key, **kw)} AS TEXT)"
    return f"({_POSTGRES_TRAIT[element.name].format(c=c, k=k)})"


class seconds_between(FunctionElement[float]):  # noqa: N801 - reads as SQL
    """Seconds from one timestamp to a later one: `later - earlier` (negative if earlier is
    later), for windows between two columns ("an order within 14 days of the send")."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"

    def __init__(self, later: ColumnElement[Any], earlier: ColumnElement[Any]) -> None:
        super().__init__(later, earlier)


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return (
        f"((julianday({compiler.process(later, **kw)}) - "
        f"julianday({compiler.process(earlier, **kw)})) * 86400.0)"
    )


@compiles(seconds_between, "postgresql")
def _seconds_postgres(element: seconds_between, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return (
        f"EXTRACT(EPOCH FROM ({compiler.process(later, **kw)} - {compiler.process(earlier, **kw)}))"
    )
