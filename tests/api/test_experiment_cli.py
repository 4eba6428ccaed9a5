"""`mcopilot experiment readout`: arms counted from a journey's enrolments, on SQLite and
PostgreSQL, with the verdict, the holdout lift and clear errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from core.db import session_scope
from core.ids import new_id
from core.models import Customer, JourneyEnrolment, JourneyState, JourneyTask, JourneyVersion
from core.settings import get_settings
from journeys.experiment_stats import Arm, readout
from tests.api.test_approvals_cli import acme, cli, one_error_line  # noqa: F401 - fixtures
from tests.journeys.test_spec import body

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _journey() -> dict:
    data = body()
    data["start"] = "ab"
    data["nodes"] = [
        {
            "kind": "experiment",
            "id": "ab",
            "variants": [{"id": "control", "next": "a"}, {"id": "bold", "next": "b"}],
        },
        {"id": "a", "day": 0, "channel": "email", "asset": {"title": "Plain"}},
        {"id": "b", "day": 0, "channel": "email", "asset": {"title": "Bold"}},
    ]
    return data


def _load(workspace: str, arms: dict[tuple[str, bool], tuple[int, int]]) -> None:
    """(variant, holdout) -> (enrolled, converted) enrolments of JRN-WINBACK-001 v2.1, plus
    enrolments of an older version and of another workspace that must not count."""
    from core import workspaces

    with session_scope(get_settings()) as session:
        ws = workspaces.get_or_raise(session, workspace)
        other = workspaces.create(session, "other")
        spec = _journey()
        for ws_id, version in ((ws.id, "2.1"), (ws.id, "2.0"), (other.id, "2.1")):
            session.add(
                JourneyVersion(
                    id=new_id("jv"), workspace_id=ws_id, journey_id=spec["id"], version=version,
                    spec={**spec, "version": version}, spec_hash="x" * 64, created_by="mia",
                )
            )  # fmt: skip
        for ws_id in (ws.id, other.id):
            session.add(
                JourneyState(
                    workspace_id=ws_id, journey_id=spec["id"], version="2.1", state="active",
                    changed_by="mia",
                )
            )  # fmt: skip
        session.flush()
        n = 0
        for ws_id, version, scale in ((ws.id, "2.1", 1), (ws.id, "2.0", 3), (other.id, "2.1", 2)):
            for (variant, held), (enrolled, converted) in arms.items():
                for i in range(enrolled * scale):
                    n += 1
                    customer = Customer(id=f"c{n}", workspace_id=ws_id, user_id=f"u{n}")
                    session.add(customer)
                    assignments = {"holdout": held, "ab": variant or "control"}
                    enrolment_id = new_id("enr")
                    session.add(
                        JourneyEnrolment(
                            id=enrolment_id, workspace_id=ws_id, journey_id=spec["id"],
                            version=version, customer_id=customer.id, trigger_type="churn_risk",
                            trigger_key=f"k{n}", assignments=assignments,
                            entered_at=NOW - timedelta(days=i % 20),
                            converted_at=NOW if i < converted * scale else None,
                        )
                    )  # fmt: skip
                    # Holdout customers never reach the split; a fifth of the others exit
                    # before it (and convert as often): neither may count in the arms.
                    if held:
                        continue
                    status = "cancelled" if i % 5 == 4 else "done"
                    session.add(
                        JourneyTask(
                            id=new_id("tsk"), workspace_id=ws_id, enrolment_id=enrolment_id,
                            journey_id=spec["id"], customer_id=customer.id, node_id="ab",
                            idempotency_key=f"t{n}", due_at=NOW, status=status,
                        )
                    )  # fmt: skip


def test_readout_counts_the_running_versions_arms_in_the_workspace(cli, acme):  # noqa: F811
    _load(acme, {("control", False): (400, 40), ("bold", False): (400, 72), ("", True): (90, 6)})
    result = cli("experiment", "readout", "JRN-WINBACK-001", "-w", acme, "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["journey"], data["version"], data["subject"]) == ("JRN-WINBACK-001", "2.1", "ab")
    # Per arm: 400 enrolled, every fifth (i % 5 == 4) never reached the split: 320 exposed;
    # converted are i < 40 (32 of them exposed) and i < 72 (58 exposed).
    assert data["control"] == {"name": "control", "enrolled": 320, "converted": 32}
    assert data["variants"] == [{"name": "bold", "enrolled": 320, "converted": 58}]
    expected = readout(Arm("control", 320, 32), [Arm("bold", 320, 58)])
    assert data["verdict"] == expected.verdict == "winner"
    assert data["comparisons"][0]["p_value"] == expected.comparisons[0].p_value

    text = cli("experiment", "readout", "JRN-WINBACK-001", "-w", acme)
    assert text.exit_code == 0, text.stderr
    assert "experiment ab" in text.stdout and "Verdict: winner (bold)" in text.stdout

    lift = cli("experiment", "readout", "JRN-WINBACK-001", "-w", acme, "--holdout", "--json")
    assert lift.exit_code == 0, lift.stderr
    data = json.loads(lift.stdout)
    assert data["control"] == {"name": "holdout", "enrolled": 90, "converted": 6}
    assert data["variants"] == [{"name": "journey", "enrolled": 800, "converted": 112}]


def test_readout_errors_name_the_field(cli, acme):  # noqa: F811
    _load(acme, {("control", False): (5, 1), ("bold", False): (5, 2)})
    few = cli("experiment", "readout", "JRN-WINBACK-001", "-w", acme)
    assert few.exit_code == 0 and "too few" in few.stdout
    assert "--experiment" in one_error_line(
        cli("experiment", "readout", "JRN-WINBACK-001", "-w", acme, "--experiment", "nope")
    )
    assert "journey" in one_error_line(cli("experiment", "readout", "JRN-NONE", "-w", acme))


def test_adopting_the_winner_stores_the_next_version(cli, acme):  # noqa: F811
    _load(acme, {("control", False): (400, 40), ("bold", False): (400, 72), ("", True): (90, 6)})
    refused = cli(
        "experiment", "adopt", "JRN-WINBACK-001", "-w", acme, "--as", "mia", "--variant", "control"
    )
    assert "--variant" in one_error_line(refused) and "'bold' the winner" in refused.stderr
    stranger = cli(
        "experiment", "adopt", "JRN-WINBACK-001", "-w", acme, "--as", "eve", "--variant", "bold"
    )
    assert "--as" in one_error_line(stranger)  # only members of the workspace act in it
    adopted = cli(
        "experiment", "adopt", "JRN-WINBACK-001", "-w", acme, "--as", "mia", "--variant", "bold"
    )
    assert adopted.exit_code == 0, adopted.stderr
    assert "JRN-WINBACK-001 2.2 stored with 'bold' in place of ab" in adopted.stdout
    from core import workspaces
    from journeys.journey_store import spec_of

    with session_scope(get_settings()) as session:
        ws = workspaces.get_or_raise(session, acme)
        spec = spec_of(session, ws.id, "JRN-WINBACK-001", "2.2")
    assert spec.start == "b" and [n.id for n in spec.nodes] == ["b"]
    forced = cli(
        "experiment", "adopt", "JRN-WINBACK-001", "-w", acme, "--as", "mia", "--variant",
        "control", "--force",
    )  # fmt: skip
    assert forced.exit_code == 2  # 2.2 is stored already: versions are never edited in place
