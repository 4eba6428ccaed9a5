"""Sends per second through the gate: journey workers on PostgreSQL to loopback SMTP and to a
loopback webhook receiver, with 1 and 4 workers, and the duplicates the receivers saw.

Beside it, in the same run, the raw ceiling: a plain smtplib loop (one connection per message,
as the adapter does) and a plain httpx loop sending the same number of messages without the
gate, the database or the journey. Prints figures; never asserts on time.

    PYTHONPATH=. python benchmarks/dispatch.py [--sends 300] [--url postgresql://...]
"""

from __future__ import annotations

import argparse
import os
import signal
import smtplib
import subprocess
import sys
import tempfile
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

import httpx
import psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core.db import dispose_engines  # noqa: E402
from core.settings import Settings, get_settings  # noqa: E402
from tests.fixtures.receiver import webhook_receiver  # noqa: E402
from tests.fixtures.smtp import smtp_server  # noqa: E402
from tests.journeys.load_world import make_load_world, task_states  # noqa: E402

SERVER = "postgresql://postgres@127.0.0.1:5432/test"
SECRET = "benchmark-webhook-secret-" + "0" * 16  # at least 32 characters


def _schema(url: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    return schema, f"{url}?options=-csearch_path%3D{schema}"


def _drop(url: str, schema: str) -> None:
    dispose_engines()
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _worker(settings: Settings, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", "from api.cli.main import run; run()", "worker", "--batch", "50"],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("MCOPILOT_")},
            "PYTHONPATH": str(REPO),
            "MCOPILOT_DATABASE_URL": settings.effective_database_url,
            "MCOPILOT_DATA_DIR": str(settings.data_dir),
            **env,
        },
        stdout=subprocess.DEVNULL,
        stderr=(settings.data_dir / f"worker-{uuid.uuid4().hex[:6]}.log").open("wb"),
    )


def _run(server: str, channel: str, sends: int, workers: int) -> dict[str, float]:
    schema, url = _schema(server)
    data = Path(tempfile.mkdtemp(prefix="bench-dispatch-"))
    os.environ["MCOPILOT_DATA_DIR"] = str(data)  # the audit key lives there, for every process
    get_settings.cache_clear()  # services that read the process settings see this run's
    try:
        settings = Settings(data_dir=data, database_url=url)
        world = make_load_world(settings, customers=sends, steps=1, channel=channel)
        receiver = smtp_server() if channel == "email" else webhook_receiver()
        with receiver as (sink, where):
            if channel == "email":
                env = {
                    "MCOPILOT_SMTP_HOST": "127.0.0.1",
                    "MCOPILOT_SMTP_PORT": str(where),
                    "MCOPILOT_SMTP_STARTTLS": "false",
                }
                count = lambda: (len(sink.messages), len({m["Message-ID"] for m in sink.messages}))  # noqa: E731
            else:
                env = {"MCOPILOT_IN_APP_WEBHOOK_URL": where, "MCOPILOT_WEBHOOK_SECRET": SECRET}
                count = lambda: (sink.total, sink.distinct)  # noqa: E731
            processes = [_worker(settings, env) for _ in range(workers)]
            first = last = None
            seen = 0
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                if all(process.poll() is not None for process in processes):
                    break  # every worker stopped (their logs are printed below)
                total, _ = count()
                now = time.monotonic()
                if total and first is None:
                    first = now
                if total != seen:
                    seen, last = total, now
                if (
                    total >= sends
                    and task_states(settings, world.workspace_id).get("sent") == sends
                ):
                    break
                time.sleep(0.02)
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(timeout=60)
            total, distinct = count()
        span = (last or 0) - (first or 0)
        return {
            "sends": float(distinct),
            "total": float(total),
            "duplicates": float(total - distinct),
            "seconds": span,
            "per_second": (distinct - 1) / span if span > 0 else 0.0,
        }
    finally:
        _drop(server, schema)
        for log in sorted(data.glob("worker-*.log")):
            text = log.read_text(errors="replace").strip()
            if text:
                print(f"--- {log.name}: {text[-1500:]}", file=sys.stderr)


def _raw_smtp(sends: int) -> float:
    with smtp_server() as (inbox, port):
        start = time.perf_counter()
        for index in range(sends):
            message = EmailMessage()
            message["From"], message["To"] = "news@example.com", f"c{index}@example.com"
            message["Subject"], message["Message-ID"] = (
                f"Hello N{index}",
                f"<raw{index}@example.com>",
            )
            message.set_content("Hi, news from us. Unsubscribe: https://example.com/u")
            with smtplib.SMTP("127.0.0.1", port, timeout=20) as smtp:
                smtp.ehlo()
                smtp.send_message(message)
        elapsed = time.perf_counter() - start
        assert len(inbox.messages) == sends
    return sends / elapsed


def _raw_http(sends: int) -> float:
    with webhook_receiver() as (received, url):
        start = time.perf_counter()
        for index in range(sends):  # one client per message, as the adapter does
            with httpx.Client(timeout=10) as client:
                client.post(url, json={"n": index}, headers={"Idempotency-Key": f"raw-{index}"})
        elapsed = time.perf_counter() - start
        assert received.distinct == sends
    return sends / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sends", type=int, default=300)
    parser.add_argument("--url", default=os.environ.get("MCOPILOT_TEST_POSTGRES_URL", SERVER))
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}; cpus: {os.cpu_count()}")
    print(f"{'what':44} {'sends':>6} {'dups':>5} {'seconds':>8} {'sends/s':>8}")
    for channel in ("email", "in_app"):
        for workers in (1, 4):
            row = _run(args.url, channel, args.sends, workers)
            what = f"gate + journey worker x{workers}, {channel} (PostgreSQL)"
            print(
                f"{what:44} {int(row['sends']):>6} {int(row['duplicates']):>5} "
                f"{row['seconds']:>8.2f} {row['per_second']:>8.1f}"
            )
    for what, rate in (
        ("raw smtplib loop, no gate (ceiling)", _raw_smtp(args.sends)),
        ("raw httpx loop, no gate (ceiling)", _raw_http(args.sends)),
    ):
        print(f"{what:44} {args.sends:>6} {0:>5} {'':>8} {rate:>8.1f}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
