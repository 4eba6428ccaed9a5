"""Tampering with the real database rows, on SQLite and PostgreSQL: verify names each one."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from core.db import get_engine, session_scope
from guardrails.audit import service

COUNT = 6


@pytest.fixture
def tamper(audit_settings, new_workspace, write_records):
    """A workspace with six records, and a way to run SQL against them as an intruder would."""
    workspace_id = new_workspace("acme")
    write_records(workspace_id, COUNT)

    def run(*statements: str) -> tuple[int, str]:
        with get_engine(audit_settings).begin() as connection:
            for statement in statements:
                connection.execute(text(statement), {"ws": workspace_id})
        with session_scope(audit_settings) as session:
            report = service.verify(session, workspace_id)
        assert report.problem is not None, "tampering went unnoticed"
        return report.problem.seq, report.problem.kind

    return run


def test_untouched_log_verifies(audit_settings, new_workspace, write_records):
    workspace_id = new_workspace("clean")
    write_records(workspace_id, 3)
    with session_scope(audit_settings) as session:
        assert service.verify(session, workspace_id).intact


def test_update_of_a_field(tamper):
    sql = "UPDATE audit_records SET decision = 'rejected' WHERE workspace_id = :ws AND seq = 3"
    assert tamper(sql) == (3, "edited")


def test_update_inside_the_json_inputs(tamper):
    sql = (
        'UPDATE audit_records SET inputs = \'{"asset": "as_9", "channel": "email"}\' '
        "WHERE workspace_id = :ws AND seq = 2"
    )
    assert tamper(sql) == (2, "edited")


def test_delete_in_the_middle(tamper):
    assert tamper("DELETE FROM audit_records WHERE workspace_id = :ws AND seq = 4") == (
        4,
        "missing",
    )


def test_swap_two_seqs(tamper):
    assert tamper(
        "UPDATE audit_records SET seq = -1 WHERE workspace_id = :ws AND seq = 2",
        "UPDATE audit_records SET seq = 2 WHERE workspace_id = :ws AND seq = 3",
        "UPDATE audit_records SET seq = 3 WHERE workspace_id = :ws AND seq = -1",
    ) == (2, "edited")


def test_delete_the_tail(tamper):
    assert tamper("DELETE FROM audit_records WHERE workspace_id = :ws AND seq > 4") == (
        5,
        "truncated",
    )


def test_delete_the_tail_and_move_the_head_back(tamper):
    assert tamper(
        "DELETE FROM audit_records WHERE workspace_id = :ws AND seq > 4",
        "UPDATE audit_heads SET seq = 4, record_hash = (SELECT record_hash FROM audit_records "
        "WHERE workspace_id = :ws AND seq = 4) WHERE workspace_id = :ws",
    ) == (4, "anchor_forged")


def test_delete_the_head_row(tamper):
    assert tamper("DELETE FROM audit_heads WHERE workspace_id = :ws") == (COUNT, "anchor_missing")


def test_delete_everything_but_the_head(tamper):
    assert tamper("DELETE FROM audit_records WHERE workspace_id = :ws") == (1, "truncated")


def test_insert_a_record_around_the_service(tamper):
    assert tamper(
        "INSERT INTO audit_records (workspace_id, seq, prev_hash, record_hash, actor, action, "
        "inputs, evidence_ids, prompt_version, model_tier, output_hash, decision, result, "
        "created_at) SELECT workspace_id, seq + 1, record_hash, record_hash, 'mallory', action, "
        "inputs, evidence_ids, prompt_version, model_tier, output_hash, decision, result, "
        "created_at FROM audit_records WHERE workspace_id = :ws AND seq = 6"
    ) == (7, "unanchored")
