"""Test data: customers with hand-set feature, RFM and propensity rows, no orders needed;
one customer at a time by id, re-dated per day (lifecycle runs over several days)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from core import workspaces
from core.clock import utcnow
from core.models import Customer, CustomerFeatures, PropensityScore, RfmSnapshot
from tests.scoring.segment_fixtures import NO_ORDER, feature_row

DEFAULTS: dict[str, Any] = feature_row(**NO_ORDER)


def workspace_id(session: Session, slug: str = "shop") -> str:
    return workspaces.get_or_create(session, slug)[0].id


def add_customer(
    session: Session,
    ws: str,
    customer_id: str,
    as_of: date,
    *,
    composite: int | None = None,
    churn_risk: float | None = None,
    upgrade_propensity: float | None = None,
    **features: Any,
) -> None:
    """A customer with a features row as of the day (defaults: a prospect with no activity)."""
    unknown = set(features) - set(DEFAULTS)
    assert not unknown, unknown
    if session.get(Customer, customer_id) is None:
        session.add(Customer(id=customer_id, workspace_id=ws, user_id=customer_id.upper()))
        session.flush()
    row = session.get(CustomerFeatures, (ws, customer_id))
    values = {**DEFAULTS, **features}
    if row is None:
        session.add(
            CustomerFeatures(
                workspace_id=ws,
                customer_id=customer_id,
                as_of=as_of,
                computed_at=utcnow(),
                **values,
            )
        )
    else:
        row.as_of = as_of
        for name, value in values.items():
            setattr(row, name, value)
    if composite is not None:
        session.merge(
            RfmSnapshot(
                workspace_id=ws,
                as_of=as_of,
                customer_id=customer_id,
                recency_days=features.get("days_since_last_order"),
                frequency=features.get("orders_count", 0),
                monetary_cents=features.get("lifetime_spend_cents", 0),
                r=5,
                f=5,
                m=5,
                composite=composite,
                window_days=180,
                weights="4,3,3",
                computed_at=utcnow(),
            )
        )
    if churn_risk is not None or upgrade_propensity is not None:
        session.merge(
            PropensityScore(
                workspace_id=ws,
                customer_id=customer_id,
                as_of=as_of,
                churn_risk=churn_risk or 0.0,
                upgrade_propensity=upgrade_propensity or 0.0,
                churn_reasons=[],
                upgrade_reasons=[],
                churn_source="rules",
                upgrade_source="rules",
            )
        )
    session.flush()
