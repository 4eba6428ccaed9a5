"""The audit service on real SQLite and PostgreSQL: chained appends in the caller's transaction,
redaction before storage, workspace isolation, and a head that must verify to be extended."""

from __future__ import annotations

import itertools
import json
import stat

import pytest
from sqlalchemy import select, text

from core.db import get_engine, session_scope
from core.errors import Conflict, InvalidInput, NotFound
from core.models import AuditHead, AuditRecord
from core.settings import Settings
from guardrails.audit import service
from guardrails.audit.key import audit_key

SECRET_KEY = "sk-proj-Z9x8C7v6B5n4M3a2S1d0"


def _raw_rows(settings: Settings) -> str:
    """Every stored audit record, as the database holds it."""
    with get_engine(settings).connect() as connection:
        rows = connection.execute(text("SELECT * FROM audit_records")).all()
    return json.dumps([[str(v) for v in row] for row in rows])


def test_appends_chain_and_verify(audit_settings, new_workspace, write_records):
    workspace_id = new_workspace("acme")
    write_records(workspace_id, 4)
    with session_scope(audit_settings) as session:
        records = list(service.stream(session, workspace_id))
        report = service.verify(session, workspace_id)
        head = session.get(AuditHead, workspace_id)
    assert [r.seq for r in records] == [1, 2, 3, 4]
    assert records[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.record_hash for a, b in itertools.pairwise(records))
    assert report.intact and report.records == 4 and report.head_hash == records[-1].record_hash
    assert head is not None and (head.seq, head.record_hash) == (4, records[-1].record_hash)


def test_email_phone_and_api_keys_never_reach_the_table(audit_settings, new_workspace):
    workspace_id = new_workspace("acme")
    with session_scope(audit_settings) as session:
        record = service.append(
            session,
            workspace_id,
            actor="gate",
            action="send.email",
            inputs={
                "to": "jane.doe@example.com",
                "sms_to": "+44 20 7946 0958",
                "api_key": SECRET_KEY,
                "headers": {"Authorization": f"Bearer {SECRET_KEY}"},
                "note": f"called 415-555-2671, used key {SECRET_KEY} and password=hunter22",
            },
            decision="sent",
            result={"provider_reply": f"queued for jane.doe@example.com with {SECRET_KEY}"},
        )
    stored = _raw_rows(audit_settings)
    for leaked in ("jane.doe@example.com", "7946 0958", "415-555-2671", SECRET_KEY, "hunter22"):
        assert leaked not in stored
    assert record.inputs["to"] == "[email]" and record.inputs["api_key"] == "[secret]"
    assert "[phone]" in record.inputs["note"] and "[secret]" in record.inputs["note"]
    with session_scope(audit_settings) as session:
        assert service.verify(session, workspace_id).intact


def test_append_never_commits_so_a_rollback_leaves_nothing(audit_settings, new_workspace):
    workspace_id = new_workspace("acme")
    with pytest.raises(RuntimeError), session_scope(audit_settings) as session:
        service.append(
            session, workspace_id, actor="gate", action="send", inputs={}, decision="sent"
        )
        raise RuntimeError("the channel adapter failed")
    with session_scope(audit_settings) as session:
        assert session.scalars(select(AuditRecord)).all() == []
        assert session.get(AuditHead, workspace_id) is None
        assert service.verify(session, workspace_id).intact


def test_workspaces_have_separate_chains(audit_settings, new_workspace, write_records):
    acme, globex = new_workspace("acme"), new_workspace("globex")
    write_records(acme, 2)
    write_records(globex, 3)
    with get_engine(audit_settings).begin() as connection:
        connection.execute(
            text("UPDATE audit_records SET actor = 'mallory' WHERE workspace_id = :ws AND seq = 1"),
            {"ws": globex},
        )
    with session_scope(audit_settings) as session:
        assert [r.seq for r in service.recent(session, acme)] == [2, 1]
        assert service.verify(session, acme).intact
        globex_report = service.verify(session, globex)
    assert globex_report.problem is not None and globex_report.problem.seq == 1


def test_output_is_kept_only_as_its_hash(audit_settings, new_workspace):
    workspace_id = new_workspace("acme")
    with session_scope(audit_settings) as session:
        by_text = service.append(
            session,
            workspace_id,
            actor="gate",
            action="send",
            inputs={},
            output="Hi there, 15% off",
            decision="sent",
        )
        by_hash = service.append(
            session,
            workspace_id,
            actor="gate",
            action="send",
            inputs={},
            output_hash=by_text.output_hash,
            decision="sent",
        )
    assert by_text.output_hash == by_hash.output_hash
    assert "15% off" not in _raw_rows(audit_settings)


def test_bad_arguments_name_the_field(audit_settings, new_workspace):
    workspace_id = new_workspace("acme")
    with session_scope(audit_settings) as session:
        with pytest.raises(NotFound) as missing:
            service.append(session, "ws_nope", actor="a", action="b", inputs={}, decision="c")
        with pytest.raises(InvalidInput) as empty_actor:
            service.append(session, workspace_id, actor=" ", action="b", inputs={}, decision="c")
        with pytest.raises(InvalidInput) as bad_inputs:
            service.append(
                session, workspace_id, actor="a", action="b", inputs={"x": object()}, decision="c"
            )
    assert missing.value.field == "workspace_id"
    assert empty_actor.value.field == "actor"
    assert bad_inputs.value.field == "inputs"


def test_a_head_that_does_not_verify_is_never_extended(
    audit_settings, new_workspace, write_records
):
    workspace_id = new_workspace("acme")
    write_records(workspace_id, 2)
    with session_scope(audit_settings) as session, pytest.raises(Conflict) as caught:
        service.append(
            session,
            workspace_id,
            actor="gate",
            action="send",
            inputs={},
            decision="sent",
            key=b"another key entirely, 32 bytes!!",
        )
    assert caught.value.field == "MCOPILOT_AUDIT_HMAC_KEY"
    with session_scope(audit_settings) as session:
        assert service.verify(session, workspace_id).records == 2


def test_dev_key_is_generated_once_private_and_reused(audit_settings):
    first = audit_key(audit_settings)
    path = audit_settings.audit_key_file
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert audit_key(audit_settings) == first and len(first) == 64


def test_configured_key_wins_over_the_file(tmp_path):
    settings = Settings(data_dir=tmp_path / "d", audit_hmac_key="s" * 40)
    assert audit_key(settings) == b"s" * 40
    assert not settings.audit_key_file.exists()
