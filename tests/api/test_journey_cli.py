"""`mcopilot journey validate|show|simulate` as a user runs them: exit 0 clean, 1 with the
problems one per line, 2 with one line on stderr for unreadable input; on SQLite and PostgreSQL
for the commands that read a workspace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from api.cli.main import app
from core.settings import get_settings
from knowledge import JOURNEYS_DIR

BLUEPRINT = str(JOURNEYS_DIR / "activation-retention.yaml")
WINBACK = str(JOURNEYS_DIR / "churn-winback.yaml")


@pytest.fixture
def cli(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    return invoke


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shop(request, monkeypatch, cli):
    """A generated workspace `shop`, scored."""
    if request.param == "postgres":
        monkeypatch.setenv("MCOPILOT_DATABASE_URL", request.getfixturevalue("postgres_url"))
    get_settings.cache_clear()
    generated = cli(
        "data", "generate", "-w", "shop", "--customers", "200", "--orders", "2000",
        "--seed", "4", "--create-workspace", "--end", "2026-11-01",
    )  # fmt: skip
    assert generated.exit_code == 0, generated.output
    scored = cli("score", "run", "-w", "shop", "--as-of", "2026-10-31")
    assert scored.exit_code == 0, scored.output
    return cli


def broken(tmp_path: Path) -> str:
    data = yaml.safe_load(Path(WINBACK).read_text(encoding="utf-8"))
    data["nodes"][1]["next"] = "remindr"
    data["nodes"][2]["chanel"] = "sms"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(path)


def test_validate_a_clean_journey(cli):
    result = cli("journey", "validate", BLUEPRINT)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "JRN-ACT-RET-001: valid (0 errors, 0 warnings)"
    as_json = cli("journey", "validate", BLUEPRINT, "--json")
    assert json.loads(as_json.stdout)["valid"] is True


def test_validate_lists_every_error_with_its_path(cli, tmp_path):
    path = broken(tmp_path)
    result = cli("journey", "validate", path)
    assert result.exit_code == 1
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("error nodes[2].chanel: unknown field 'chanel'")
    assert "did you mean 'channel'" in lines[0]
    assert lines[-1] == f"{path}: invalid (1 errors, 0 warnings)"
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    del data["nodes"][2]["chanel"]
    Path(path).write_text(yaml.safe_dump(data), encoding="utf-8")
    graph = cli("journey", "validate", path, "--json")
    assert graph.exit_code == 1
    report = json.loads(graph.stdout)
    assert [(p["code"], p["path"]) for p in report["problems"] if p["severity"] == "error"] == [
        ("dangling_next", "nodes[1].next")
    ]
    assert "did you mean 'reminder'" in report["problems"][0]["fix"]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "no file"),
        ("a: [unclosed", "not valid YAML"),
        ("", "is empty"),
    ],
)
def test_unreadable_input_exits_2_with_one_line(cli, tmp_path, content, words):
    path = tmp_path / "journey.yaml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    for command in ("validate", "show"):
        result = cli("journey", command, str(path))
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: FILE:") and words in lines[0]


def test_a_file_that_is_not_a_journey_is_exit_1_for_validate_and_2_for_show(cli, tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n", encoding="utf-8")
    assert cli("journey", "validate", str(path)).exit_code == 1
    shown = cli("journey", "show", str(path))
    assert shown.exit_code == 2 and len(shown.stderr.strip().splitlines()) == 1


def test_show_blueprint_mermaid_and_json(cli):
    text = cli("journey", "show", BLUEPRINT)
    assert text.exit_code == 0
    assert text.stdout.startswith("CUSTOMER JOURNEY BLUEPRINT — Activation → Retention")
    chart = cli("journey", "show", BLUEPRINT, "--mermaid")
    assert chart.stdout.startswith("flowchart TD\n")
    data = json.loads(cli("journey", "show", WINBACK, "--json").stdout)
    assert data["journey"]["id"] == "JRN-CHURN-WINBACK-001" and data["format"] == "blueprint"


def test_validate_against_a_workspace(shop):
    result = shop("journey", "validate", BLUEPRINT, "-w", "shop", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    unknown = [p["path"] for p in report["problems"] if p["code"] == "unknown_transition"]
    assert unknown == ["exits[0].transition_to", "exits[1].transition_to", "exits[2].transition_to"]
    missing = shop("journey", "validate", BLUEPRINT, "-w", "nope")
    assert missing.exit_code == 2 and len(missing.stderr.strip().splitlines()) == 1


def test_simulate(shop):
    result = shop("journey", "simulate", WINBACK, "-w", "shop", "--days", "21", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["start"].startswith("2026-11-01") and report["days"] == 21
    assert report["entries"] == report["matching"] - report["holdout"] > 0
    assert report["total_touches"] == sum(report["touches"].values())
    assert "recency bucket" in report["expected_conversions"]["method"]
    text = shop("journey", "simulate", WINBACK, "-w", "shop", "--as-of", "2026-11-02")
    assert text.exit_code == 0
    assert "JOURNEY SIMULATION — JRN-CHURN-WINBACK-001 v1.0, 30 days from 2026-11-02" in text.stdout
    for bad in (["--days", "0"], ["--as-of", "11/02/2026"]):
        wrong = shop("journey", "simulate", WINBACK, "-w", "shop", *bad)
        assert wrong.exit_code == 2
        assert len(wrong.stderr.strip().splitlines()) == 1
