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
