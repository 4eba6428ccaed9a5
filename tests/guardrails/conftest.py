"""Fixtures for the guardrails tests: the approval team on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from core.settings import Settings
from tests.guardrails.approval_fixtures import Team, make_team


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_settings(request, tmp_path) -> Settings:
    if request.param == "postgres":
        return Settings(
            data_dir=tmp_path / "data", database_url=request.getfixturevalue("postgres_url")
        )
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def team(db_settings: Settings) -> Team:
    return make_team(db_settings)
