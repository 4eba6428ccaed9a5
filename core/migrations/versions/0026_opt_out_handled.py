"""opt-out sweep: domain events marked handled instead of a cursor on their id

The sweep's cursor on domain_events.id skipped an opt-out whose transaction took its id before,
and committed after, one the sweep had read. Opt-outs are now marked `handled_at` when swept;
those the cursor had passed are marked handled as of the cursor's last move.

Revision ID: 0026
Revises: 0022
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0022"
branch_labels = None
depends_on = None

UNHANDLED_OPT_OUTS = "name = 'customer.opted_out' AND handled_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("domain_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True))
    cursor = (
        "SELECT {column} FROM journey_cursors c WHERE c.workspace_id = domain_events.workspace_id"
        " AND c.name = 'opt_outs'"
    )
    op.execute(
        f"UPDATE domain_events SET handled_at = ({cursor.format(column='c.updated_at')}) "
        f"WHERE name = 'customer.opted_out' AND id <= ({cursor.format(column='c.position')})"
    )
    op.create_index(
        "ix_domain_events_opt_outs_waiting",
        "domain_events",
        ["workspace_id", "id"],
        unique=False,
        sqlite_where=sa.text(UNHANDLED_OPT_OUTS),
        postgresql_where=sa.text(UNHANDLED_OPT_OUTS),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_domain_events_opt_outs_waiting",
        table_name="domain_events",
        sqlite_where=sa.text(UNHANDLED_OPT_OUTS),
        postgresql_where=sa.text(UNHANDLED_OPT_OUTS),
    )
    with op.batch_alter_table("domain_events", schema=None) as batch_op:
        batch_op.drop_column("handled_at")
