"""Load Segment-spec messages into a workspace: profiles, identities, contact addresses (phone,
push token), consent, events, orders, carts and email engagement. Idempotent by messageId.

Every line is validated first (bad rows are reported with line number and field, and left
out); the valid messages then load in one transaction, so an import never half-writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core import workspaces
from core.clock import utcnow
from core.db import refresh_planner_statistics, session_scope
from core.errors import InvalidInput
from core.models import (
    AppliedPromotion,
    Cart,
    CartItem,
    ChannelConsent,
    Customer,
    EmailEvent,
    Event,
    Order,
    OrderItem,
    Product,
)
from core.order_log import note_order_write
from core.settings import Settings
from scoring.commerce_events import (
    CartFact,
    ConsentFact,
    ContactFact,
    EmailFact,
    Fact,
    Item,
    OrderFact,
    OrderStatusFact,
    ProfileFact,
    facts_of,
)
from scoring.contact_identities import claim_address
from scoring.identity import Resolver
from scoring.segment_messages import Page, Parsed, RowError, Track, parse_line

LOADED_TABLES = (
    "customers",
    "customer_identities",
    "channel_consents",
    "events",
    "email_events",
    "orders",
    "order_items",
    "carts",
    "cart_items",
    "products",
    "applied_promotions",
)
ID_BATCH = 500


@dataclass
class ImportReport:
    loaded: int = 0
    duplicates: int = 0
    customers_created: int = 0
    customers_merged: int = 0
    errors: list[RowError] = field(default_factory=list)


def read_lines(path: Path) -> Iterable[tuple[int, str]]:
    """Non-blank lines with their 1-based numbers; a file that cannot be read is bad input."""
    try:
        with path.open(encoding="utf-8") as handle:
            for number, text in enumerate(handle, start=1):
                if text.strip():
                    yield number, text
    except FileNotFoundError:
        raise InvalidInput(f"no such file: {str(path)!r}", field="FILE") from None
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"{str(path)!r} is not UTF-8 text (byte {exc.start})",
            field="FILE",
            fix="export the events as UTF-8 JSON lines",
        ) from None


def import_events(settings: Settings, workspace_slug: str, path: str | Path) -> ImportReport:
    """Validate every line of a JSON-lines file, then load the valid messages atomically."""
    report = ImportReport()
    valid: list[tuple[Parsed, list[Fact]]] = []
    for number, text in read_lines(Path(path)):
        for parsed in parse_line(text, number):
            if isinstance(parsed, RowError):
                report.errors.append(parsed)
                continue
            facts = facts_of(parsed.message, parsed.line, parsed.prefix)
            if isinstance(facts, RowError):
                report.errors.append(facts)
            else:
                valid.append((parsed, facts))
    with session_scope(settings) as session:
        workspace = workspaces.get_or_raise(session, workspace_slug)
        load(session, workspace.id, valid, report)
        refresh_planner_statistics(session, LOADED_TABLES)
    return report


def _known_message_ids(session: Session, workspace_id: str, ids: list[str]) -> set[str]:
    known: set[str] = set()
    for i in range(0, len(ids), ID_BATCH):
        known.update(
            session.scalars(
                select(Event.message_id).where(
                    Event.workspace_id == workspace_id, Event.message_id.in_(ids[i : i + ID_BATCH])
                )
            )
        )
    return known


def load(
    session: Session,
    workspace_id: str,
    messages: list[tuple[Parsed, list[Fact]]],
    report: ImportReport,
) -> None:
    """Apply validated messages in order, inside the caller's transaction."""
    seen = _known_message_ids(session, workspace_id, [p.message.message_id for p, _ in messages])
    resolver = Resolver(session, workspace_id)
    received = utcnow()
    for parsed, facts in messages:
        message = parsed.message
        if message.message_id in seen:
            report.duplicates += 1
            continue
        seen.add(message.message_id)
        at = message.timestamp or received
        customer_id = resolver.resolve(
            user_id=message.user_id, anonymous_id=message.anonymous_id, email=message.email, at=at
        )
        name = (
            message.event
            if isinstance(message, Track)
            else (message.name if isinstance(message, Page) else None)
        )
        session.add(
            Event(
                workspace_id=workspace_id,
                message_id=message.message_id,
                type=message.type,
                name=name,
                customer_id=customer_id,
                user_id=message.user_id,
                anonymous_id=message.anonymous_id,
                properties=getattr(message, "properties", None) or getattr(message, "traits", {}),
                timestamp=at,
                received_at=received,
            )
        )
        customer = session.get_one(Customer, customer_id)
        customer.last_seen_at = max(customer.last_seen_at, at)
        customer.first_seen_at = min(customer.first_seen_at, at)
        for fact in facts:
            _apply(session, workspace_id, customer, fact, at)
        session.flush()
        report.loaded += 1
    report.customers_created += resolver.created
    report.customers_merged += resolver.merged


