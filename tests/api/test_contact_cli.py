"""`mcopilot contact`, `suppress` and `opt-out` invoked as a user would, on SQLite and
PostgreSQL: decisions with their exit codes, provenance in JSON, exit 2 with one line on bad
input."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from api.cli.main import app
from core.settings import get_settings

DAY = "--at=2026-11-20T15:00:00Z"  # 16:00 in Paris
NIGHT = "--at=2026-11-20T22:00:00Z"  # 23:00 in Paris


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def cli(request, monkeypatch, tmp_path):
    if request.param == "postgres":
        monkeypatch.setenv("MCOPILOT_DATABASE_URL", request.getfixturevalue("postgres_url"))
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    events = tmp_path / "events.jsonl"
    identify = {
        "type": "identify",
        "messageId": "m1",
        "userId": "u1",
        "traits": {"email": "ana@example.com"},
        "context": {
            "timezone": "Europe/Paris",
            "consent": {"categoryPreferences": {"email": True, "sms": True, "push": True}},
        },
        "timestamp": "2026-10-01T09:00:00Z",
    }
    bounce = {
        "type": "track",
        "messageId": "m2",
        "userId": "u1",
        "event": "Email Bounced",
        "properties": {"campaign_id": "fall"},
        "timestamp": "2026-11-01T09:00:00Z",
    }
    events.write_text(json.dumps(identify) + "\n" + json.dumps(bounce) + "\n")
    assert invoke("workspace", "create", "shop").exit_code == 0
    assert (
        invoke("workspace", "member", "add", "ann", "--role", "admin", "-w", "shop").exit_code == 0
    )
    add_max = ("workspace", "member", "add", "max", "--role", "marketer", "-w", "shop")
    assert invoke(*add_max, "--as", "ann").exit_code == 0
    loaded = invoke("data", "import", "events", str(events), "-w", "shop", "--json")
    assert loaded.exit_code == 0, loaded.output
    assert json.loads(loaded.stdout)["suppressed"] == 1  # the bounce
    return invoke


def test_check_opt_out_and_the_suppression_list(cli, tmp_path):
    allowed = cli("contact", "check", "u1", "-w", "shop", "--channel", "sms", DAY, "--json")
    assert allowed.exit_code == 0, allowed.output
    assert json.loads(allowed.stdout)["allowed"] is True

    quiet = cli("contact", "check", "u1", "-w", "shop", "--channel", "sms", NIGHT, "--json")
    assert quiet.exit_code == 1
    body = json.loads(quiet.stdout)
    assert (body["rule"], body["retry_at"]) == ("quiet_hours", "2026-11-21T07:00:00+00:00")

    bounced = cli("contact", "check", "ana@example.com", "-w", "shop", "--channel", "email", DAY)
    assert bounced.exit_code == 1
    assert (
        "blocked by suppressed" in bounced.stdout
        and "next allowed: not by waiting" in bounced.stdout
    )

    no_opt_in = cli("contact", "check", "u1", "-w", "shop", "--channel", "in_app", DAY)
    assert no_opt_in.exit_code == 1 and "no in_app opt-in on record" in no_opt_in.stdout

    out = cli(
        "opt-out", "u1", "-w", "shop", "--channel", "sms", "--source", "STOP reply", "--json",
        "--as", "max",
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["channels"] == ["sms"]
    stopped = cli("contact", "check", "u1", "-w", "shop", "--channel", "sms", DAY, "--json")
    assert stopped.exit_code == 1
    assert json.loads(stopped.stdout)["detail"].startswith("sms consent revoked by STOP reply")

    added = cli(
        "suppress", "add", "u1", "-w", "shop", "--channel", "push", "--source", "ops #4",
        "--as", "max",
    )  # fmt: skip
    assert added.exit_code == 0 and "suppressed on push (manual)" in added.stdout
    imported = cli(
        "suppress", "import", "-w", "shop", "--json", "--as", "max"
    )  # done by the data import
    assert json.loads(imported.stdout) == {"bounces": 0, "complaints": 0, "unsubscribes": 0}
    listed = cli("suppress", "list", "-w", "shop", "--json")
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert sorted((r["channel"], r["reason"]) for r in rows) == [
        ("email", "bounce"),
        ("push", "manual"),
        ("sms", "unsubscribe"),
    ]
    assert {r["user_id"] for r in rows} == {"u1"}
    lift = ("suppress", "remove", "u1", "-w", "shop", "--channel", "push", "--source", "done")
    refused = cli(*lift, "--as", "max")
    assert refused.exit_code == 2 and "only admins may lift suppressions" in refused.stderr
    removed = cli(*lift, "--as", "ann")
    assert removed.exit_code == 0 and "lifted 1 suppression of u1" in removed.stdout
    again = cli("contact", "check", "u1", "-w", "shop", "--channel", "push", DAY)
    assert again.exit_code == 0, again.output


def test_the_contact_policy_commands(cli, tmp_path):
    shown = cli("contact", "policy", "show", "-w", "shop", "--json")
    assert shown.exit_code == 0, shown.output
    body = json.loads(shown.stdout)
    assert body["rules"]["quiet_hours"]["start"] == "21:00:00"
    assert body["caps"]["per_week"]["email"] == 2
    policy = tmp_path / "contact.yaml"
    policy.write_text("quiet_hours: null\nflood_per_day: 5\n", encoding="utf-8")
    assert cli("contact", "policy", "set", str(policy), "-w", "shop", "--as", "ann").exit_code == 0
    night = cli("contact", "check", "u1", "-w", "shop", "--channel", "sms", NIGHT)
    assert night.exit_code == 0, night.output
    text = cli("contact", "policy", "show", "-w", "shop")
    assert "quiet hours: none" in text.stdout and "flood limit: 5" in text.stdout
    assert cli("contact", "policy", "reset", "-w", "shop", "--as", "ann").exit_code == 0
    assert cli("contact", "check", "u1", "-w", "shop", "--channel", "sms", NIGHT).exit_code == 1


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("contact", "check", "u1", "--channel", "fax"), "channel"),
        (("contact", "check", "u1", "--channel", "sms", "--at", "tomorrow"), "--at"),
        (("contact", "check", "nobody", "--channel", "sms"), "CUSTOMER"),
        (("opt-out", "u1", "--channel", "sms", "--source", " ", "--as", "max"), "source"),
        (("suppress", "add", "u1", "--reason", "bored", "--source", "x", "--as", "max"), "reason"),
        (("suppress", "add", "u1", "--source", "x", "--as", "ghost"), "--as"),
        (("suppress", "list", "--limit", "0"), "--limit"),
    ],
)
def test_bad_input_exits_2_with_one_line_naming_the_field(cli, args, field):
    result = cli(*args, "-w", "shop")
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {field}"), lines


def test_a_policy_file_that_names_caps_is_refused(cli, tmp_path):
    policy = tmp_path / "contact.yaml"
    policy.write_text("caps: {total_per_week: 2}\n", encoding="utf-8")
    result = cli("contact", "policy", "set", str(policy), "-w", "shop", "--as", "ann")
    assert result.exit_code == 2
    assert "contact_policy.caps" in result.stderr and "mcopilot actions set" in result.stderr
