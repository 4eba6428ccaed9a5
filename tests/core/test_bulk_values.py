"""Bulk values: timestamps as SQLAlchemy writes them, COPY text escaped as PostgreSQL reads it."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy.dialects import sqlite

from core.bulk_values import COPY_NULL, copy_text_values, sqlite_values, timestamp_text


def test_timestamps_are_written_as_sqlalchemy_writes_them_on_sqlite():
    rng = np.random.default_rng(3)
    micros = rng.integers(-10 * 365 * 86_400_000_000, 60 * 365 * 86_400_000_000, 5000)
    values = np.datetime64("1970-01-01", "us") + micros * np.timedelta64(1, "us")
    write = sqlite.DATETIME().bind_processor(sqlite.dialect())
    expected = [write(v.item()) for v in values]
    assert timestamp_text(values) == expected
    assert sqlite_values(values.astype("datetime64[s]")) == [
        write(v.item()) for v in values.astype("datetime64[s]").astype("datetime64[us]")
    ]


def test_missing_and_unusual_timestamps():
    values = np.array(
        ["1969-12-31T23:59:59.999999", "NaT", "0001-01-01T00:00:00.000001", "9999-12-31T23:59:59"],
        dtype="datetime64[us]",
    )
    assert timestamp_text(values, "+00", missing="-") == [
        "1969-12-31 23:59:59.999999+00",
        "-",
        "0001-01-01 00:00:00.000001+00",
        "9999-12-31 23:59:59.000000+00",
    ]
    assert timestamp_text(values[:0]) == []
    with pytest.raises(ValueError, match="years 0 to 9999"):
        timestamp_text(np.array(["10000-01-01"], dtype="datetime64[D]"))


def test_copy_text_escapes_what_the_format_reserves_and_marks_nulls():
    assert copy_text_values(["tab\there", "new\nline", "back\\slash", "cr\r", "plain"]) == [
        "tab\\there",
        "new\\nline",
        "back\\\\slash",
        "cr\\r",
        "plain",
    ]
    assert copy_text_values([None, True, False, 2, 1.5, {"a": "x\ny"}, "s"]) == [
        COPY_NULL,
        "t",
        "f",
        "2",
        "1.5",
        '{"a": "x\\\\ny"}',
        "s",
    ]
    assert copy_text_values(["ws_1"] * 3) == ["ws_1"] * 3
    assert copy_text_values(np.array(["a\tb", "c"])) == ["a\\tb", "c"]
    when = np.array(["2026-01-02T03:04:05", "NaT"], dtype="datetime64[s]")
    assert copy_text_values(when) == ["2026-01-02 03:04:05.000000+00", COPY_NULL]


@pytest.mark.parametrize(
    "values",
    [
        np.array([2999, 999, 2999, 12999, 999]),  # a small range: through the table
        np.array([-5, 3, -5, 2, 0]),
        np.array([1, 10**12, 7]),  # a wide range: one str each
        np.array([0, 2**63], dtype=np.uint64),
    ],
)
def test_integers_as_copy_text(values):
    assert copy_text_values(values) == [str(v) for v in values.tolist()]


def test_timestamps_as_copy_text_read_back_as_the_same_instant():
    value = np.array(["2026-03-29T01:30:00.25"], dtype="datetime64[us]")
    text = copy_text_values(value)[0]
    assert datetime.fromisoformat(text) == datetime(2026, 3, 29, 1, 30, 0, 250000, tzinfo=UTC)
