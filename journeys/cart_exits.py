"""Seed 002's abandoned-cart stop: a cart journey ends when an order is created after the
shopper's last change to the cart (`activity_at`: converted) or the cart is cleared (exited).
A set-based check the worker may call for one enrolment or for the workspace, and the sweep
every trigger scan runs first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from core.models import Cart, JourneyEnrolment, Order, TriggerFiring
from journeys.enrolment import end_enrolment
from journeys.trigger_queries import NOT_AN_ORDER
from journeys.trigger_rules import ENROLLED

ORDER_CREATED = "cart_order_created"
CART_CLEARED = "cart_cleared"


@dataclass(frozen=True, slots=True)
class CartStop:
    enrolment_id: str
    journey_id: str
    customer_id: str
    cart_id: str
    status: str
    exit_id: str
    reason: str
    ordered_at: datetime | None


def cart_stops(
    session: Session, workspace_id: str, enrolment_id: str | None = None
) -> list[CartStop]:
    """Active abandoned-cart enrolments (all of the workspace's, or one) whose cart was
    ordered or cleared, with how each should end."""
    first_order = (
        select(func.min(Order.ordered_at))
        .where(
            Order.workspace_id == workspace_id,
            Order.customer_id == JourneyEnrolment.customer_id,
            Order.ordered_at >= Cart.activity_at,
            Order.status.not_in(NOT_AN_ORDER),
        )
        .scalar_subquery()
    )
    query = (
        select(
            JourneyEnrolment.id,
            JourneyEnrolment.journey_id,
            JourneyEnrolment.customer_id,
            TriggerFiring.subject,
            Cart.status,
            first_order.label("ordered_at"),
        )
        .join(
            TriggerFiring,
            and_(
                TriggerFiring.workspace_id == JourneyEnrolment.workspace_id,
                TriggerFiring.journey_id == JourneyEnrolment.journey_id,
                TriggerFiring.trigger_key == JourneyEnrolment.trigger_key,
                TriggerFiring.outcome == ENROLLED,
            ),
        )
        .outerjoin(Cart, and_(Cart.workspace_id == workspace_id, Cart.id == TriggerFiring.subject))
        .where(
            JourneyEnrolment.workspace_id == workspace_id,
            JourneyEnrolment.status == "active",
            JourneyEnrolment.trigger_type == "abandoned_cart",
        )
        .order_by(JourneyEnrolment.id)
    )
    if enrolment_id is not None:
        query = query.where(JourneyEnrolment.id == enrolment_id)
    stops: list[CartStop] = []
    for row in session.execute(query):
        cart = row.subject or ""
        if row.ordered_at is not None or row.status == "converted":
            stops.append(
                CartStop(
                    row.id,
                    row.journey_id,
                    row.customer_id,
                    cart,
                    "converted",
                    ORDER_CREATED,
                    f"an order was created after cart {cart} was last changed",
                    row.ordered_at,
                )
            )
        elif row.status is None or row.status == "cleared":
            stops.append(
                CartStop(
                    row.id,
                    row.journey_id,
                    row.customer_id,
                    cart,
                    "exited",
                    CART_CLEARED,
                    f"cart {cart} was cleared",
                    None,
                )
            )
    return stops


def sweep_cart_exits(session: Session, workspace_id: str, *, now: datetime) -> list[CartStop]:
    """End every abandoned-cart enrolment whose cart was ordered or cleared (their waiting
    steps are cancelled); a conversion is stamped with the order's time."""
    ended: list[CartStop] = []
    for stop in cart_stops(session, workspace_id):
        if not end_enrolment(
            session,
            stop.enrolment_id,
            status=stop.status,
            exit_id=stop.exit_id,
            reason=stop.reason,
            at=now,
        ):
            continue
        if stop.status == "converted":
            session.execute(
                update(JourneyEnrolment)
                .where(JourneyEnrolment.id == stop.enrolment_id)
                .values(converted_at=stop.ordered_at or now)
            )
        ended.append(stop)
    return ended
