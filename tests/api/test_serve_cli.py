"""`mcopilot serve` starts the HTTP API as a real process that answers on its port."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx

from tests.conftest import REPO, free_port


def test_serve_answers_health_and_webhooks(tmp_path):
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MCOPILOT_")},
        "MCOPILOT_DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(REPO),
    }
    process = subprocess.Popen(
        [sys.executable, "-c", "from api.cli.main import run; run()", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serve did not answer within 60 s"
                time.sleep(0.2)
        webhook = httpx.post(f"http://127.0.0.1:{port}/v1/webhooks/feedback", json={}, timeout=10)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert health.json() == {"status": "ok"}
    assert webhook.status_code == 503  # no MCOPILOT_WEBHOOK_SECRET: not set up, retry later


def test_serve_refuses_a_bad_port():
    from typer.testing import CliRunner

    from api.cli.main import app

    result = CliRunner().invoke(app, ["serve", "--port", "70000"])
    assert result.exit_code == 2 and "65535" in result.output
