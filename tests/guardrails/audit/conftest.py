"""Fixtures for the audit log: a workspace in SQLite or PostgreSQL, and records written to it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core import workspaces
from core.db import session_scope
from core.settings import Settings, get_settings
from guardrails.audit import service


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def audit_settings(request, monkeypatch) -> Settings:
    """Settings pointing at a fresh database of either dialect (the same ones the CLI reads)."""
    if request.param == "postgres":
        monkeypatch.setenv("MCOPILOT_DATABASE_URL", request.getfixturevalue("postgres_url"))
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture
def new_workspace(audit_settings: Settings) -> Callable[[str], str]:
    def create(slug: str) -> str:
        with session_scope(audit_settings) as session:
            return workspaces.create(session, slug).id

    return create


@pytest.fixture
def write_records(audit_settings: Settings) -> Callable[[str, int], None]:
    """Append `count` ordinary records to a workspace, one transaction each."""

    def write(workspace_id: str, count: int) -> None:
        for index in range(count):
            with session_scope(audit_settings) as session:
                service.append(
                    session,
                    workspace_id,
                    actor="rita.reviewer",
                    action="asset.approve",
                    inputs={"asset": f"as_{index}", "channel": "email"},
                    evidence_ids=[f"ch_{index:04d}"],
                    prompt_version="p1",
                    model_tier="offline",
                    output=f"Subject {index}",
                    decision="approved",
                    result={"state": "approved"},
                )

    return write
