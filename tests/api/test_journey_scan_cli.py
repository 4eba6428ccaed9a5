"""`mcopilot journey scan` invoked as a user would, on SQLite and PostgreSQL: the scan's report
in JSON and text, a second scan that enrols nobody, exit 2 with one line on bad input."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from api.cli.main import app
from core.settings import get_settings
from tests.journeys.trigger_fixtures import T0, hours, make_trigger_world

AT = "--at=2026-11-20T11:00:00Z"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request, monkeypatch):
    if request.param == "postgres":
        monkeypatch.setenv("MCOPILOT_DATABASE_URL", request.getfixturevalue("postgres_url"))
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    world = make_trigger_world(get_settings(), customers=2)
    world.journey("JRN-CART", {"type": "abandoned_cart"})
    world.cart(world.customers[0], T0 - hours(2))
    return world


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_scan_enrols_and_reports(world):
    first = invoke("journey", "scan", "-w", "acme", "--as", "mia", AT, "--json")
    assert first.exit_code == 0, first.output
    body = json.loads(first.stdout)
    assert body["enrolled"] == 1 and body["outcomes"] == {"enrolled": 1}
    assert body["journeys"] == [
        {
            "journey_id": "JRN-CART",
            "trigger": "abandoned_cart",
            "state": "active",
            "fired": 1,
            "outcomes": {"enrolled": 1},
            "logged": 1,
            "note": "",
        }
    ]
    again = invoke("journey", "scan", "-w", "acme", "--as", "rev1", AT)
    assert again.exit_code == 0, again.output
    assert "1 journeys scanned" in again.stdout and "nothing" in again.stdout
    assert "JRN-CART [active] abandoned_cart: no firing" in again.stdout


def test_scan_refuses_bad_input(world):
    bad_time = invoke("journey", "scan", "-w", "acme", "--as", "mia", "--at", "yesterday")
    assert bad_time.exit_code == 2
    assert bad_time.stderr.strip().splitlines() == [bad_time.stderr.strip()]
    assert "--at" in bad_time.stderr
    stranger = invoke("journey", "scan", "-w", "acme", "--as", "nobody")
    assert stranger.exit_code == 2 and "nobody" in stranger.stderr
    assert world.enrolments() == []
