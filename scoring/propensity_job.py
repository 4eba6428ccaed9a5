"""Write every active customer's churn risk and upgrade propensity; read one customer's back.

Each score carries its reason codes. Reads the stored `customer_features` (as of the day;
`write_features` runs first, in the same transaction) in one query, scores them vectorized
with the newest stored model per target (training first when there is none usable or it is
older than `max_model_age_days`), and replaces the workspace's `propensity_scores` with one
bulk insert. Nothing is committed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.bulk import bulk_insert
from core.errors import Conflict
from core.models import Customer, CustomerFeatures, PropensityModel, PropensityScore
from scoring.propensity_config import TARGETS, PropensityConfig
from scoring.propensity_inputs import FEATURE_COLUMNS, columns_from_rows
from scoring.propensity_reasons import top_reasons
from scoring.propensity_scoring import score_target, usable
from scoring.propensity_training import train_models


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    text: str
    value: Any
    direction: str
    weight: float


@dataclass(frozen=True, slots=True)
class Propensities:
    """One customer's scores (0-1) and the reasons behind each, largest first."""

    customer_id: str
    as_of: date
    churn_risk: float
    upgrade_propensity: float
    churn_reasons: list[Reason]
    upgrade_reasons: list[Reason]
    churn_source: str
    upgrade_source: str

    def headline(self) -> str:
        """Like "Churn risk: 23% | Upgrade probability: 14%"."""
        return (
            f"Churn risk: {round(100 * self.churn_risk)}% | "
            f"Upgrade probability: {round(100 * self.upgrade_propensity)}%"
        )

    def rationale(self, target: str) -> str:
        """The reasons that raise the target's score, as one sentence ("" when none do)."""
        reasons = self.churn_reasons if target == "churn" else self.upgrade_reasons
        texts = [r.text for r in reasons if r.direction == "up"]
        if not texts:
            return ""
        joined = texts[0] if len(texts) == 1 else ", ".join(texts[:-1]) + " and " + texts[-1]
        return f"Because of {joined}."


def newest_model(
    session: Session, workspace_id: str, target: str, as_of: date
) -> PropensityModel | None:
    """The most recently trained model of the target that saw no data after the as-of day."""
    return session.scalars(
        select(PropensityModel)
        .where(
            PropensityModel.workspace_id == workspace_id,
            PropensityModel.target == target,
            PropensityModel.as_of <= as_of,
        )
        .order_by(PropensityModel.trained_at.desc(), PropensityModel.id.desc())
        .limit(1)
    ).first()


def current_models(
    session: Session, workspace_id: str, as_of: date, config: PropensityConfig
) -> dict[str, PropensityModel]:
    """The model to score with per target, training both first when one is missing, of an
    older kind or more than `max_model_age_days` older than the as-of day."""
    oldest = as_of - timedelta(days=config.max_model_age_days)

    def fresh(model: PropensityModel | None) -> bool:
        return model is not None and model.as_of >= oldest and usable(model.parameters)

    models = {t: newest_model(session, workspace_id, t, as_of) for t in TARGETS}
    if not all(fresh(m) for m in models.values()):
        train_models(session, workspace_id, as_of, config)
        models = {t: newest_model(session, workspace_id, t, as_of) for t in TARGETS}
    return {t: m for t, m in models.items() if m is not None}


def write_propensities(
    session: Session, workspace_id: str, as_of: date, config: PropensityConfig | None = None
) -> int:
    """Replace the workspace's propensity scores with fresh ones as of the day; the count."""
    config = config or PropensityConfig()
    rows = session.execute(
        select(
            CustomerFeatures.customer_id,
            CustomerFeatures.as_of,
            *(getattr(CustomerFeatures, name) for name in FEATURE_COLUMNS),
        )
        .where(CustomerFeatures.workspace_id == workspace_id)
        .order_by(CustomerFeatures.customer_id)
    ).all()
    fix = "write the features for the day first (write_features), in the same run"
    stale = {row[1] for row in rows} - {as_of}
    if stale:
        raise Conflict(
            f"the stored customer features are as of {min(stale)}, not {as_of}",
            field="as_of",
            fix=fix,
        )
    active = session.scalar(
        select(func.count())
        .select_from(Customer)
        .where(Customer.workspace_id == workspace_id, Customer.merged_into.is_(None))
    )
    if active != len(rows):
        raise Conflict(
            f"the stored customer features cover {len(rows)} of {active} active customers",
            field="as_of",
            fix=fix,
        )
    models = current_models(session, workspace_id, as_of, config)
    columns = columns_from_rows([row[2:] for row in rows], FEATURE_COLUMNS)
    scored = {}
    for target in TARGETS:
        result = score_target(models[target].parameters, target, columns)
        scored[target] = (
            result.probability,
            top_reasons(result, columns, config.reasons, config.currency),
        )
    session.execute(delete(PropensityScore).where(PropensityScore.workspace_id == workspace_id))
    n = len(rows)
    bulk_insert(
        session,
        PropensityScore.__table__,  # type: ignore[arg-type]
        {
            "workspace_id": [workspace_id] * n,
            "customer_id": [row[0] for row in rows],
            "as_of": [as_of.isoformat()] * n,
            "churn_risk": np.asarray(scored["churn"][0], dtype=float),
            "upgrade_propensity": np.asarray(scored["upgrade"][0], dtype=float),
            "churn_reasons": scored["churn"][1],
            "upgrade_reasons": scored["upgrade"][1],
            "churn_source": [models["churn"].source] * n,
            "upgrade_source": [models["upgrade"].source] * n,
        },
    )
    return n


def _reasons(items: list[dict[str, Any]]) -> list[Reason]:
    return [
        Reason(r["code"], r["text"], r.get("value"), r["direction"], r["weight"]) for r in items
    ]


def propensities_of(session: Session, workspace_id: str, customer_id: str) -> Propensities | None:
    """One customer's stored scores with their reasons; None when not scored."""
    row = session.get(PropensityScore, (workspace_id, customer_id))
    if row is None:
        return None
    return Propensities(
        customer_id=row.customer_id,
        as_of=row.as_of,
        churn_risk=row.churn_risk,
        upgrade_propensity=row.upgrade_propensity,
        churn_reasons=_reasons(row.churn_reasons),
        upgrade_reasons=_reasons(row.upgrade_reasons),
        churn_source=row.churn_source,
        upgrade_source=row.upgrade_source,
    )
