"""`mcopilot workspace member ...` and `mcopilot approvals ...` invoked as a user would:
output, JSON, and exit 2 with one line naming the problem and the fix."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from api.cli.main import app
from core.settings import get_settings


@pytest.fixture
def cli(monkeypatch):
    monkeypatch.setenv("COLUMNS", "240")
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    return invoke


def one_error_line(result) -> str:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def acme(request, cli, monkeypatch):
    """Workspace acme with root (admin), mia (marketer), rev1 and rev2 (reviewers)."""
    if request.param == "postgres":
        monkeypatch.setenv("MCOPILOT_DATABASE_URL", request.getfixturevalue("postgres_url"))
    get_settings.cache_clear()
    assert cli("workspace", "create", "acme").exit_code == 0
    assert cli("workspace", "member", "add", "root", "--role", "admin", "-w", "acme").exit_code == 0
    for user, role in (("mia", "marketer"), ("rev1", "reviewer"), ("rev2", "reviewer")):
        added = cli(
            "workspace", "member", "add", user, "--role", role, "-w", "acme", "--as", "root"
        )
        assert added.stdout.strip() == f"added {user} to acme as {role}", added.stderr
    return "acme"


def write_item(tmp_path, name="item.json", **overrides) -> str:
    item = {
        "kind": "journey_activation",
        "title": "Winback journey",
        "content": {"journey": "winback", "steps": [{"channel": "email", "subject": "Hi"}]},
        "findings": [{"rule_id": "email.subject", "severity": "warn", "message": "short"}],
    }
    item.update(overrides)
    path = tmp_path / name
    path.write_text(json.dumps(item), encoding="utf-8")
    return str(path)


def submit(cli, tmp_path, **overrides) -> dict:
    result = cli(
        "approvals",
        "submit",
        "-w",
        "acme",
        "--as",
        "mia",
        "-f",
        write_item(tmp_path, **overrides),
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_members_list_and_role_change(cli, acme):
    listed = cli("workspace", "member", "list", "-w", "acme", "--json")
    assert [json.loads(line) for line in listed.stdout.splitlines()] == [
        {"user": "mia", "role": "marketer"},
        {"user": "rev1", "role": "reviewer"},
        {"user": "rev2", "role": "reviewer"},
        {"user": "root", "role": "admin"},
    ]
    changed = cli(
        "workspace", "member", "add", "mia", "--role", "reviewer", "-w", "acme", "--as", "root"
    )
    assert changed.stdout.strip() == "mia in acme: marketer -> reviewer"
    removed = cli("workspace", "member", "remove", "mia", "-w", "acme", "--as", "root")
    assert removed.stdout.strip() == "removed mia (reviewer) from acme"
    assert one_error_line(
        cli("workspace", "member", "add", "eve", "--role", "admin", "-w", "acme")
    ) == (
        "error: --as: workspace 'acme' has an admin, so membership changes need one; add "
        "`--as ADMIN` naming one of its admins"
    )
    assert one_error_line(
        cli("workspace", "member", "add", "eve", "--role", "owner", "-w", "acme", "--as", "root")
    ) == ("error: --role: unknown role 'owner'; use one of marketer, reviewer, admin")
    assert "last admin" in one_error_line(
        cli("workspace", "member", "remove", "root", "-w", "acme", "--as", "root")
    )


def test_two_person_approval_edit_and_history(cli, acme, tmp_path):
    item = submit(cli, tmp_path)
    item_id, digest = item["id"], item["content_hash"]
    assert (item["state"], item["required_approvals"]) == ("pending", 2)
    listed = cli("approvals", "list", "-w", "acme", "--as", "rev1", "--state", "pending")
    assert listed.stdout.split()[:8] == [
        item_id,
        "pending",
        "journey_activation",
        "0/2",
        "Winback",
        "journey",
        "by",
        "mia",
    ]
    first = cli(
        "approvals", "approve", item_id, "-w", "acme", "--as", "rev1", "--hash", digest[:12]
    )
    assert first.exit_code == 0, first.stderr
    assert first.stdout.startswith("approval 1 of 2 recorded; another reviewer must approve too")
    second = cli(
        "approvals", "approve", item_id, "-w", "acme", "--as", "rev2", "--hash", digest, "--json"
    )
    assert json.loads(second.stdout)["state"] == "approved"
    edited = cli(
        "approvals",
        "edit",
        item_id,
        "-w",
        "acme",
        "--as",
        "mia",
        "-f",
        write_item(tmp_path, "v2.json", content={"journey": "winback", "steps": []}),
    )
    assert "pending  revision 2  approvals 0/2" in edited.stdout
    assert edited.stdout.rstrip().endswith("earlier approvals voided")
    stale = cli("approvals", "approve", item_id, "-w", "acme", "--as", "rev1", "--hash", digest)
    assert one_error_line(stale).startswith(
        f"error: --hash: the content of item {item_id} changed since you saw it"
    )
    sent_back = cli(
        "approvals", "request-changes", item_id, "-w", "acme", "--as", "rev1", "-m", "add steps"
    )
    assert sent_back.stdout.startswith("sent back: ")
    assert (
        cli("approvals", "comment", item_id, "steps added", "-w", "acme", "--as", "mia").exit_code
        == 0
    )
    shown = json.loads(
        cli("approvals", "show", item_id, "-w", "acme", "--as", "rev2", "--json").stdout
    )
    assert shown["state"] == "changes_requested" and shown["revision"] == 2
    assert [(d["by"], d["decision"], d["voided_at"] is not None) for d in shown["decisions"]] == [
        ("rev1", "approve", True),
        ("rev2", "approve", True),
        ("rev1", "request_changes", False),
    ]
    assert [c["body"] for c in shown["comments"]] == ["steps added"]
    text = cli("approvals", "show", item_id, "-w", "acme", "--as", "rev2")
    assert "content hash " + shown["content_hash"] in text.stdout
    assert "warn  email.subject: short" in text.stdout
    rejected = cli("approvals", "reject", item_id, "-w", "acme", "--as", "rev2", "-m", "off brand")
    assert rejected.stdout.startswith("rejected: ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("approve", "@ITEM", "--as", "mia", "--hash", "HASH"),
            "error: --as: mia is a marketer in workspace 'acme', and only reviewers and admins "
            "may approve items; act as a reviewer, or have an admin run `mcopilot workspace "
            "member add mia --role reviewer --workspace acme`",
        ),
        (
            ("approve", "@ITEM", "--as", "ghost", "--hash", "HASH"),
            "error: --as: 'ghost' is not a known user in workspace 'acme'; see `mcopilot "
            "workspace member list --workspace acme`, or have an admin run `mcopilot workspace "
            "member add ghost --role ROLE --workspace acme`",
        ),
        (
            ("approve", "@ITEM", "--as", "rev1"),
            "error: --hash: an approval must name the content hash you reviewed; copy it from "
            "`mcopilot approvals show @ITEM`",
        ),
        (
            ("approve", "apr_nope", "--as", "rev1", "--hash", "HASH"),
            "error: ITEM: no approval item 'apr_nope' in workspace 'acme'; see `mcopilot "
            "approvals list --workspace acme --as rev1`",
        ),
        (
            ("reject", "@ITEM", "--as", "rev1"),
            'error: --comment: a reject needs a comment saying why; add --comment "what must '
            'change"',
        ),
        (
            ("list", "--as", "rev1", "--state", "done"),
            "error: --state: unknown state 'done'; use one of pending, approved, rejected, "
            "changes_requested, expired",
        ),
    ],
)
def test_bad_input_is_one_line_naming_the_field_and_fix(cli, acme, tmp_path, args, message):
    item = submit(cli, tmp_path, kind="asset")
    args = tuple(a.replace("@ITEM", item["id"]).replace("HASH", item["content_hash"]) for a in args)
    message = message.replace("@ITEM", item["id"])
    assert one_error_line(cli("approvals", *args, "-w", "acme")) == message


def test_self_approval_and_bad_files(cli, acme, tmp_path):
    own = cli(
        "approvals",
        "submit",
        "-w",
        "acme",
        "--as",
        "rev1",
        "-f",
        write_item(tmp_path, kind="asset"),
        "--json",
    )
    item = json.loads(own.stdout)
    assert one_error_line(
        cli(
            "approvals",
            "approve",
            item["id"],
            "-w",
            "acme",
            "--as",
            "rev1",
            "--hash",
            item["content_hash"],
        )
    ) == (
        f"error: --as: rev1 requested item {item['id']} and cannot approve it; another reviewer "
        "or admin must approve it"
    )
    bad = tmp_path / "bad.json"
    bad.write_text('{"kind": "tweet", "title": "x", "content": {"a": 1}}', encoding="utf-8")
    assert one_error_line(
        cli("approvals", "submit", "-w", "acme", "--as", "mia", "-f", str(bad))
    ).startswith(
        "error: --file.kind: Input should be 'asset', 'journey_activation', 'large_send' or "
        "'budget_change'"
    )
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    assert one_error_line(
        cli("approvals", "submit", "-w", "acme", "--as", "mia", "-f", str(broken))
    ).startswith(f"error: --file: {str(broken)!r} is not JSON")
