"""Dose amendments: recorded, reasoned lower doses for an assignment.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Upgrade."""
    op.create_table(
        "dose_amendments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("from_session", sa.Integer(), nullable=False),
        sa.Column("amendment", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["protocol_assignments.id"],
            name=op.f("fk_dose_amendments_assignment_id_protocol_assignments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dose_amendments")),
    )
    op.create_index(
        op.f("ix_dose_amendments_assignment_id"),
        "dose_amendments",
        ["assignment_id"],
        unique=False,
    )


def downgrade() -> None:
    """Downgrade."""
    op.drop_index(
        op.f("ix_dose_amendments_assignment_id"), table_name="dose_amendments"
    )
    op.drop_table("dose_amendments")
