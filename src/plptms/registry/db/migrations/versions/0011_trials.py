"""Trials: definitions (versioned), enrolments with their allocations, unblindings.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Upgrade."""
    op.create_table(
        "trials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("key_check", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trials")),
        sa.UniqueConstraint("slug", name="uq_trials_slug"),
    )
    op.create_table(
        "trial_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_trial_versions_trial_id_trials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trial_versions")),
        sa.UniqueConstraint(
            "trial_id", "version", name="uq_trial_versions_trial_version"
        ),
    )
    op.create_index(
        op.f("ix_trial_versions_trial_id"), "trial_versions", ["trial_id"], unique=False
    )
    op.create_table(
        "trial_enrolments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=32), nullable=False),
        sa.Column("allocation_index", sa.Integer(), nullable=False),
        sa.Column("arm_id", sa.String(length=64), nullable=False),
        sa.Column("kit_code", sa.String(length=16), nullable=False),
        sa.Column("factors", sa.JSON(), nullable=False),
        sa.Column("stratum", sa.String(length=255), nullable=True),
        sa.Column("allocation", sa.JSON(), nullable=False),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["trial_id"],
            ["trials.id"],
            name=op.f("fk_trial_enrolments_trial_id_trials"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_trial_enrolments_patient_id_patients"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trial_enrolments")),
        sa.UniqueConstraint(
            "trial_id", "allocation_index", name="uq_trial_enrolments_trial_index"
        ),
        sa.UniqueConstraint(
            "trial_id", "patient_id", name="uq_trial_enrolments_trial_patient"
        ),
        sa.UniqueConstraint(
            "trial_id", "kit_code", name="uq_trial_enrolments_trial_kit"
        ),
    )
    op.create_index(
        op.f("ix_trial_enrolments_trial_id"),
        "trial_enrolments",
        ["trial_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_trial_enrolments_patient_id"),
        "trial_enrolments",
        ["patient_id"],
        unique=False,
    )
    op.create_table(
        "trial_unblindings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["trial_enrolments.id"],
            name=op.f("fk_trial_unblindings_enrolment_id_trial_enrolments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trial_unblindings")),
    )
    op.create_index(
        op.f("ix_trial_unblindings_enrolment_id"),
        "trial_unblindings",
        ["enrolment_id"],
        unique=False,
    )


def downgrade() -> None:
    """Downgrade."""
    op.drop_index(
        op.f("ix_trial_unblindings_enrolment_id"), table_name="trial_unblindings"
    )
    op.drop_table("trial_unblindings")
    op.drop_index(op.f("ix_trial_enrolments_patient_id"), table_name="trial_enrolments")
    op.drop_index(op.f("ix_trial_enrolments_trial_id"), table_name="trial_enrolments")
    op.drop_table("trial_enrolments")
    op.drop_index(op.f("ix_trial_versions_trial_id"), table_name="trial_versions")
    op.drop_table("trial_versions")
    op.drop_table("trials")
