"""journey worker: channel failures per task, consumer cursors

Revision ID: 0017
Revises: 0013, 0014
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = ("0013", "0014")  # merges the channels branch head; the lead re-chains
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("journey_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failures", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "journey_cursors",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_journey_cursors_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "name", name=op.f("pk_journey_cursors")),
    )


def downgrade() -> None:
    op.drop_table("journey_cursors")
    with op.batch_alter_table("journey_tasks", schema=None) as batch_op:
        batch_op.drop_column("failures")
