"""Session biomarkers: EEG band power, mu peak and trigger phase per session.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Upgrade."""
    op.create_table(
        "session_biomarkers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("delivery_session_id", sa.Integer(), nullable=True),
        sa.Column("measured_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("derivation", sa.String(length=32), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("theta_power", sa.Float(), nullable=False),
        sa.Column("alpha_power", sa.Float(), nullable=False),
        sa.Column("beta_power", sa.Float(), nullable=False),
        sa.Column("mu_peak_hz", sa.Float(), nullable=True),
        sa.Column("n_triggers", sa.Integer(), nullable=False),
        sa.Column("true_circular_sd_deg", sa.Float(), nullable=True),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_session_id"],
            ["delivery_sessions.id"],
            name=op.f("fk_session_biomarkers_delivery_session_id_delivery_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_session_biomarkers_patient_id_patients"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_biomarkers")),
    )
    with op.batch_alter_table("session_biomarkers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_session_biomarkers_delivery_session_id"),
            ["delivery_session_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_session_biomarkers_patient_id"),
            ["patient_id"],
            unique=False,
        )


def downgrade() -> None:
    """Downgrade."""
    with op.batch_alter_table("session_biomarkers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_session_biomarkers_patient_id"))
        batch_op.drop_index(batch_op.f("ix_session_biomarkers_delivery_session_id"))
    op.drop_table("session_biomarkers")
