"""one active enrolment per customer and journey (a partial unique index)

A scan and an exit's transition could each find no active enrolment and both insert one,
under different trigger keys. Any duplicates already there are ended first (the later ones,
as `removed`), with their waiting tasks cancelled.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

LATER = (
    "SELECT later.id FROM journey_enrolments later JOIN journey_enrolments earlier "
    "ON earlier.workspace_id = later.workspace_id AND earlier.journey_id = later.journey_id "
    "AND earlier.customer_id = later.customer_id AND earlier.status = 'active' "
    "AND (earlier.entered_at < later.entered_at "
    "OR (earlier.entered_at = later.entered_at AND earlier.id < later.id)) "
    "WHERE later.status = 'active'"
)


def upgrade() -> None:
    op.execute(
        "UPDATE journey_tasks SET status = 'cancelled', outcome = 'cancelled', "
        "detail = 'a second active enrolment in the journey', claimed_by = NULL, "
        "lease_until = NULL, updated_at = CURRENT_TIMESTAMP "
        f"WHERE status IN ('pending', 'claimed') AND enrolment_id IN ({LATER})"
    )
    op.execute(
        "UPDATE journey_enrolments SET status = 'removed', ended_at = CURRENT_TIMESTAMP, "
        f"exit_reason = 'a second active enrolment in the journey' WHERE id IN ({LATER})"
    )
    with op.batch_alter_table("journey_enrolments", schema=None) as batch_op:
        batch_op.create_index(
            "uq_enrolments_active",
            ["workspace_id", "journey_id", "customer_id"],
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("journey_enrolments", schema=None) as batch_op:
        batch_op.drop_index("uq_enrolments_active")
