"""Sends per second through the gate: journey workers on PostgreSQL to loopback SMTP and to a
loopback webhook receiver, with 1 and 4 workers, and the duplicates the receivers saw.

Workers run each claimed batch (`--batch`) in one transaction through the batch gate and keep
their SMTP connection and HTTP client open. Beside them, in the same run, the raw peers: plain
smtplib and httpx loops sending the same number of messages without the gate, the database or
the journey, once with a new connection (client) per message and once over one kept open (as
the workers do), so the comparison is like for like. The webhook receiver speaks HTTP/1.1 with
keep-alive. Prints figures and the machine's load; never asserts on time.

    PYTHONPATH=. python benchmarks/dispatch.py [--sends 300] [--batch 50] [--url postgresql://...]
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
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path
from typing import Any

import httpx
import psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core.db import dispose_engines, session_scope  # noqa: E402
from core.models import GateControl  # noqa: E402
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


def _worker(
    settings: Settings, env: dict[str, str], batch: int, tag: str
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from api.cli.main import run; run()",
            "worker",
            "--batch",
            str(batch),
            "--poll",
            "0.05",
            "--no-scan",
        ],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("MCOPILOT_")},
            "PYTHONPATH": str(REPO),
            # named, so the benchmark sees when every worker has connected
            "MCOPILOT_DATABASE_URL": f"{settings.effective_database_url}&application_name={tag}",
            "MCOPILOT_DATA_DIR": str(settings.data_dir),
            **env,
        },
        stdout=subprocess.DEVNULL,
        stderr=(settings.data_dir / f"worker-{uuid.uuid4().hex[:6]}.log").open("wb"),
    )


def _pause(settings: Settings, workspace_id: str, *, paused: bool) -> None:
    """The workspace's kill switch: workers claim nothing while it is on."""
    with session_scope(settings) as session:
        control = session.get(GateControl, workspace_id)
        if control is None:
            control = GateControl(workspace_id=workspace_id, changed_by="benchmark")
            session.add(control)
        control.paused, control.reason = paused, "benchmark warm-up"


def _wait_connected(
    server: str, tag: str, workers: int, processes: list[subprocess.Popen[bytes]]
) -> None:
    """Until every worker has started and polled the database (start-up is not measured)."""
    deadline = time.monotonic() + 120
    with psycopg.connect(server, autocommit=True) as connection:
        while time.monotonic() < deadline:
            found = connection.execute(
                "SELECT count(DISTINCT pid) FROM pg_stat_activity WHERE application_name = %s",
                (tag,),
            ).fetchone()
            if (found[0] if found else 0) >= workers or any(
                p.poll() is not None for p in processes
            ):
                return
            time.sleep(0.05)


def _run(server: str, channel: str, sends: int, workers: int, batch: int) -> dict[str, float]:
    schema, url = _schema(server)
    data = Path(tempfile.mkdtemp(prefix="bench-dispatch-"))
    os.environ["MCOPILOT_DATA_DIR"] = str(data)  # the audit key lives there, for every process
    get_settings.cache_clear()  # services that read the process settings see this run's
    try:
        settings = Settings(data_dir=data, database_url=url)
        world = make_load_world(settings, customers=sends, steps=1, channel=channel)
        _pause(settings, world.workspace_id, paused=True)  # until every worker is up
        receiver = raw_smtp_server() if channel == "email" else webhook_receiver(keep_alive=True)
        with receiver as (sink, where):
            if channel == "email":
                env = {
                    "MCOPILOT_SMTP_HOST": "127.0.0.1",
                    "MCOPILOT_SMTP_PORT": str(where),
                    "MCOPILOT_SMTP_STARTTLS": "false",
                }
                count = sink.counts
                total_of = lambda: len(sink.messages)  # noqa: E731
            else:
                env = {"MCOPILOT_IN_APP_WEBHOOK_URL": where, "MCOPILOT_WEBHOOK_SECRET": SECRET}
                count = lambda: (sink.total, sink.distinct)  # noqa: E731
                total_of = lambda: sink.total  # noqa: E731
            processes = [_worker(settings, env, batch, schema) for _ in range(workers)]
            _wait_connected(server, schema, workers, processes)
            _pause(settings, world.workspace_id, paused=False)
            released = time.monotonic()
            committed = None
            first = last = None
            seen = 0
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                if all(process.poll() is not None for process in processes):
                    break  # every worker stopped (their logs are printed below)
                total = total_of()
                now = time.monotonic()
                if total and first is None:
                    first = now
                if total != seen:
                    seen, last = total, now
                if (
                    total >= sends
                    and task_states(settings, world.workspace_id).get("sent") == sends
                ):
                    committed = time.monotonic()
                    break
                time.sleep(0.02)
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(timeout=60)
            total, distinct = count()
        span = (last or 0) - (first or 0)
        whole = (committed or 0) - released
        return {
            "sends": float(distinct),
            "total": float(total),
            "duplicates": float(total - distinct),
            "seconds": whole,
            "per_second": distinct / whole if committed else 0.0,
            "arrival_per_second": (distinct - 1) / span if span > 0 else 0.0,
        }
    finally:
        _drop(server, schema)
        for log in sorted(data.glob("worker-*.log")):
            text = log.read_text(errors="replace").strip()
            if text:
                print(f"--- {log.name}: {text[-1500:]}", file=sys.stderr)


