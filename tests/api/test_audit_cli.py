"""`mcopilot audit verify|export|list` invoked as a user would, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from api.cli.main import app
from core import workspaces
from core.db import get_engine, session_scope
from core.settings import Settings, get_settings
from guardrails.audit import service


@pytest.fixture
def cli(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    return invoke


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def logged(request, monkeypatch) -> Settings:
    """Workspace `acme` with three audit records, in the database the CLI is pointed at."""
    if request.param == "postgres":
        monkeypatch.setenv("MCOPILOT_DATABASE_URL", request.getfixturevalue("postgres_url"))
    get_settings.cache_clear()
    settings = get_settings()
    with session_scope(settings) as session:
        workspace_id = workspaces.create(session, "acme").id
        workspaces.create(session, "empty")
    for index in range(3):
        with session_scope(settings) as session:
            service.append(
                session,
                workspace_id,
                actor="rita",
                action="asset.approve",
                inputs={"asset": f"as_{index}", "reply_to": "ann@example.com"},
                evidence_ids=[f"ch_{index}"],
                output=f"copy {index}",
                decision="approved",
            )
    return settings


def test_verify_intact_exits_zero_with_a_summary(cli, logged):
    result = cli("audit", "verify", "--workspace", "acme")
    assert result.exit_code == 0, result.output
    assert "intact, 3 records, head seq 3" in result.output
    empty = cli("audit", "verify", "--workspace", "empty", "--json")
    assert empty.exit_code == 0
    assert json.loads(empty.output)["records"] == 0


def test_verify_names_the_first_bad_record_and_exits_one(cli, logged):
    with get_engine(logged).begin() as connection:
        connection.execute(text("UPDATE audit_records SET actor = 'mallory' WHERE seq = 2"))
    result = cli("audit", "verify", "--workspace", "acme")
    assert result.exit_code == 1
    assert "TAMPERED at seq 2 (edited)" in result.output
    as_json = json.loads(cli("audit", "verify", "--workspace", "acme", "--json").output)
    assert as_json["intact"] is False and as_json["problem"]["seq"] == 2


def test_verify_catches_a_truncated_tail(cli, logged):
    with get_engine(logged).begin() as connection:
        connection.execute(text("DELETE FROM audit_records WHERE seq = 3"))
    result = cli("audit", "verify", "--workspace", "acme")
    assert result.exit_code == 1
    assert "TAMPERED at seq 3 (truncated)" in result.output


def test_export_writes_json_lines_that_carry_the_hashes(cli, logged, tmp_path):
    out = tmp_path / "exports" / "acme.jsonl"
    result = cli("audit", "export", "--workspace", "acme", "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["seq"] for r in rows] == [1, 2, 3]
    assert rows[1]["prev_hash"] == rows[0]["record_hash"]
    assert rows[0]["inputs"]["reply_to"] == "[email]"
    stdout = cli("audit", "export", "--workspace", "acme", "--since", "2000-01-01")
    assert [json.loads(line)["seq"] for line in stdout.output.splitlines()] == [1, 2, 3]
    later = cli("audit", "export", "--workspace", "acme", "--since", "2999-01-01T00:00:00Z")
    assert later.exit_code == 0 and later.output == ""


def test_list_shows_the_newest_first(cli, logged):
    result = cli("audit", "list", "--workspace", "acme", "--limit", "2", "--json")
    assert [json.loads(line)["seq"] for line in result.output.splitlines()] == [3, 2]
    table = cli("audit", "list", "--workspace", "acme")
    assert "asset.approve" in table.output and "rita" in table.output
    assert "no audit records" in cli("audit", "list", "--workspace", "empty").output


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("audit", "verify", "--workspace", "nope"), "workspace"),
        (("audit", "export", "--workspace", "acme", "--since", "last week"), "--since"),
        (("audit", "list", "--workspace", "Bad Name!"), "workspace"),
    ],
)
def test_user_errors_are_one_line_and_exit_two(cli, logged, args, field):
    result = cli(*args)
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {field}:")
    assert len(result.output.strip().splitlines()) == 1


def test_unsafe_audit_key_settings_are_refused_with_the_variable_named(cli, monkeypatch):
    monkeypatch.setenv("MCOPILOT_ENVIRONMENT", "production")
    get_settings.cache_clear()
    result = cli("audit", "verify", "--workspace", "acme")
    assert result.exit_code == 2
    assert "MCOPILOT_AUDIT_HMAC_KEY" in result.output
