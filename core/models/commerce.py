"""Products, orders and their items, carts and their items, promotions and their redemptions.

Money is kept in integer cents: exact, and summed the same way by every database.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, ForeignKeyConstraint, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, UTCDateTime

ORDER_STATUSES = ("pending", "paid", "completed", "cancelled", "refunded")
COMPLETED_STATUSES = ("paid", "completed")


class Product(Base):
    __tablename__ = "products"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(String(100), primary_key=True, doc="SKU")
    name: Mapped[str] = mapped_column(String(300))
    category: Mapped[str] = mapped_column(String(100))
    price_cents: Mapped[int] = mapped_column(BigInteger)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        # Covers per-customer aggregates (RFM, features) without touching the table.
        Index(
            "ix_orders_customer_time",
            "workspace_id",
            "customer_id",
            "ordered_at",
            "status",
            "total_cents",
        ),
        Index("ix_orders_time", "workspace_id", "ordered_at"),
    )

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(12))
    total_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))


class OrderWatermark(Base):
    """A workspace's order-write counter. Every transaction that inserts, changes, moves or
    deletes orders increments it (`core.order_log.note_order_write`): the row lock orders
    those writers by commit, so a counter value read before a computation separates the
    writes it saw from the ones it may not have seen. Timestamps cannot: on PostgreSQL a
    transaction stamped before a snapshot can commit after it."""

    __tablename__ = "order_watermarks"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger)


class OrderWrite(Base):
    """One order-writing transaction: its counter value and the earliest order time it
    touched (old or new value); None: any time (a bulk load or delete)."""

    __tablename__ = "order_writes"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    earliest_ordered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OrderItem(Base):
    __tablename__ = "order_items"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "order_id"], ["orders.workspace_id", "orders.id"], ondelete="CASCADE"
        ),
        Index("ix_order_items_order", "workspace_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[str] = mapped_column(String(100))
    product_id: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_cents: Mapped[int] = mapped_column(BigInteger)


class Cart(Base):
    """A shopper's cart. `updated_at` is the row's last write (a conversion or a system clear
    sets it too); `activity_at` is the shopper's last change (created, items added, changed or
    removed), what "inactive over 1 hour" is measured from (seed 002's abandoned cart)."""

    __tablename__ = "carts"
    __table_args__ = (Index("ix_carts_customer", "workspace_id", "customer_id", "updated_at"),)

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10), doc="open|converted|cleared")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    activity_at: Mapped[datetime] = mapped_column(UTCDateTime())
    converted_order_id: Mapped[str | None] = mapped_column(String(100))
    total_cents: Mapped[int] = mapped_column(BigInteger, default=0)


class CartItem(Base):
    __tablename__ = "cart_items"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "cart_id"], ["carts.workspace_id", "carts.id"], ondelete="CASCADE"
        ),
        Index("ix_cart_items_cart", "workspace_id", "cart_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    cart_id: Mapped[str] = mapped_column(String(100))
    product_id: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_cents: Mapped[int] = mapped_column(BigInteger)


class Promotion(Base):
    __tablename__ = "promotions"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), doc="percent|amount")
    value: Mapped[int] = mapped_column(Integer, doc="Percent, or cents off.")
    category: Mapped[str | None] = mapped_column(String(100))


class AppliedPromotion(Base):
    __tablename__ = "applied_promotions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "order_id"], ["orders.workspace_id", "orders.id"], ondelete="CASCADE"
        ),
        Index("ix_applied_promotions_order", "workspace_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[str] = mapped_column(String(100))
    promotion_code: Mapped[str] = mapped_column(String(64))
    discount_cents: Mapped[int] = mapped_column(BigInteger)
