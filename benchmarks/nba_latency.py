"""Next best action latency for one customer, against a per-action SQL peer in the same run.

    python benchmarks/nba_latency.py [--customers 20000] [--orders 400000] [--decisions 2000]
                                     [--postgres URL]

Measured, on a scored demo workspace (SQLite in a temp dir; PostgreSQL too when a URL is
given or MCOPILOT_TEST_POSTGRES_URL answers):
  decide:            the pure decision on a preloaded context (in-process; target p99 <= 2 ms)
  next_best_action:  what the API calls: resolve the customer, load the context (fields,
                     propensities, touches, email events), decide and log the decision
                     (`nba_decisions`); also without the log, interleaved, for its cost
  peer:              the same decision with eligibility asked of the database per action
                     (one segment query per action and customer), the obvious alternative.
The seed asks for under 100 ms per decision.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

# The repository first: run as a file, this folder would come first and benchmarks/scoring.py
# would hide the scoring package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.db import dispose_engines, session_scope
from core.models import Customer
from core.settings import Settings
from scoring.action_store import inventory_of
from scoring.criteria_sql import segment_query
from scoring.demo_loader import generate_into
from scoring.nba import Eligibility, decide
from scoring.nba_context import load_context, next_best_action
from scoring.score_run import run_scores

END = datetime(2026, 11, 1, tzinfo=UTC)
NOW = END + timedelta(hours=9)


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) * 1000, p99 * 1000, statistics.fmean(ordered) * 1000


def timed(calls: list[Callable[[], object]]) -> list[float]:
    samples = []
    for call in calls:
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def measure(settings: Settings, label: str, args: argparse.Namespace) -> list[tuple[str, ...]]:
    started = time.perf_counter()
    generate_into(
        settings,
        "bench",
        customers=args.customers,
        orders=args.orders,
        seed=3,
        end=END,
        create_workspace=True,
    )
    with session_scope(settings) as session:
        workspace_id = session.scalars(select(Customer.workspace_id)).first()
        run_scores(session, workspace_id, END.date())
    print(f"{label}: data and scores ready in {time.perf_counter() - started:.1f} s")
    rows = []
    with session_scope(settings) as session:
        ids = session.scalars(select(Customer.id)).all()
        picked = random.Random(1).sample(list(ids), min(args.decisions, len(ids)))
        inventory = inventory_of(session, workspace_id)
        contexts = [load_context(session, workspace_id, c, inventory, NOW) for c in picked]
        pure = timed([lambda c=c: decide(c, inventory, NOW) for c in contexts])
        # The API path with and without the decision log, interleaved so load hits both alike.
        api, unlogged = [], []
        for c in picked:
            api += timed([lambda c=c: next_best_action(session, workspace_id, c, NOW)])
            unlogged += timed(
                [lambda c=c: next_best_action(session, workspace_id, c, NOW, record=False)]
            )

        def per_action_sql(customer_id: str) -> None:
            context = load_context(session, workspace_id, customer_id, inventory, NOW)
            eligibility = {}
            for action in inventory.actions:
                query = segment_query(workspace_id, action.eligibility).where(
                    Customer.id == customer_id
                )
                eligibility[action.id] = Eligibility(session.scalar(query) is not None)
            decide(replace(context, eligibility=eligibility), inventory, NOW)

        peer = timed([lambda c=c: per_action_sql(c) for c in picked[: max(len(picked) // 4, 1)]])
    for name, samples in (
        ("decide (in-process)", pure),
        ("next_best_action (API function, logged)", api),
        ("next_best_action without the decision log", unlogged),
        ("peer: per-action SQL eligibility", peer),
    ):
        p50, p99, mean = percentiles(samples)
        rows.append((label, name, f"{len(samples)}", f"{p50:.3f}", f"{p99:.3f}", f"{mean:.3f}"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--orders", type=int, default=400_000)
    parser.add_argument("--decisions", type=int, default=2_000)
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "MCOPILOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args()
    rows: list[tuple[str, ...]] = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += measure(Settings(data_dir=Path(tmp)), "SQLite", args)
    dispose_engines()
    try:
        import psycopg

        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.postgres, autocommit=True, connect_timeout=3) as connection:
            connection.execute(f'CREATE SCHEMA "{schema}"')
    except Exception as exc:
        print(f"PostgreSQL skipped: {exc.__class__.__name__}")
    else:
        separator = "&" if "?" in args.postgres else "?"
        url = f"{args.postgres}{separator}options=-csearch_path%3D{schema}"
        try:
            with tempfile.TemporaryDirectory() as tmp:
                rows += measure(Settings(data_dir=Path(tmp), database_url=url), "PostgreSQL", args)
        finally:
            dispose_engines()
            with psycopg.connect(args.postgres, autocommit=True) as connection:
                connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
    print()
    print("| database | path | decisions | p50 ms | p99 ms | mean ms |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
