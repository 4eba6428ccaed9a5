"""`mcopilot score run`, `nba`, `recommend` and `actions` invoked as a user would, on SQLite and
PostgreSQL: output, JSON, and exit 2 with one line on bad input."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from api.cli.main import app
from core.settings import get_settings

AS_OF = "2026-10-31"


@pytest.fixture
def cli(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    return invoke


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shop(request, monkeypatch, cli):
    """A generated workspace `shop` with the seed segments, scored as of AS_OF."""
    if request.param == "postgres":
        monkeypatch.setenv("MCOPILOT_DATABASE_URL", request.getfixturevalue("postgres_url"))
    get_settings.cache_clear()
    generated = cli(
        "data", "generate", "-w", "shop", "--customers", "400", "--orders", "6000",
        "--seed", "4", "--create-workspace",
    )  # fmt: skip
    assert generated.exit_code == 0, generated.output
    return cli


def test_score_run_nba_and_recommend(shop):
    first = shop("score", "run", "-w", "shop", "--as-of", AS_OF, "--json")
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert report["customers"] == 400 and sum(report["lifecycle"].values()) == 400
    assert report["segments"] == []
    assert set(report["seconds"]) >= {"rfm", "features", "lifecycle", "segments"}

    seeded = shop("segment", "seed", "-w", "shop")
    assert seeded.exit_code == 0, seeded.output
    again = shop("score", "run", "-w", "shop", "--as-of", AS_OF)
    assert again.exit_code == 0, again.output
    assert "scored 400 customers as of 2026-10-31" in again.stdout
    assert "VIP:" in again.stdout and "at_risk" in again.stdout

    decided = shop("nba", "C0000001", "-w", "shop", "--json")
    assert decided.exit_code == 0, decided.output
    decision = json.loads(decided.stdout)
    assert decision["customer_id"] == "C0000001" and len(decision["actions"]) <= 3
    assert all(a["rationale"].startswith("Because ") for a in decision["actions"])
    assert {b["constraint"] for b in decision["blocked"]} <= {
        "consent", "suppressed", "ineligible", "cooldown", "high_value_cooldown",
        "cap_day", "cap_week", "cap_total", "blackout", "channel_down",
    }  # fmt: skip
    printed = shop("nba", "customer1@example.com", "-w", "shop")
    assert printed.exit_code == 0 and "Next best action for C0000001" in printed.stdout

    shown = shop("score", "show", "C0000001", "-w", "shop", "--json")
    assert shown.exit_code == 0, shown.output
    scores = json.loads(shown.stdout)
    assert scores["user_id"] == "C0000001" and scores["rfm"]["as_of"] == AS_OF
    assert (
        scores["stage"] == decision["stage"] and scores["history"][-1]["stage"] == scores["stage"]
    )
    assert scores["propensities"]["churn_risk"] == pytest.approx(decision["churn_risk"])
    assert scores["propensities"]["churn_reasons"], "every score carries reason codes"
    assert "lifecycle:" in shop("score", "show", "C0000001", "-w", "shop").stdout

    recommended = shop("recommend", "C0000001", "-w", "shop", "--json", "-k", "3")
    assert recommended.exit_code == 0, recommended.output
    items = json.loads(recommended.stdout)["items"]
    assert 1 <= len(items) <= 3 and all(item["why"] for item in items)


def test_actions_inventory_commands(shop, tmp_path):
    listed = shop("actions", "list", "-w", "shop", "--json")
    assert listed.exit_code == 0, listed.output
    assert len(json.loads(listed.stdout)["actions"]) == 12
    custom = tmp_path / "actions.yaml"
    custom.write_text(
        "actions:\n"
        "  - {id: push-hi, title: Hi, channel: push, type: push, goal: retain, value: 1}\n",
        encoding="utf-8",
    )
    assert shop("actions", "set", str(custom), "-w", "shop").exit_code == 0
    assert json.loads(shop("actions", "list", "-w", "shop", "--json").stdout)["actions"][0][
        "id"
    ] == ("push-hi")
    assert "12 actions" in shop("actions", "reset", "-w", "shop").stdout


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("nba", "nobody", "-w", "shop"), "CUSTOMER"),
        (("nba", "C0000001", "-w", "nowhere"), "workspace"),
        (("recommend", "C0000001", "-w", "shop", "--product", "NOPE"), "--product"),
        (("recommend", "C0000001", "-w", "shop", "-k", "0"), "--k"),
        (("score", "run", "-w", "shop", "--as-of", "31/10/2026"), "--as-of"),
        (("score", "run", "-w", "shop", "--weights", "4,3"), "--weights"),
        (("score", "run", "-w", "shop", "--lifecycle", "/nonexistent.yaml"), "--lifecycle"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(shop, args, field):
    result = shop(*args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {field}"), lines


def test_a_bad_inventory_file_names_the_field(shop, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "actions:\n  - {id: x1, title: X, channel: fax, type: sms, goal: retain, value: 1}\n"
    )
    result = shop("actions", "set", str(bad), "-w", "shop")
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error: inventory.actions[0].channel:")
