"""cart activity: carts.activity_at, the shopper's last change to the cart

Backfilled from `updated_at` for carts not converted (their last write was the shopper's) and
from `created_at` for converted ones: a conversion overwrote `updated_at` with the order's
time, so the shopper's last activity before the order is lost and an old converted cart keeps
the approximation the recovery KPI used before (its creation as its last known activity).

On SQLite, setting NOT NULL (and dropping the column) rebuilds the carts table, and dropping
the old table with foreign keys on deletes every cart item by cascade (the pragma cannot be
turned off inside the migration's transaction): the items are kept aside and put back.

Revision ID: 0023
Revises: 0020
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0020"
branch_labels = None
depends_on = None

ITEM_COLUMNS = "id, workspace_id, cart_id, product_id, quantity, unit_price_cents"


@contextmanager
def _cart_items_kept() -> Iterator[None]:
    """Around a rebuild of carts on SQLite: the cart items as they were, afterwards."""
    if op.get_bind().dialect.name != "sqlite":
        yield
        return
    op.execute(f"CREATE TEMPORARY TABLE cart_items_kept AS SELECT {ITEM_COLUMNS} FROM cart_items")
    yield
    op.execute(
        f"INSERT INTO cart_items ({ITEM_COLUMNS}) SELECT {ITEM_COLUMNS} FROM cart_items_kept"
    )
    op.execute("DROP TABLE cart_items_kept")


def upgrade() -> None:
    with op.batch_alter_table("carts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("activity_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE carts SET activity_at = CASE WHEN status = 'converted' "
        "OR converted_order_id IS NOT NULL THEN created_at ELSE updated_at END"
    )
    with _cart_items_kept(), op.batch_alter_table("carts", schema=None) as batch_op:
        batch_op.alter_column(
            "activity_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )


def downgrade() -> None:
    with _cart_items_kept(), op.batch_alter_table("carts", schema=None) as batch_op:
        batch_op.drop_column("activity_at")
