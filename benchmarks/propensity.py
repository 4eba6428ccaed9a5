"""Churn and upgrade propensity on the demo data: AUC and Brier score on the held-out time
window for the model and its peers, and the training and scoring time.

    python benchmarks/propensity.py [--customers 20000] [--orders 400000] [--seed 1]
                                    [--data-dir DIR] [--database-url URL]

The demo data (SQLite in a temporary directory unless told otherwise) ends on the as-of day.
Per target with horizon H, the model is fitted on the features and labels at D - 2H and
scored on the held-out window at D - H (labels from the H days up to D, which it never saw);
then it is refitted at D - H for today's scores. Peers on the same held-out customers:
  rules     the rule-based fallback (deterministic points, no fitting)
  constant  every customer gets the positive rate of the training window
Timings: features (write_features), training (4 training-matrix queries and 4 fits) and
scoring (one read of the stored features, vectorized scores and reasons, one bulk insert).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, text

# The repository first: run as a file, this folder would come first and benchmarks/scoring.py
# would hide the scoring package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.db import session_scope
from core.models import PropensityScore, Workspace
from core.settings import Settings
from scoring.demo_data import default_end
from scoring.demo_loader import LOAD_ORDER, generate_into
from scoring.features_job import write_features
from scoring.propensity_job import propensities_of, write_propensities
from scoring.propensity_training import train_models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--orders", type=int, default=400_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--database-url", default=None, help="default: SQLite in the data dir")
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="mcopilot-propensity-"))
    settings = Settings(data_dir=data_dir, database_url=args.database_url)
    end = default_end()
    as_of = (end - timedelta(days=1)).date()

    started = time.perf_counter()
    report = generate_into(
        settings,
        "bench",
        customers=args.customers,
        orders=args.orders,
        seed=args.seed,
        end=end,
        create_workspace=True,
        replace=True,
    )
    with session_scope(settings) as session:
        if session.get_bind().dialect.name == "postgresql":  # fresh tables have no statistics
            for model in LOAD_ORDER:
                session.execute(text(f'ANALYZE "{model.__tablename__}"'))
        workspace_id = session.scalars(select(Workspace.id).where(Workspace.slug == "bench")).one()
    print(
        f"demo data: {args.customers:,} customers, {args.orders:,} orders, "
        f"{report.rows.get('events', 0):,} web events, as of {as_of} "
        f"({time.perf_counter() - started:.1f} s to generate and load; "
        f"{settings.effective_database_url.split(':', 1)[0]})"
    )

    timings = {}
    with session_scope(settings) as session:
        started = time.perf_counter()
        write_features(session, workspace_id, as_of)
        timings["features"] = time.perf_counter() - started
        started = time.perf_counter()
        summaries = train_models(session, workspace_id, as_of)
        timings["training"] = time.perf_counter() - started
        started = time.perf_counter()
        scored = write_propensities(session, workspace_id, as_of)
        timings["scoring"] = time.perf_counter() - started
        examples = {
            target: propensities_of(
                session,
                workspace_id,
                session.scalars(
                    select(PropensityScore.customer_id)
                    .where(PropensityScore.workspace_id == workspace_id)
                    .order_by(column.desc(), PropensityScore.customer_id)
                ).first()
                or "",
            )
            for target, column in (
                ("churn", PropensityScore.churn_risk),
                ("upgrade", PropensityScore.upgrade_propensity),
            )
        }

    print("\nHELD-OUT WINDOW (never seen by the model)")
    print(
        f"  {'target':<8} {'scorer':<9} {'AUC':>6} {'Brier':>7} {'mean p':>7} "
        f"{'observed':>8}  held-out customers (positives), cutoffs"
    )
    for summary in summaries:
        m = summary.metrics
        peers = {"model" if summary.source == "model" else "rules": m, **m.get("peers", {})}
        for name, figures in peers.items():
            auc = "-" if figures.get("auc") is None else f"{figures['auc']:.3f}"
            brier = "-" if figures.get("brier") is None else f"{figures['brier']:.4f}"
            mean = figures.get("mean_predicted")
            print(
                f"  {summary.target:<8} {name:<9} {auc:>6} {brier:>7} "
                f"{'-' if mean is None else f'{mean:.3f}':>7} {m['observed_rate'] or 0:>8.3f}  "
                f"{m['rows']:,} ({m['positives']:,}), train {m['train_cutoff']} "
                f"-> held out {m['holdout_cutoff']}"
            )
        if summary.source == "model":
            print(f"  {'':<8} inputs kept: {', '.join(m['inputs'])}")
        else:
            print(f"  {'':<8} {m['reason']}")

    print("\nTIME (s)")
    print(f"  features as of the day     {timings['features']:7.2f}")
    print(f"  training (both targets)    {timings['training']:7.2f}")
    print(
        f"  scoring {scored:,} customers   {timings['scoring']:7.2f}"
        f"  ({scored / max(timings['scoring'], 1e-9):,.0f} customers/s, with reasons)"
    )

    print("\nEXAMPLES")
    for target, result in examples.items():
        if result is None:
            continue
        print(f"  highest {target}: {result.headline()}")
        print(f"    {result.rationale(target)}")


if __name__ == "__main__":
    main()
