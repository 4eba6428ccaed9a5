"""`mcopilot dashboard` and `mcopilot dashboard target`, invoked as people would, on SQLite and
PostgreSQL, over hand-built journey records."""

from __future__ import annotations

import json

from sqlalchemy import select

from core import workspaces
from core.db import session_scope
from core.models import AuditRecord
from core.settings import get_settings
from tests.api.test_approvals_cli import acme, cli, one_error_line  # noqa: F401 - fixtures
from tests.journeys.analytics_records import D, H, Records, T

AS_OF = ["--as-of", "2026-11-20T12:00"]


def _records() -> None:
    with session_scope(get_settings()) as session:
        r = Records(session, workspaces.get_or_raise(session, "acme").id)
        r.journey("at-risk", "At-Risk (Declining)")
        r.enrol("at-risk", "a1", T - 2 * D)
        r.enrol("at-risk", "r1", T - 9 * D, status="converted", ended=T - D, converted=T - D)
        for i in range(3):
            r.enrol("at-risk", f"x{i}", T - 9 * D, status="exited", ended=T - D)
        r.firing(T - H / 2, "enrolled")
        r.execution(T - H / 2)


def test_dashboard_text_and_json(cli, acme):  # noqa: F811
    _records()
    shown = cli("dashboard", "-w", "acme", *AS_OF)
    assert shown.exit_code == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "JOURNEY ORCHESTRATION DASHBOARD — Live View"
    assert "As of: 2026-11-20 12:00 UTC" in lines
    assert "ACTIVE JOURNEYS: 1 | Total customers in journeys: 1" in lines
    assert (
        "│ At-Risk (Declining)    │ 1          │ 1         │ 1          │ 25.0%        │" in lines
    )
    assert "  Triggers fired: 1" in lines
    assert "  Actions executed: 1 (100.0% delivery rate)" in lines
    data = json.loads(cli("dashboard", "-w", "acme", *AS_OF, "--json").stdout)
    assert data["journeys"] == [
        {
            "journey_id": "at-risk",
            "name": "At-Risk (Declining)",
            "state": "active",
            "active": 1,
            "ended": 4,
            "completed": 1,
            "converted": 1,
            "conversion_rate": 0.25,
        }
    ]
    assert data["as_of"] == "2026-11-20T12:00:00+00:00"
    # An hour later the firing and the send have left the window.
    later = json.loads(
        cli("dashboard", "-w", "acme", "--as-of", "2026-11-20T13:00Z", "--json").stdout
    )
    assert later["trigger_activity"]["fired"] == 0 and later["trigger_activity"]["executed"] == 0


def test_targets_set_alert_and_clear(cli, acme, monkeypatch):  # noqa: F811
    _records()
    monkeypatch.setenv("MCOPILOT_ALERT_TARGET_MIN_ENDED", "4")
    get_settings.cache_clear()
    set_ = cli("dashboard", "target", "at-risk", "--conversion", "35%", "-w", "acme", "--as", "mia")
    assert set_.exit_code == 0, set_.stderr
    assert set_.stdout.strip() == "at-risk: conversion target set to 35.0% by mia"
    shown = cli("dashboard", "-w", "acme", *AS_OF)
    assert "  ⚠ At-Risk (Declining) journey conversion below target (25.0% vs 35.0% target)" in (
        shown.stdout.splitlines()
    )
    cleared = cli("dashboard", "target", "at-risk", "--clear", "-w", "acme", "--as", "root")
    assert cleared.exit_code == 0, cleared.stderr
    data = json.loads(cli("dashboard", "-w", "acme", *AS_OF, "--json").stdout)
    assert data["alerts"] == []
    with session_scope(get_settings()) as session:
        audited = session.execute(
            select(AuditRecord.actor, AuditRecord.decision).where(
                AuditRecord.action == "journey.target"
            )
        ).all()
    assert [tuple(a) for a in audited] == [("mia", "set"), ("root", "cleared")]


def test_bad_input_is_one_line_and_exit_2(cli, acme):  # noqa: F811
    _records()
    assert one_error_line(cli("dashboard", "-w", "acme", "--as-of", "yesterday")).startswith(
        "error: --as-of: not an ISO time"
    )
    assert "--workspace: is required" in one_error_line(cli("dashboard"))
    assert "unknown workspace 'nope'" in one_error_line(cli("dashboard", "-w", "nope"))
    target = ["dashboard", "target", "at-risk", "-w", "acme"]
    assert "--as" in one_error_line(cli(*target, "--conversion", "35%", "--as", "stranger"))
    assert "--conversion" in one_error_line(cli(*target, "--conversion", "135%", "--as", "mia"))
    assert "--conversion" in one_error_line(cli(*target, "--as", "mia"))
    unknown = cli(
        "dashboard", "target", "nope-j", "--conversion", "0.3", "-w", "acme", "--as", "mia"
    )
    assert "JOURNEY: no journey 'nope-j'" in one_error_line(unknown)
