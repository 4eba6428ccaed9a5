"""rfm snapshots

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rfm_snapshots",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("recency_days", sa.Integer(), nullable=True),
        sa.Column("frequency", sa.Integer(), nullable=False),
        sa.Column("monetary_cents", sa.BigInteger(), nullable=False),
        sa.Column("r", sa.Integer(), nullable=False),
        sa.Column("f", sa.Integer(), nullable=False),
        sa.Column("m", sa.Integer(), nullable=False),
        sa.Column("composite", sa.Integer(), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("weights", sa.String(length=20), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_rfm_snapshots_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_rfm_snapshots_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "as_of", "customer_id", name=op.f("pk_rfm_snapshots")
        ),
    )
    with op.batch_alter_table("rfm_snapshots", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rfm_snapshots_composite", ["workspace_id", "as_of", "composite"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("rfm_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_rfm_snapshots_composite")

    op.drop_table("rfm_snapshots")
