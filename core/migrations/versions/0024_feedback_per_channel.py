"""feedback events are unique per channel: two providers may number their events alike

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message_events", schema=None) as batch_op:
        batch_op.drop_constraint("uq_message_events_event", type_="unique")
        batch_op.create_unique_constraint(
            "uq_message_events_event", ["workspace_id", "channel", "event_id"]
        )


def downgrade() -> None:
    # events two providers numbered alike cannot share one id again: the later one goes
    op.execute(
        "DELETE FROM message_events WHERE id IN (SELECT later.id FROM message_events later "
        "JOIN message_events earlier ON earlier.workspace_id = later.workspace_id "
        "AND earlier.event_id = later.event_id AND earlier.id < later.id)"
    )
    with op.batch_alter_table("message_events", schema=None) as batch_op:
        batch_op.drop_constraint("uq_message_events_event", type_="unique")
        batch_op.create_unique_constraint("uq_message_events_event", ["workspace_id", "event_id"])
