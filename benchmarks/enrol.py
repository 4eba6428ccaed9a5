"""A journey's first trigger scan: thousands of customers fire at once. The scan's winners
enrolled one by one (`enrol` per customer, as the scan did before) and in one batch per
journey (`enrol_many`), on SQLite and PostgreSQL.

Every customer viewed something an hour ago and the event journey (10% holdout, an A/B node
first) was just activated, so the whole audience fires in one scan. Each run scans the same
data in its own transaction, which is rolled back, the two paths in turn; the first run of
each is a warm-up. Prints the scan's time, the enrolment part of it, and whether both paths
wrote the same rows (enrolments, tasks, trigger log). Never asserts on time.

    PYTHONPATH=. python benchmarks/enrol.py [--customers 3000] [--runs 3] [--postgres URL]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core.clock import utcnow  # noqa: E402
from core.db import dispose_engines, session_factory  # noqa: E402
from core.settings import Settings  # noqa: E402
from journeys import triggers_job  # noqa: E402
from journeys.enrolment import enrol_many  # noqa: E402
from tests.journeys.scan_world import (  # noqa: E402
    enrol_one_by_one,
    make_scan_world,
    snapshot,
)

SERVER = "postgresql://postgres@127.0.0.1:5432/test"
PATHS: dict[str, Callable[..., Any]] = {"one by one": enrol_one_by_one, "bulk": enrol_many}


def _scan(settings: Settings, workspace_id: str, now: Any, path: str) -> tuple[float, float, Any]:
    """One scan through `path`, rolled back: (scan s, enrolment s, what it wrote, enrolled)."""
    spent = [0.0]
    enrol_path = PATHS[path]

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return enrol_path(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - start

    session = session_factory(settings)()
    try:
        with mock.patch.object(triggers_job, "enrol_many", timed):
            start = time.perf_counter()
            report = triggers_job.scan_triggers(session, workspace_id, now, settings=settings)
            session.flush()
            elapsed = time.perf_counter() - start
        wrote = snapshot(session, workspace_id)
        wrote["outcomes"] = sorted(report.outcomes.items())  # type: ignore[assignment]
    finally:
        session.rollback()
        session.close()
    return elapsed, spent[0], wrote


def measure(settings: Settings, label: str, customers: int, runs: int) -> list[tuple[str, ...]]:
    now = utcnow().replace(microsecond=0) - timedelta(minutes=1)
    start = time.perf_counter()
    world = make_scan_world(settings, customers, now)
    print(f"{label}: {customers:,} customers loaded in {time.perf_counter() - start:.1f} s")
    times: dict[str, list[tuple[float, float]]] = {path: [] for path in PATHS}
    wrote: dict[str, Any] = {}
    for run in range(runs + 1):
        for path in PATHS:
            elapsed, enrolling, wrote[path] = _scan(settings, world.workspace_id, now, path)
            print(f"  run {run} {path}: scan {elapsed:.2f} s, enrolment {enrolling:.2f} s")
            if run:  # run 0 warms caches up
                times[path].append((elapsed, enrolling))
    same = wrote["one by one"] == wrote["bulk"]
    outcomes = dict(wrote["bulk"]["outcomes"])
    rows = []
    for path, samples in times.items():
        scan = statistics.median(s for s, _ in samples)
        enrolling = statistics.median(e for _, e in samples)
        rows.append(
            (
                label,
                path,
                f"{outcomes.get('enrolled', 0):,}",
                f"{scan:.2f}",
                f"{enrolling:.2f}",
                f"{outcomes.get('enrolled', 0) / enrolling:,.0f}" if enrolling else "-",
                "yes" if same else "NO",
            )
        )
    return rows


@contextmanager
def _postgres(server: str) -> Iterator[str | None]:
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(server, autocommit=True, connect_timeout=3) as connection:
            connection.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.Error as exc:
        print(f"PostgreSQL skipped: {exc.__class__.__name__}")
        yield None
        return
    separator = "&" if "?" in server else "?"
    try:
        yield f"{server}{separator}options=-csearch_path%3D{schema}"
    finally:
        dispose_engines()
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per path (after one)")
    parser.add_argument("--postgres", default=os.environ.get("MCOPILOT_TEST_POSTGRES_URL", SERVER))
    args = parser.parse_args()
    rows: list[tuple[str, ...]] = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += measure(Settings(data_dir=Path(tmp)), "SQLite", args.customers, args.runs)
    dispose_engines()
    with _postgres(args.postgres) as url, tempfile.TemporaryDirectory() as tmp:
        if url is not None:
            settings = Settings(data_dir=Path(tmp), database_url=url)
            rows += measure(settings, "PostgreSQL", args.customers, args.runs)
    print()
    print(
        "| database | enrolment | enrolled | scan s (median) | enrolment s | enrolments/s "
        "| same rows |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
