"""`mcopilot gate status|pause|resume|send`, invoked as people would, with a real SMTP server."""

from __future__ import annotations

import json

import pytest

from core.db import session_scope
from core.settings import get_settings
from tests.api.test_approvals_cli import acme, cli, submit  # noqa: F401 - fixtures
from tests.fixtures.smtp import smtp_server
from tests.guardrails.gate_fixtures import CONTENT, EMAIL, add_customer


@pytest.fixture
def smtp(monkeypatch):
    with smtp_server() as (inbox, port):
        monkeypatch.setenv("MCOPILOT_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("MCOPILOT_SMTP_PORT", str(port))
        get_settings.cache_clear()
        yield inbox


def _approved_asset(cli, tmp_path) -> str:  # noqa: F811
    item = submit(cli, tmp_path, kind="asset", title="Spring email", content=CONTENT, findings=[])
    approved = cli(
        "approvals", "approve", item["id"], "-w", "acme", "--as", "rev1",
        "--hash", item["content_hash"],
    )  # fmt: skip
    assert approved.exit_code == 0, approved.stderr
    return item["id"]


def test_send_pause_resume_and_status(cli, acme, smtp, tmp_path):  # noqa: F811
    settings = get_settings()
    with session_scope(settings) as session:
        from core import workspaces

        ws_id = workspaces.get_or_raise(session, "acme").id
    add_customer(settings, ws_id)
    item_id = _approved_asset(cli, tmp_path)
    rules = tmp_path / "contact.yaml"
    rules.write_text("quiet_hours: null\n", encoding="utf-8")  # the test runs at any hour
    assert cli("contact", "policy", "set", str(rules), "-w", "acme", "--as", "root").exit_code == 0

    paused = cli("gate", "pause", "-w", "acme", "--as", "root", "--reason", "incident 42")
    assert paused.exit_code == 0, paused.stderr
    status = json.loads(cli("gate", "status", "-w", "acme", "--json").stdout)
    assert status["paused"] and status["reason"] == "incident 42"
    blocked = cli("gate", "send", item_id, EMAIL, "-w", "acme", "--as", "mia", "--json")
    assert blocked.exit_code == 1
    assert json.loads(blocked.stdout)["rule"] == "kill_switch"

    refused = cli("gate", "resume", "-w", "acme", "--as", "mia")
    assert refused.exit_code == 2 and "only admins may pause or resume" in refused.stderr
    assert cli("gate", "resume", "-w", "acme", "--as", "root").exit_code == 0
    sent = cli("gate", "send", item_id, EMAIL, "-w", "acme", "--as", "mia")
    assert sent.exit_code == 0 and sent.stdout.startswith("executed"), sent.stdout
    again = cli("gate", "send", item_id, EMAIL, "-w", "acme", "--as", "mia")
    assert again.exit_code == 1 and again.stdout.startswith("duplicate")
    assert [m["Subject"] for m in smtp.messages] == [CONTENT["subject"]]
    status = json.loads(cli("gate", "status", "-w", "acme", "--json").stdout)
    assert (status["paused"], status["executions"], status["outbox_unpublished"]) == (False, 1, 1)
    verified = cli("audit", "verify", "-w", "acme")
    assert verified.exit_code == 0, verified.stdout


def test_bad_send_input_is_one_line_and_exit_2(cli, acme, smtp, tmp_path):  # noqa: F811
    item_id = _approved_asset(cli, tmp_path)
    for args, start in (
        (("gate", "send", item_id, "nobody", "-w", "acme", "--as", "mia"), "error: CUSTOMER"),
        (("gate", "send", "apr_0000000000000000", "x", "-w", "acme", "--as", "mia"), "error: ITEM"),
        (("gate", "send", item_id, "x", "-w", "acme", "--as", "ghost"), "error: --as"),
        (("gate", "pause", "-w", "acme", "--as", "root", "--reason", ""), "error: --reason"),
    ):
        result = cli(*args)
        assert result.exit_code == 2, (args, result.stdout)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith(start), (args, result.stderr)
