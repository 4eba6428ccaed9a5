"""The README's two set-up commands exist, and CI runs the test command verbatim."""

from __future__ import annotations

import re

from tests.conftest import REPO


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    setup = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", setup)


def test_readme_has_exactly_two_setup_commands():
    commands = readme_commands()
    assert len(commands) == 2
    main_job, tests = commands
    for command in commands:
        assert command.startswith("test -x .venv/bin/python || python3 -m venv .venv;")
        assert "pip install -q torch==2.13.0 &&" in command
    assert main_job.endswith("mcopilot demo")
    assert "pytest" in tests


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert readme_commands()[1] in ci
