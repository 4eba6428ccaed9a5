"""Test data: customers with hand-set feature, RFM and propensity rows, no orders needed."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from core import workspaces
from core.clock import utcnow
from core.models import Customer, CustomerFeatures, PropensityScore, RfmSnapshot

DEFAULTS: dict[str, Any] = {
    "orders_count": 0,
    "first_order_at": None,
    "last_order_at": None,
    "days_since_first_order": None,
    "days_since_last_order": None,
    "orders_30d": 0,
    "orders_90d": 0,
    "orders_prev_90d": 0,
    "spend_90d_cents": 0,
    "lifetime_spend_cents": 0,
    "avg_order_cents": None,
    "promo_orders": 0,
    "redeemed_ratio": None,
    "pricing_views_7d": 0,
    "pricing_views_30d": 0,
    "events_30d": 0,
    "emails_sent_90d": 0,
    "email_opens_90d": 0,
    "email_clicks_90d": 0,
    "engagement_30d": 0,
    "engagement_prev_30d": 0,
    "engagement_trend": 0.0,
    "open_cart_cents": None,
    "open_cart_updated_at": None,
    "top_category": None,
    "top_category_share": None,
    "preferred_channel": None,
}


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
