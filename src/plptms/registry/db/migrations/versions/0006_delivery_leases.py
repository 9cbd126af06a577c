"""Delivery leases: one runner per delivery session at a time.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Upgrade."""
    op.create_table(
        "delivery_leases",
        sa.Column("session_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["delivery_sessions.id"],
            name=op.f("fk_delivery_leases_session_id_delivery_sessions"),
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_delivery_leases")),
    )


def downgrade() -> None:
    """Downgrade."""
    op.drop_table("delivery_leases")
