"""`mcopilot segment ...` invoked as a user would: output, JSON, and exit 2 with one line."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from api.cli.main import app
from core.db import session_scope
from core.models import CustomerFeatures
from core.settings import Settings, get_settings
from tests.scoring.segment_fixtures import Builder, new_workspace


@pytest.fixture
def cli(monkeypatch):
    monkeypatch.setenv("COLUMNS", "240")
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    return invoke


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shop(request, tmp_path, monkeypatch) -> Settings:
    """Workspace `shop` with four customers, in the database the CLI is pointed at."""
    if request.param == "postgres":
        monkeypatch.setenv("MCOPILOT_DATABASE_URL", request.getfixturevalue("postgres_url"))
    get_settings.cache_clear()
    settings = get_settings()
    workspace_id = new_workspace(settings)
    with session_scope(settings) as session:
        b = Builder(session, workspace_id)
        b.customer(
            "U1",
            email="ann@example.com",
            stage="retention",
            features={"days_since_last_order": 50},
            consents={"email": "granted"},
        )
        b.customer(
            "U2",
            stage="at_risk",
            features={"days_since_last_order": 60},
            consents={"email": "revoked"},
        )
        b.customer("U3", stage="awareness", features={"days_since_last_order": 3})
        b.customer(
            "U4",
            stage="expansion",
            features={"days_since_last_order": 46},
            rfm={"r": 5, "f": 5, "m": 5},
            categories={"Hardware": True},
        )
    return settings


def one_error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


CHURN = '{"lifecycle.stage": "ACTIVE", "daysSinceLastOrder": {"gte": 45}}'


def test_create_list_members_explain_refresh_delete(cli, shop, tmp_path):
    created = cli(
        "segment",
        "create",
        "Churn Risk",
        "-w",
        "shop",
        "--criteria",
        CHURN,
        "--channel",
        "email",
        "--drift-threshold",
        "40",
        "--description",
        "win-back",
    )
    assert created.exit_code == 0, created.stderr
    assert created.stdout.strip() == (
        "created segment Churn Risk: 2 customers (of 4 active) as of 2026-10-31"
    )
    criteria_file = tmp_path / "vip.json"
    criteria_file.write_text('{"rfm.composite": {"gte": 38}}')
    vip = cli("segment", "create", "VIP", "-w", "shop", "--criteria", f"@{criteria_file}", "--json")
    assert json.loads(vip.stdout) | {"segment_id": "", "run_id": ""} == {
        "segment": "VIP",
        "segment_id": "",
        "run_id": "",
        "as_of": "2026-10-31",
        "previous_population": None,
        "population": 1,
        "entered": 1,
        "exited": 0,
        "drift_pct": None,
        "drift_alert": False,
        "threshold_pct": 20.0,
        "warnings": [],
    }

    listed = [
        json.loads(line)
        for line in cli("segment", "list", "-w", "shop", "--json").stdout.splitlines()
    ]
    assert [(s["name"], s["population"], s["channel"]) for s in listed] == [
        ("Churn Risk", 2, "email"),
        ("VIP", 1, None),
    ]
    assert listed[0]["criteria"] == json.loads(CHURN)
    table = cli("segment", "list", "-w", "shop").stdout
    assert "Churn Risk" in table and '{"rfm.composite": {"gte": 38}}' in table

    members = cli("segment", "members", "churn risk", "-w", "shop")
    assert [line.split()[0] for line in members.stdout.splitlines()[:-1]] == ["U1", "U4"]
    assert members.stdout.splitlines()[-1] == "2 of 2 members shown"
    as_json = cli("segment", "members", "Churn Risk", "-w", "shop", "--limit", "1", "--json")
    (member,) = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert member["user_id"] == "U1" and member["email"] == "ann@example.com"

    explained = cli("segment", "explain", "Churn Risk", "U2", "-w", "shop")
    assert explained.exit_code == 0, explained.stderr
    lines = explained.stdout.splitlines()
    assert lines[0].startswith("Churn Risk: customer U2 (cus_") and lines[0].endswith(" is OUT")
    assert lines[1:] == [
        "  pass  all of",
        '    pass  lifecycle.stage eq "ACTIVE"  (actual: "at_risk")',
        "    pass  daysSinceLastOrder gte 45  (actual: 60)",
        "  FAIL  consent: unsubscribed from email (consent.email is revoked)",
        "  stored membership: not a member; agrees",
    ]
    by_email = json.loads(
        cli("segment", "explain", "Churn Risk", "ann@example.com", "-w", "shop", "--json").stdout
    )
    assert by_email["in_segment"] and by_email["member"] and by_email["agrees"]
    assert [(c["label"], c["actual"], c["passed"]) for c in by_email["checks"][1:]] == [
        ('lifecycle.stage eq "ACTIVE"', "retention", True),
        ("daysSinceLastOrder gte 45", 50, True),
    ]

    with session_scope(shop) as session:  # U1 orders again, U3 and U2 fall behind
        session.execute(
            update(CustomerFeatures)
            .where(CustomerFeatures.days_since_last_order == 50)
            .values(days_since_last_order=2)
        )
    stale = cli("segment", "explain", "Churn Risk", "U1", "-w", "shop")
    assert "  stored membership: member since " in stale.stdout
    assert "DISAGREES with the live check" in stale.stdout
    refreshed = cli("segment", "refresh", "-w", "shop")
    assert refreshed.exit_code == 0, refreshed.stderr
    assert refreshed.stdout.splitlines() == [
        "Churn Risk: 1 customer (was 2; +0 entered, -1 exited) DRIFT ALERT: changed 50%, "
        "threshold 40%",
        "VIP: 1 customer (was 1; +0 entered, -0 exited), drift 0%",
    ]
    one = json.loads(cli("segment", "refresh", "VIP", "-w", "shop", "--json").stdout)
    assert (one["segment"], one["population"], one["drift_alert"]) == ("VIP", 1, False)

    deleted = cli("segment", "delete", "vip", "-w", "shop")
    assert deleted.stdout.strip() == "deleted segment VIP"
    assert len(cli("segment", "list", "-w", "shop", "--json").stdout.splitlines()) == 1


def test_preview_and_seed(cli, shop):
    preview = cli("segment", "preview", "-w", "shop", "--criteria", CHURN, "--limit", "2")
    assert preview.exit_code == 0, preview.stderr
    # U2 revoked every channel they have a consent record for
    assert preview.stdout.splitlines()[0] == "2 of 4 active customers match"
    assert [line.split()[0] for line in preview.stdout.splitlines()[1:]] == ["U1", "U4"]
    everyone = cli(
        "segment", "preview", "-w", "shop", "--criteria", CHURN, "--include-unsubscribed", "--json"
    )
    assert json.loads(everyone.stdout)["population"] == 3
    emailable = json.loads(
        cli(
            "segment", "preview", "-w", "shop", "--criteria", CHURN, "--channel", "email", "--json"
        ).stdout
    )
    assert emailable["population"] == 2 and len(emailable["sample"]) == 2
    typo = cli(
        "segment", "preview", "-w", "shop", "--criteria", '{"categories.purchased": "hardware"}'
    )
    assert typo.stdout.startswith("0 of 4")
    assert one_error_line(typo).startswith(
        "warning: no customer bought a category named 'hardware' (names match exactly; known: "
        "Hardware)"
    )
    assert cli("segment", "list", "-w", "shop", "--json").stdout == ""

    seeded = cli("segment", "seed", "-w", "shop")
    assert seeded.exit_code == 0, seeded.stderr
    assert [line.split(":")[0] for line in seeded.stdout.splitlines()] == [
        "VIP",
        "Churn Risk",
        "New Customers",
        "High Discount Sensitivity",
        "Cross-Sell Opportunity",
    ]
    assert "Churn Risk: 2 customers (first compute" in seeded.stdout, "not U2: unsubscribed"
    again = cli("segment", "seed", "-w", "shop")
    assert again.stdout.strip() == "the example segments exist already"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("create", "X", "-w", "shop", "--criteria", '{"rfm.composite": {"gte": 38}'),
            "error: --criteria: not valid JSON: Expecting ',' delimiter at line 1 column 30",
        ),
        (
            (
                "create",
                "X",
                "-w",
                "shop",
                "--criteria",
                '{"any": [{"rfm.r": 5}, {"rfm.composit": 3}]}',
            ),
            "error: criteria.any[1].rfm.composit: unknown field; did you mean rfm.composite? "
            "(allowed: all, any, not, rfm.recency_days,",
        ),
        (
            ("preview", "-w", "shop", "--criteria", '{"rfm.composite": {"gte": "high"}}'),
            'error: criteria.rfm.composite.gte: must be a number, got "high"',
        ),
        (
            ("create", "X", "-w", "shop", "--criteria", "@missing.json"),
            "error: --criteria: cannot read 'missing.json': No such file or directory",
        ),
        (
            ("create", "X", "-w", "shop", "--criteria", CHURN, "--channel", "fax"),
            "error: --channel: unknown channel 'fax'; use one of email, sms, push, in_app",
        ),
        (
            ("members", "Nope", "-w", "shop"),
            "error: NAME: no segment 'Nope' in this workspace; see `mcopilot segment list -w shop`",
        ),
        (
            ("preview", "-w", "shop", "--criteria", CHURN, "--limit", "0"),
            "error: --limit: must be between 1 and 10000, got 0",
        ),
        (
            ("list", "-w", "ghost"),
            "error: workspace: unknown workspace 'ghost'; create it with `mcopilot workspace "
            "create ghost` or list them with `mcopilot workspace list`",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(cli, args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    settings = get_settings()
    new_workspace(settings)
    result = cli("segment", *args)
    assert result.exit_code == 2, result.stdout
    assert one_error_line(result).startswith(message), one_error_line(result)


def test_quota_explain_errors_and_unscored_workspace(cli, shop, monkeypatch):
    monkeypatch.setenv("MCOPILOT_SEGMENT_QUOTA", "1")
    get_settings.cache_clear()
    assert cli("segment", "create", "A", "-w", "shop", "--criteria", CHURN).exit_code == 0
    full = cli("segment", "create", "B", "-w", "shop", "--criteria", CHURN)
    assert full.exit_code == 2
    assert one_error_line(full) == (
        "error: segment: the workspace has 1 segments and its quota is 1; delete one with "
        "`mcopilot segment delete NAME -w shop`, or raise MCOPILOT_SEGMENT_QUOTA"
    )
    missing = cli("segment", "explain", "A", "nobody", "-w", "shop")
    assert one_error_line(missing) == (
        "error: CUSTOMER: no customer 'nobody' in this workspace; pass the customer's userId, "
        "email or id"
    )
    with session_scope(shop) as session:
        session.query(CustomerFeatures).delete()
    unscored = cli("segment", "refresh", "-w", "shop")
    assert unscored.exit_code == 2
    assert one_error_line(unscored) == (
        "error: workspace: the workspace's customers have no features yet, so segments cannot "
        "be computed; run `mcopilot score run -w shop` first"
    )
