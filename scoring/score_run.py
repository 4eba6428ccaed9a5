"""`score run`: every score of a workspace recomputed as one batch, in one transaction.

RFM snapshot (from the previous day's when no order it counted changed since, see
`scoring.rfm_plan`), live features, propensities, lifecycle stages (only changed customers
written), then segment membership with diffs; each step one or a few set-based SQL
statements (propensities: one read of the feature matrix, scored with numpy, one bulk
write), so the same code runs on SQLite and PostgreSQL and a failure anywhere leaves the
previous scores in place. The propensity models are trained first when missing or older than
their maximum age (30 days).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from core import workspaces
from core.db import session_scope
from core.settings import Settings
from core.statistics import analyze_stale
from scoring.features_job import write_features
from scoring.lifecycle import LifecycleConfig
from scoring.lifecycle_job import LifecycleSummary, write_lifecycle
from scoring.propensity_config import PropensityConfig
from scoring.propensity_job import write_propensities
from scoring.rfm import RfmConfig
from scoring.rfm_job import write_snapshot
from scoring.segment_refresh import RunSummary, refresh_many
from scoring.segments import list_all, unscored_customers

# Written just before the queries that read them: without fresh statistics PostgreSQL plans
# the lifecycle and segment queries as nested loops over "empty" tables.
WRITTEN_TABLES = ("rfm_snapshots", "customer_features", "customer_categories", "lifecycle_history")


@dataclass
class ScoreRunReport:
    as_of: date
    customers: int = 0
    lifecycle: LifecycleSummary | None = None
    propensities: int = 0
    segments: list[RunSummary] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def _timed(report: ScoreRunReport, name: str, step: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = step()
    report.seconds[name] = time.perf_counter() - started
    return result


def run_scores(
    session: Session,
    workspace_id: str,
    as_of: date,
    *,
    rfm: RfmConfig | None = None,
    lifecycle: LifecycleConfig | None = None,
    propensity: PropensityConfig | None = None,
) -> ScoreRunReport:
    report = ScoreRunReport(as_of)
    report.customers = _timed(
        report, "rfm", lambda: write_snapshot(session, workspace_id, as_of, rfm or RfmConfig())
    )
    _timed(report, "features", lambda: write_features(session, workspace_id, as_of))
    _timed(report, "statistics", lambda: analyze_stale(session, WRITTEN_TABLES))
    report.propensities = _timed(
        report,
        "propensities",
        lambda: write_propensities(session, workspace_id, as_of, propensity),
    )
    analyze_stale(session, ("propensity_scores",))
    report.lifecycle = _timed(
        report, "lifecycle", lambda: write_lifecycle(session, workspace_id, as_of, lifecycle)
    )
    report.segments = _timed(report, "segments", lambda: refresh_all(session, workspace_id))
    return report


def refresh_all(session: Session, workspace_id: str) -> list[RunSummary]:
    """Every segment of the workspace, refreshed together in this transaction (one pass over
    the customers for all of them); customers without features counted once."""
    segments = list_all(session, workspace_id)
    if not segments:
        return []
    return refresh_many(session, segments, unscored=unscored_customers(session, workspace_id))


def run_scores_for(
    settings: Settings, workspace_slug: str, as_of: date, **configs: Any
) -> ScoreRunReport:
    with session_scope(settings) as session:
        workspace = workspaces.get_or_raise(session, workspace_slug)
        return run_scores(session, workspace.id, as_of, **configs)
