"""The batch enrolment plan (pure): entrants decided in order as `enrol` one by one would."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.errors import InvalidInput
from journeys.enrol_plan import Entrant, Planned, after_race, check_keys, plan

AT = datetime(2026, 11, 20, 10, tzinfo=UTC)


def test_earlier_entrants_of_the_batch_count_as_enrolled_for_later_ones():
    entrants = [
        Entrant("c0", "k0", AT),
        Entrant("c0", "k0", AT),
        Entrant("c0", "k0b", AT),
        Entrant("c1", "k0", AT),
        Entrant("c2", "old", AT),
        Entrant("c3", "k3", AT),
    ]
    planned = plan(
        entrants, [f"new{i}" for i in range(6)], active={"c3": "e3"}, held={"old": "e-old"}
    )
    assert planned == [
        Planned("insert", "new0"),
        Planned("already_active", "new0"),
        Planned("already_active", "new0"),
        Planned("duplicate", "new0"),
        Planned("duplicate", "e-old"),
        Planned("already_active", "e3"),
    ]


def test_inserts_lost_to_another_transaction_become_duplicates_of_the_winner():
    planned = [
        Planned("insert", "new0"),
        Planned("already_active", "new0"),
        Planned("insert", "new2"),
        Planned("duplicate", "e9"),
    ]
    assert after_race(planned, {"new0": "theirs"}) == [
        Planned("duplicate", "theirs"),
        Planned("already_active", "theirs"),
        Planned("insert", "new2"),
        Planned("duplicate", "e9"),
    ]
    assert after_race(planned, {}) == planned


def test_a_bad_key_names_the_field_and_the_entrant():
    check_keys([Entrant("c0", "x" * 200, AT)])
    with pytest.raises(InvalidInput) as refused:
        check_keys([Entrant("c0", "k", AT), Entrant("c1", "x" * 201, AT)])
    assert refused.value.field == "trigger_key"
    assert "1 to 200 characters (entrant 1, customer c1)" in str(refused.value)
    with pytest.raises(InvalidInput, match=r"must be 1 to 200 characters$"):
        check_keys([Entrant("c0", "  ", AT)])
