"""trigger scan: one firing row per journey, key and outcome; what fired; stream cursors

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("trigger_firings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject", sa.String(length=200), nullable=True))
        batch_op.create_index(
            "uq_trigger_firings_key",
            ["workspace_id", "journey_id", "trigger_key", "outcome"],
            unique=True,
        )
    op.create_table(
        "trigger_cursors",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("journey_id", sa.String(length=64), nullable=False),
        sa.Column("stream", sa.String(length=20), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_trigger_cursors_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "journey_id", "stream", name=op.f("pk_trigger_cursors")
        ),
    )


def downgrade() -> None:
    op.drop_table("trigger_cursors")
    with op.batch_alter_table("trigger_firings", schema=None) as batch_op:
        batch_op.drop_index("uq_trigger_firings_key")
        batch_op.drop_column("subject")
