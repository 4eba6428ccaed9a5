"""scoring speed: derived tables without foreign keys, RFM runs with the order watermark,
the order-write log, lifecycle runs (the as-of moves off every stage row)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lifecycle_runs",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_lifecycle_runs_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_lifecycle_runs")),
    )
    op.create_table(
        "order_watermarks",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_order_watermarks_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_order_watermarks")),
    )
    op.create_table(
        "order_writes",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("earliest_ordered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_order_writes_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "seq", name=op.f("pk_order_writes")),
    )
    op.create_table(
        "rfm_runs",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("weights", sa.String(length=20), nullable=False),
        sa.Column("orders_seq", sa.BigInteger(), nullable=False),
        sa.Column("incremental", sa.Boolean(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_rfm_runs_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "as_of", name=op.f("pk_rfm_runs")),
    )
    with op.batch_alter_table("customer_categories", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_customer_categories_customer_id_customers"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_customer_categories_workspace_id_workspaces"), type_="foreignkey"
        )

    with op.batch_alter_table("customer_features", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_customer_features_customer_id_customers"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_customer_features_workspace_id_workspaces"), type_="foreignkey"
        )

    with op.batch_alter_table("domain_events", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_domain_events_workspace_id_workspaces"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_domain_events_customer_id_customers"), type_="foreignkey"
        )

    with op.batch_alter_table("lifecycle_history", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_lifecycle_history_customer_id_customers"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_lifecycle_history_workspace_id_workspaces"), type_="foreignkey"
        )

    # the day the stages were placed as of moves to lifecycle_runs, one row per workspace
    op.execute(
        "INSERT INTO lifecycle_runs (workspace_id, as_of, computed_at) "
        "SELECT workspace_id, max(as_of), CURRENT_TIMESTAMP FROM lifecycle_stages "
        "GROUP BY workspace_id"
    )
    with op.batch_alter_table("lifecycle_stages", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_lifecycle_stages_workspace_id_workspaces"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_lifecycle_stages_customer_id_customers"), type_="foreignkey"
        )
        batch_op.drop_column("as_of")

    with op.batch_alter_table("propensity_scores", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_propensity_scores_customer_id_customers"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_propensity_scores_workspace_id_workspaces"), type_="foreignkey"
        )

    with op.batch_alter_table("rfm_snapshots", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_rfm_snapshots_customer_id_customers"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_rfm_snapshots_workspace_id_workspaces"), type_="foreignkey"
        )

    with op.batch_alter_table("segment_changes", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_segment_changes_run_id_segment_runs"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_segment_changes_workspace_id_workspaces"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_segment_changes_customer_id_customers"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_segment_changes_segment_id_segments"), type_="foreignkey"
        )

    with op.batch_alter_table("segment_members", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_segment_members_customer_id_customers"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_segment_members_workspace_id_workspaces"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_segment_members_segment_id_segments"), type_="foreignkey"
        )


def downgrade() -> None:
    with op.batch_alter_table("segment_members", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_segment_members_segment_id_segments"),
            "segments",
            ["segment_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_segment_members_workspace_id_workspaces"),
            "workspaces",
            ["workspace_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_segment_members_customer_id_customers"),
            "customers",
            ["customer_id"],
            ["id"],
            ondelete="CASCADE",
        )

    with op.batch_alter_table("segment_changes", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_segment_changes_segment_id_segments"),
            "segments",
            ["segment_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_segment_changes_customer_id_customers"),
            "customers",
            ["customer_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_segment_changes_workspace_id_workspaces"),
            "workspaces",
            ["workspace_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_segment_changes_run_id_segment_runs"),
            "segment_runs",
            ["run_id"],
            ["id"],
            ondelete="CASCADE",
        )

    with op.batch_alter_table("rfm_snapshots", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_rfm_snapshots_workspace_id_workspaces"),
            "workspaces",
            ["workspace_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_rfm_snapshots_customer_id_customers"),
            "customers",
            ["customer_id"],
            ["id"],
            ondelete="CASCADE",
        )

    with op.batch_alter_table("propensity_scores", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_propensity_scores_workspace_id_workspaces"),
            "workspaces",
            ["workspace_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_propensity_scores_customer_id_customers"),
            "customers",
            ["customer_id"],
            ["id"],
            ondelete="CASCADE",
        )

    with op.batch_alter_table("lifecycle_stages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("as_of", sa.Date(), nullable=True))
    op.execute(
        "UPDATE lifecycle_stages SET as_of = (SELECT r.as_of FROM lifecycle_runs r "
        "WHERE r.workspace_id = lifecycle_stages.workspace_id)"
    )
    with op.batch_alter_table("lifecycle_stages", schema=None) as batch_op:
        batch_op.alter_column("as_of", existing_type=sa.Date(), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_lifecycle_stages_customer_id_customers"),
            "customers",
            ["customer_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_lifecycle_stages_workspace_id_workspaces"),
            "workspaces",
            ["workspace_id"],
            ["id"],
            ondelete="CASCADE",
        )

    with op.batch_alter_table("lifecycle_history", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_lifecycle_history_workspace_id_workspaces"),
            "workspaces",
            ["workspace_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_lifecycle_history_customer_id_customers"),
            "customers",
            ["customer_id"],
            ["id"],
            ondelete="CASCADE",
        )

    with op.batch_alter_table("domain_events", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_domain_events_customer_id_customers"),
            "customers",
            ["customer_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_domain_events_workspace_id_workspaces"),
            "workspaces",
            ["workspace_id"],
            ["id"],
            ondelete="CASCADE",
        )

    with op.batch_alter_table("customer_features", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_customer_features_workspace_id_workspaces"),
            "workspaces",
            ["workspace_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_customer_features_customer_id_customers"),
            "customers",
            ["customer_id"],
            ["id"],
            ondelete="CASCADE",
        )

    with op.batch_alter_table("customer_categories", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_customer_categories_workspace_id_workspaces"),
            "workspaces",
            ["workspace_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_customer_categories_customer_id_customers"),
            "customers",
            ["customer_id"],
            ["id"],
            ondelete="CASCADE",
        )

    op.drop_table("rfm_runs")
    op.drop_table("order_writes")
    op.drop_table("order_watermarks")
    op.drop_table("lifecycle_runs")
