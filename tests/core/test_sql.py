"""The portable day-text expression gives the same UTC day on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import literal, select

from core.db import session_scope
from core.models.base import UTCDateTime
from core.settings import Settings
from core.sql import utc_day


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request, tmp_path) -> Settings:
    if request.param == "sqlite":
        return Settings(data_dir=tmp_path / "data")
    return Settings(
        data_dir=tmp_path / "data", database_url=request.getfixturevalue("postgres_url")
    )


def test_utc_day(backend):
    late = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    paris = datetime(2026, 11, 21, 0, 30, tzinfo=timezone(timedelta(hours=1)))  # 23:30 UTC
    stamp = literal(late, UTCDateTime())
    with session_scope(backend) as session:
        row = session.execute(
            select(
                utc_day(stamp),
                utc_day(stamp, 1800),
                utc_day(stamp, -86_400),
                utc_day(stamp, 45 * 86_400),
                utc_day(literal(paris, UTCDateTime())),
            )
        ).one()
    assert tuple(row) == (
        "2026-11-20",
        "2026-11-21",
        "2026-11-19",
        "2027-01-04",
        "2026-11-20",
    )
