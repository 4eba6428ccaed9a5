"""`mcopilot policy` and `mcopilot check`, invoked as a user would."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from api.cli.main import app

SMS_OK = "Brightloop: Your April report is ready. Reply STOP to opt out"


@pytest.fixture
def cli():
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args), catch_exceptions=False)


def test_extract_apply_show_and_check(cli, tmp_path):
    docs = tmp_path / "brand"
    docs.mkdir()
    (docs / "words.md").write_text(
        "# Words\n\n## Words to avoid\n\n- cheap → affordable\n\n## Don't say\n\n"
        '- "risk-free" → "14-day free trial"\n\n## SMS\n\nInclude "Reply STOP to opt out" in '
        "every marketing SMS. Our maximum is 1 segment.\n",
        encoding="utf-8",
    )
    assert cli("workspace", "create", "acme").exit_code == 0
    assert cli("workspace", "member", "add", "ann", "--role", "admin", "-w", "acme").exit_code == 0
    add_bob = ("workspace", "member", "add", "bob", "--role", "marketer", "-w", "acme")
    assert cli(*add_bob, "--as", "ann").exit_code == 0
    out = tmp_path / "policy.yaml"
    extracted = cli("policy", "extract", str(docs), "-w", "acme", "--out", str(out))
    assert extracted.exit_code == 0, extracted.stderr
    assert "proposed 4 rules from 1 documents" in extracted.stdout
    body = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert body["avoid"][0]["source"].startswith("[Words › Words to avoid #chk_")
    refused = cli("policy", "apply", str(out), "-w", "acme", "--as", "bob")
    assert refused.exit_code == 2 and "only admins may set the policy" in refused.stderr
    applied = cli("policy", "apply", str(out), "-w", "acme", "--as", "ann")
    assert applied.exit_code == 0 and "saved policy version" in applied.stdout, applied.stderr
    shown = json.loads(cli("policy", "show", "-w", "acme", "--json").stdout)
    assert (
        shown["created_by"] == "ann"
        and shown["policy"]["banned_claims"][0]["phrase"] == "risk-free"
    )

    ok = cli("check", "-w", "acme", "--channel", "sms", "--text", SMS_OK)
    assert ok.exit_code == 0 and "passed: 0 blocking" in ok.stdout
    blocked = cli(
        "check", "-w", "acme", "--channel", "sms", "--text", "Cheap and Risk free!", "--json"
    )
    assert blocked.exit_code == 1
    result = json.loads(blocked.stdout)
    assert not result["passed"] and result["policy_version"] == shown["version"]
    assert [f["rule_id"] for f in result["findings"]] == [
        "sms.stop_text",
        "claim.risk-free",
        "avoid.cheap",
    ]
    copy = tmp_path / "email.txt"
    copy.write_text("Hi {{ name }}", encoding="utf-8")
    email = cli(
        "check",
        "-w",
        "acme",
        "--channel",
        "email",
        "--file",
        str(copy),
        "--subject",
        "Hi",
        "--var",
        "name",
    )
    assert (
        email.exit_code == 1
        and "email.unsubscribe" in email.stdout
        and "template." not in email.stdout
    )


@pytest.mark.parametrize(
    ("args", "start"),
    [
        (
            ["check", "-w", "acme", "--channel", "fax", "--text", "x"],
            "error: channel: unknown channel",
        ),
        (["check", "-w", "acme", "--channel", "sms"], "error: --text/--file:"),
        (
            ["check", "-w", "nope", "--channel", "sms", "--text", "x"],
            "error: workspace: unknown workspace",
        ),
        (
            ["policy", "show", "-w", "acme"],
            "error: workspace: workspace 'acme' has no brand policy",
        ),
        (
            ["policy", "apply", "missing.yaml", "-w", "acme", "--as", "ann"],
            "error: FILE: cannot read",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, args, start):
    cli("workspace", "create", "acme")
    result = cli(*args)
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(start), result.stderr


def test_an_invalid_policy_file_names_the_field(cli, tmp_path):
    cli("workspace", "create", "acme")
    bad = tmp_path / "bad.yaml"
    bad.write_text("max_discount:\n- {id: d.x, applies_to: x, max_percent: 150, source: m}\n")
    result = cli("policy", "apply", str(bad), "-w", "acme", "--as", "ann")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: policy.max_discount[0].max_percent:")


def test_check_verifies_the_claims_of_cited_copy(cli, tmp_path):
    docs = tmp_path / "brand"
    docs.mkdir()
    (docs / "pricing.md").write_text(
        "# Pricing\n\n## Plans\n\nThe Growth plan costs $49 per month and includes 5 seats. "
        "Annual billing saves 20% compared with monthly billing.\n",
        encoding="utf-8",
    )
    assert cli("ingest", str(docs), "-w", "acme", "--create-workspace").exit_code == 0
    from core import workspaces
    from core.db import session_scope
    from core.models import Chunk
    from core.settings import get_settings
    from retrieval.citations import citation_label

    with session_scope(get_settings()) as session:
        ws = workspaces.get_or_raise(session, "acme")
        chunk = session.query(Chunk).filter(Chunk.workspace_id == ws.id).first()
        cite = f"[{citation_label('Pricing', ['Plans'])} #{chunk.id}]"

    def check(text: str, *extra: str) -> dict:
        result = cli("check", "-w", "acme", "--channel", "in_app", "--text", text, "--json", *extra)
        assert result.exit_code in (0, 1), result.stderr
        return json.loads(result.stdout)

    supported = check(f"The Growth plan costs $49 per month {cite}.")
    assert [f for f in supported["findings"] if f["rule_id"].startswith("claim.")] == []
    wrong = check(f"The Growth plan costs $39 per month {cite}.")
    assert not wrong["passed"]
    assert "claim.unsupported_figure" in {f["rule_id"] for f in wrong["findings"]}
    uncited = check("The Growth plan costs $49 per month.", "--claims")
    assert "claim.uncited" in {f["rule_id"] for f in uncited["findings"]}
    skipped = check("The Growth plan costs $49 per month.")  # no citation, no --claims
    assert all(not f["rule_id"].startswith("claim.") for f in skipped["findings"])
