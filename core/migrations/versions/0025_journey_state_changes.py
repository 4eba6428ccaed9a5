"""journey_state_changes: every change of a journey's run state, when it took effect

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "journey_state_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("journey_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changed_by", sa.String(length=100), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_journey_state_changes_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_state_changes")),
    )
    with op.batch_alter_table("journey_state_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_journey_state_changes_when",
            ["workspace_id", "journey_id", "changed_at"],
            unique=False,
        )
    # the history starts with each journey's state now, from when it was set
    op.execute(
        "INSERT INTO journey_state_changes "
        "(workspace_id, journey_id, version, state, reason, changed_by, changed_at) "
        "SELECT workspace_id, journey_id, version, state, reason, changed_by, changed_at "
        "FROM journey_states"
    )


def downgrade() -> None:
    with op.batch_alter_table("journey_state_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_journey_state_changes_when")
    op.drop_table("journey_state_changes")
