"""`mcopilot journey save|activate|pause|resume|kill-switch|status` and `mcopilot worker`, invoked
as people would, with a real SMTP server."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from core.clock import utcnow
from core.db import session_scope
from core.settings import get_settings
from journeys.enrolment import enrol
from tests.api.test_approvals_cli import acme, cli, one_error_line, submit  # noqa: F401
from tests.api.test_gate_cli import smtp  # noqa: F401 - fixture
from tests.guardrails.gate_fixtures import CONTENT, add_customer


def _approved(cli, tmp_path) -> str:  # noqa: F811
    item = submit(cli, tmp_path, kind="asset", title="Spring email", content=CONTENT, findings=[])
    approved = cli(
        "approvals", "approve", item["id"], "-w", "acme", "--as", "rev1",
        "--hash", item["content_hash"],
    )  # fmt: skip
    assert approved.exit_code == 0, approved.stderr
    return item["id"]


def _journey_file(tmp_path, ref: str | None) -> str:
    asset = {"title": "Spring", **({"ref": ref} if ref else {})}
    body = {
        "id": "JRN-SPRING",
        "name": "Spring",
        "trigger": {"type": "event", "event": "Spring"},
        "start": "hello",
        "nodes": [{"id": "hello", "day": 0, "channel": "email", "asset": asset}],
    }
    path = tmp_path / "journey.yaml"
    path.write_text(yaml.safe_dump(body), encoding="utf-8")
    return str(path)


def test_store_run_pause_kill_and_resume_a_journey(cli, acme, smtp, tmp_path):  # noqa: F811
    settings = get_settings()
    with session_scope(settings) as session:
        from core import workspaces

        ws_id = workspaces.get_or_raise(session, "acme").id
    add_customer(settings, ws_id)
    rules = tmp_path / "contact.yaml"
    rules.write_text("quiet_hours: null\n", encoding="utf-8")  # the test runs at any hour
    assert cli("contact", "policy", "set", str(rules), "-w", "acme", "--as", "root").exit_code == 0

    draft = _journey_file(tmp_path, None)
    assert cli("journey", "save", draft, "-w", "acme", "--as", "mia").exit_code == 0
    refused = one_error_line(cli("journey", "activate", "JRN-SPRING", "-w", "acme", "--as", "mia"))
    assert "no approved item" in refused
    item_id = _approved(cli, tmp_path)
    changed = _journey_file(tmp_path, item_id)
    assert "other content" in one_error_line(
        cli("journey", "save", changed, "-w", "acme", "--as", "mia")
    )
    body = yaml.safe_load(Path(changed).read_text(encoding="utf-8"))
    body["version"] = "1.1"
    Path(changed).write_text(yaml.safe_dump(body), encoding="utf-8")
    assert cli("journey", "save", changed, "-w", "acme", "--as", "mia").exit_code == 0
    activated = cli("journey", "activate", "JRN-SPRING", "-w", "acme", "--as", "mia")
    assert activated.stdout.strip() == "JRN-SPRING 1.1 active", activated.stderr

    with session_scope(settings) as session:
        enrol(
            session, workspace_id=ws_id, journey_id="JRN-SPRING", customer_id="cus_gate_1",
            trigger_type="event", trigger_key="k", at=utcnow(),
        )  # fmt: skip
    assert "give a reason" in one_error_line(
        cli("journey", "pause", "JRN-SPRING", "-w", "acme", "--as", "mia", "--reason", "")
    )
    assert "only admins" in one_error_line(
        cli("journey", "kill-switch", "-w", "acme", "--as", "mia", "--reason", "regulator")
    )
    killed = cli("journey", "kill-switch", "-w", "acme", "--as", "root", "--reason", "regulator")
    assert killed.stdout.startswith("killed: JRN-SPRING"), killed.stderr
    assert cli("worker", "-w", "acme", "--once").exit_code == 0
    assert smtp.messages == []
    status = json.loads(cli("journey", "status", "-w", "acme", "--json").stdout)
    assert (status["state"], status["tasks"]) == ("killed", {"pending": 1})
    assert "only admins" in one_error_line(
        cli("journey", "resume", "JRN-SPRING", "-w", "acme", "--as", "mia")
    )
    assert cli("journey", "resume", "-w", "acme", "--as", "root").exit_code == 0
    ran = cli("worker", "-w", "acme", "--once")
    assert ran.exit_code == 0 and "sent 1" in ran.stdout, ran.stdout
    assert len(smtp.messages) == 1
    status = json.loads(cli("journey", "status", "JRN-SPRING", "-w", "acme", "--json").stdout)
    assert status["enrolments"] == {"completed": 1} and status["tasks"] == {"sent": 1}
