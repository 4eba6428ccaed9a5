"""Concurrent writers never fork a workspace's chain: real connections, real threads."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from core import workspaces
from core.db import session_scope
from core.models import AuditRecord
from core.settings import Settings, get_settings
from guardrails.audit import service

WRITERS = 8
APPENDS_EACH = 6


def _race(settings, workspace_id: str) -> list[BaseException]:
    """WRITERS threads, each with its own connection, start together and append at once."""
    barrier = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            barrier.wait(timeout=30)
            for index in range(APPENDS_EACH):
                with session_scope(settings) as session:
                    service.append(
                        session,
                        workspace_id,
                        actor=f"writer-{number}",
                        action="send",
                        inputs={"index": index},
                        decision="sent",
                    )
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def _settings_for(database_url: str | None, monkeypatch) -> Settings:
    if database_url:
        monkeypatch.setenv("MCOPILOT_DATABASE_URL", database_url)
    get_settings.cache_clear()
    return get_settings()


def _workspace(settings: Settings) -> str:
    with session_scope(settings) as session:
        return workspaces.create(session, "race").id


@pytest.mark.postgres
def test_concurrent_appends_on_postgres_form_one_chain(postgres_url, monkeypatch):
    settings = _settings_for(postgres_url, monkeypatch)
    _assert_one_chain(settings, _workspace(settings))


def test_concurrent_appends_on_sqlite_form_one_chain(monkeypatch):
    settings = _settings_for(None, monkeypatch)
    _assert_one_chain(settings, _workspace(settings))


def _assert_one_chain(settings, workspace_id: str) -> None:
    # The very first appends race too: the head row is created by whichever writer is first.
    errors = _race(settings, workspace_id)
    assert errors == []
    with session_scope(settings) as session:
        seqs = session.scalars(
            select(AuditRecord.seq)
            .where(AuditRecord.workspace_id == workspace_id)
            .order_by(AuditRecord.seq)
        ).all()
        report = service.verify(session, workspace_id)
    assert seqs == list(range(1, WRITERS * APPENDS_EACH + 1))
    assert report.intact, report.problem
    assert report.records == WRITERS * APPENDS_EACH


@pytest.mark.postgres
def test_verify_while_appends_commit_never_raises_a_false_alarm(postgres_url, monkeypatch):
    settings = _settings_for(postgres_url, monkeypatch)
    workspace_id = _workspace(settings)
    done = threading.Event()
    reports = []

    def verifier() -> None:
        while not done.is_set():
            with session_scope(settings) as session:
                reports.append(service.verify(session, workspace_id))

    thread = threading.Thread(target=verifier)
    thread.start()
    try:
        errors = _race(settings, workspace_id)
    finally:
        done.set()
        thread.join(timeout=60)
    assert errors == []
    assert len(reports) > 1
    assert [r.problem for r in reports if not r.intact] == []