def _apply(
    session: Session, workspace_id: str, customer: Customer, fact: Fact, at: datetime
) -> None:
    if isinstance(fact, ProfileFact):
        customer.traits = {**(customer.traits or {}), **fact.traits}
        customer.email = fact.email or customer.email
        customer.timezone = fact.timezone or customer.timezone
        customer.locale = fact.locale or customer.locale
        if fact.preferred_channels is not None:
            customer.preferred_channels = list(fact.preferred_channels)
        customer.updated_at = at
    elif isinstance(fact, ContactFact):
        claim_address(session, workspace_id, customer.id, fact.kind, fact.value, at)
    elif isinstance(fact, ConsentFact):
        current = session.get(ChannelConsent, (workspace_id, customer.id, fact.channel))
        if current is None:
            session.add(
                ChannelConsent(
                    workspace_id=workspace_id,
                    customer_id=customer.id,
                    channel=fact.channel,
                    status="granted" if fact.granted else "revoked",
                    source=fact.source,
                    recorded_at=at,
                )
            )
        elif at >= current.recorded_at:  # an older message never overrides a newer choice
            current.status = "granted" if fact.granted else "revoked"
            current.source, current.recorded_at = fact.source, at
    elif isinstance(fact, EmailFact):
        session.add(
            EmailEvent(
                workspace_id=workspace_id,
                customer_id=customer.id,
                campaign_id=fact.campaign_id,
                type=fact.type,
                occurred_at=at,
            )
        )
    elif isinstance(fact, OrderFact):
        _apply_order(session, workspace_id, customer.id, fact, at)
    elif isinstance(fact, OrderStatusFact):
        order = session.get(Order, (workspace_id, fact.order_id))
        if order is not None:
            note_order_write(session, workspace_id, order.ordered_at)
            order.status = fact.status
    elif isinstance(fact, CartFact):
        _apply_cart(session, workspace_id, customer.id, fact, at)


def _ensure_product(session: Session, workspace_id: str, item: Item) -> None:
    if session.get(Product, (workspace_id, item.product_id)) is None:
        session.add(
            Product(
                workspace_id=workspace_id,
                id=item.product_id,
                name=item.name,
                category=item.category,
                price_cents=item.price_cents,
            )
        )
        session.flush()


def _apply_order(
    session: Session, workspace_id: str, customer_id: str, fact: OrderFact, at: datetime
) -> None:
    order = session.get(Order, (workspace_id, fact.order_id))
    if order is None:
        note_order_write(session, workspace_id, at)
        order = Order(workspace_id=workspace_id, id=fact.order_id)
        session.add(order)
    else:  # a repeat may move the order in time: the earlier of its two times
        note_order_write(session, workspace_id, min(order.ordered_at, at))
    order.customer_id, order.ordered_at, order.status = customer_id, at, "completed"
    order.total_cents, order.currency = fact.total_cents, fact.currency
    session.flush()
    session.execute(
        delete(OrderItem).where(
            OrderItem.workspace_id == workspace_id, OrderItem.order_id == fact.order_id
        )
    )
    for item in fact.items:
        _ensure_product(session, workspace_id, item)
        session.add(
            OrderItem(
                workspace_id=workspace_id,
                order_id=fact.order_id,
                product_id=item.product_id,
                quantity=item.quantity,
                unit_price_cents=item.price_cents,
            )
        )
    if fact.coupon:
        session.execute(
            delete(AppliedPromotion).where(
                AppliedPromotion.workspace_id == workspace_id,
                AppliedPromotion.order_id == fact.order_id,
            )
        )
        session.add(
            AppliedPromotion(
                workspace_id=workspace_id,
                order_id=fact.order_id,
                promotion_code=fact.coupon,
                discount_cents=fact.discount_cents,
            )
        )
    if fact.cart_id:  # the order is not the shopper changing the cart: activity_at stays
        cart = session.get(Cart, (workspace_id, fact.cart_id))
        if cart is not None:
            cart.status, cart.converted_order_id, cart.updated_at = "converted", fact.order_id, at


def _apply_cart(
    session: Session, workspace_id: str, customer_id: str, fact: CartFact, at: datetime
) -> None:
    cart = session.get(Cart, (workspace_id, fact.cart_id))
    if cart is None:
        cart = Cart(
            workspace_id=workspace_id,
            id=fact.cart_id,
            customer_id=customer_id,
            status="open",
            created_at=at,
            updated_at=at,
            activity_at=at,
            total_cents=0,
        )
        session.add(cart)
        session.flush()
    _ensure_product(session, workspace_id, fact.item)
    if fact.removed:
        session.execute(
            delete(CartItem).where(
                CartItem.workspace_id == workspace_id,
                CartItem.cart_id == fact.cart_id,
                CartItem.product_id == fact.item.product_id,
            )
        )
    else:
        session.add(
            CartItem(
                workspace_id=workspace_id,
                cart_id=fact.cart_id,
                product_id=fact.item.product_id,
                quantity=fact.item.quantity,
                unit_price_cents=fact.item.price_cents,
            )
        )
    session.flush()
    items = session.scalars(
        select(CartItem).where(
            CartItem.workspace_id == workspace_id, CartItem.cart_id == fact.cart_id
        )
    ).all()
    cart.total_cents = sum(i.quantity * i.unit_price_cents for i in items)
    cart.updated_at = max(cart.updated_at, at)
    cart.activity_at = max(cart.activity_at, at)
    if cart.status == "converted":
        return
    cart.status = "open" if items else "cleared"
