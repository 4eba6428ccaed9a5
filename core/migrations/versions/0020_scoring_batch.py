"""scoring batch speed: rfm_snapshots loses its composite index (written daily, hardly read)

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_rfm_snapshots_composite", table_name="rfm_snapshots")


def downgrade() -> None:
    op.create_index(
        "ix_rfm_snapshots_composite",
        "rfm_snapshots",
        ["workspace_id", "as_of", "composite"],
        unique=False,
    )
