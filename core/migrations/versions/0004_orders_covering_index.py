"""orders: the customer index also covers status and total, for per-customer aggregates

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_customer_time")
        batch_op.create_index(
            "ix_orders_customer_time",
            ["workspace_id", "customer_id", "ordered_at", "status", "total_cents"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_customer_time")
        batch_op.create_index(
            "ix_orders_customer_time", ["workspace_id", "customer_id", "ordered_at"], unique=False
        )
