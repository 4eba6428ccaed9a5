"""Channel adapters are reachable only through journeys.dispatch, which goes through the gate."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "retrieval", "scoring", "guardrails", "journeys", "agents", "api", "evals")
ALLOWED = {Path("journeys/dispatch.py")}


def _imported_modules(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _sources() -> list[Path]:
    return [p for package in PACKAGES for p in sorted((REPO / package).rglob("*.py"))]


def test_only_dispatch_imports_the_channel_adapters() -> None:
    offenders = []
    for path in _sources():
        relative = path.relative_to(REPO)
        if relative.parts[:2] == ("journeys", "channels") or relative in ALLOWED:
            continue
        imported = _imported_modules(ast.parse(path.read_text(encoding="utf-8")))
        if any(
            name == "journeys.channels" or name.startswith("journeys.channels.")
            for name in imported
        ):
            offenders.append(str(relative))
    assert offenders == []


def test_dispatch_never_calls_an_adapter_itself() -> None:
    tree = ast.parse((REPO / "journeys/dispatch.py").read_text(encoding="utf-8"))
    calls = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert "deliver" not in calls
    called = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert "execute" in called  # the gate


def test_the_boundary_check_sees_a_violation(tmp_path: Path) -> None:
    source = "from journeys.channels.email import SmtpEmailAdapter\nimport journeys.channels\n"
    assert {"journeys.channels.email", "journeys.channels"} <= _imported_modules(ast.parse(source))