class RawInbox:
    """An SMTP sink that keeps each message's bytes (parsing waits until the run is over, so
    the receiver costs the machine as little as a real provider's would)."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: object, session: object, envelope: Any
    ) -> str:
        self.messages.append(envelope.content)
        return "250 OK"

    def counts(self) -> tuple[int, int]:
        """(messages, distinct Message-IDs)."""
        parser = BytesHeaderParser(policy=compat32)
        ids = {parser.parsebytes(raw)["Message-ID"] for raw in list(self.messages)}
        return len(self.messages), len(ids)


@contextmanager
def raw_smtp_server() -> Iterator[tuple[RawInbox, int]]:
    inbox = RawInbox()
    with smtp_server(inbox) as (_, port):  # type: ignore[arg-type]
        yield inbox, port


def _message(index: int) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"] = "news@example.com", f"c{index}@example.com"
    message["Subject"], message["Message-ID"] = f"Hello N{index}", f"<raw{index}@example.com>"
    message.set_content("Hi, news from us. Unsubscribe: https://example.com/u")
    return message


def _raw_smtp(sends: int, *, persistent: bool) -> float:
    with raw_smtp_server() as (inbox, port):
        start = time.perf_counter()
        if persistent:
            with smtplib.SMTP("127.0.0.1", port, timeout=20) as smtp:
                smtp.ehlo()
                for index in range(sends):
                    smtp.send_message(_message(index))
        else:
            for index in range(sends):
                with smtplib.SMTP("127.0.0.1", port, timeout=20) as smtp:
                    smtp.ehlo()
                    smtp.send_message(_message(index))
        elapsed = time.perf_counter() - start
        assert len(inbox.messages) == sends
    return sends / elapsed


def _raw_http(sends: int, *, persistent: bool) -> float:
    with webhook_receiver(keep_alive=True) as (received, url):
        start = time.perf_counter()
        if persistent:
            with httpx.Client(timeout=10) as client:
                for index in range(sends):
                    client.post(url, json={"n": index}, headers={"Idempotency-Key": f"r-{index}"})
        else:
            for index in range(sends):
                with httpx.Client(timeout=10) as client:
                    client.post(url, json={"n": index}, headers={"Idempotency-Key": f"r-{index}"})
        elapsed = time.perf_counter() - start
        assert received.distinct == sends
    return sends / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sends", type=int, default=300)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--url", default=os.environ.get("MCOPILOT_TEST_POSTGRES_URL", SERVER))
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}; cpus: {os.cpu_count()}")
    print(
        "sends/s = sends / (release of the paused workers -> every task committed `sent`);"
        " arrivals/s = the receiver's rate from its first message to its last"
    )
    print(f"{'what':52} {'sends':>6} {'dups':>5} {'seconds':>8} {'sends/s':>8} {'arrivals/s':>10}")
    for channel in ("email", "in_app"):
        for workers in (1, 4):
            row = _run(args.url, channel, args.sends, workers, args.batch)
            what = f"gate + journey worker x{workers}, {channel} (PostgreSQL)"
            print(
                f"{what:52} {int(row['sends']):>6} {int(row['duplicates']):>5} "
                f"{row['seconds']:>8.2f} {row['per_second']:>8.1f} "
                f"{row['arrival_per_second']:>10.1f}"
            )
    for what, rate in (
        ("raw smtplib, new connection per message", _raw_smtp(args.sends, persistent=False)),
        ("raw smtplib, one connection kept open", _raw_smtp(args.sends, persistent=True)),
        ("raw httpx, new client per message", _raw_http(args.sends, persistent=False)),
        ("raw httpx, one client kept open", _raw_http(args.sends, persistent=True)),
    ):
        print(f"{what:52} {args.sends:>6} {0:>5} {'':>8} {rate:>8.1f}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
