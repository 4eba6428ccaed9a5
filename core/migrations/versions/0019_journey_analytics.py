"""journey analytics: nba decision log, journey targets, time indexes for the dashboard

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# (table, index, columns): what the dashboard's time-window counts read.
TIME_INDEXES = (
    ("executions", "ix_executions_time", ["workspace_id", "executed_at"]),
    ("journey_tasks", "ix_journey_tasks_updated", ["workspace_id", "updated_at"]),
    ("customer_touches", "ix_customer_touches_time", ["workspace_id", "occurred_at"]),
    ("email_events", "ix_email_events_time", ["workspace_id", "occurred_at"]),
)


def upgrade() -> None:
    op.create_table(
        "nba_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("action_id", sa.String(length=60), nullable=True),
        sa.Column("channel", sa.String(length=10), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("inventory_version", sa.String(length=64), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_nba_decisions_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_nba_decisions_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nba_decisions")),
    )
    with op.batch_alter_table("nba_decisions", schema=None) as batch_op:
        batch_op.create_index("ix_nba_decisions_time", ["workspace_id", "decided_at"], unique=False)
    op.create_table(
        "journey_targets",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("journey_id", sa.String(length=64), nullable=False),
        sa.Column("metric", sa.String(length=30), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("set_by", sa.String(length=100), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_journey_targets_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "journey_id", "metric", name=op.f("pk_journey_targets")
        ),
    )
    for table, name, columns in TIME_INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    for table, name, _ in reversed(TIME_INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
    op.drop_table("journey_targets")
    with op.batch_alter_table("nba_decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_nba_decisions_time")
    op.drop_table("nba_decisions")
