"""Portable SQL expressions that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, Integer
from sqlalchemy.dialects import postgresql, sqlite
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
