"""Site safety policy and physicians' readings of the train-duration table.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Upgrade."""
    op.create_table(
        "safety_cell_readings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=32), nullable=False),
        sa.Column("frequency_hz", sa.Float(), nullable=False),
        sa.Column("intensity_pct_mt", sa.Float(), nullable=False),
        sa.Column("value_s", sa.Float(), nullable=False),
        sa.Column("lower_bound", sa.Boolean(), nullable=False),
        sa.Column("physician", sa.String(length=64), nullable=False),
        sa.Column("read_on", sa.Date(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_cell_readings")),
    )
    op.create_index(
        "ix_safety_cell_readings_site_cell",
        "safety_cell_readings",
        ["site", "frequency_hz", "intensity_pct_mt"],
        unique=False,
    )
    op.create_table(
        "site_safety_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("train_duration_margin", sa.Float(), nullable=False),
        sa.Column("margin_reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_safety_policies")),
    )
    op.create_index(
        op.f("ix_site_safety_policies_site"),
        "site_safety_policies",
        ["site"],
        unique=False,
    )


def downgrade() -> None:
    """Downgrade."""
    op.drop_index(
        op.f("ix_site_safety_policies_site"), table_name="site_safety_policies"
    )
    op.drop_table("site_safety_policies")
    op.drop_index(
        "ix_safety_cell_readings_site_cell", table_name="safety_cell_readings"
    )
    op.drop_table("safety_cell_readings")
