"""Adverse events with physicians' reviews; sites with their time zone.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Upgrade."""
    op.create_table(
        "adverse_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("delivery_session_id", sa.Integer(), nullable=True),
        sa.Column("onset_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("term", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("serious", sa.Boolean(), nullable=False),
        sa.Column("serious_criterion", sa.String(length=32), nullable=True),
        sa.Column("relatedness", sa.String(length=16), nullable=False),
        sa.Column("action_taken", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_adverse_events_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["delivery_session_id"],
            ["delivery_sessions.id"],
            name=op.f("fk_adverse_events_delivery_session_id_delivery_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adverse_events")),
    )
    op.create_index(
        op.f("ix_adverse_events_patient_id"),
        "adverse_events",
        ["patient_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_adverse_events_delivery_session_id"),
        "adverse_events",
        ["delivery_session_id"],
        unique=False,
    )
    op.create_table(
        "adverse_event_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("adverse_event_id", sa.Integer(), nullable=False),
        sa.Column("physician", sa.String(length=64), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("continue_treatment", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["adverse_event_id"],
            ["adverse_events.id"],
            name=op.f("fk_adverse_event_reviews_adverse_event_id_adverse_events"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adverse_event_reviews")),
    )
    op.create_index(
        op.f("ix_adverse_event_reviews_adverse_event_id"),
        "adverse_event_reviews",
        ["adverse_event_id"],
        unique=False,
    )
    op.create_table(
        "sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
        sa.UniqueConstraint("site", name="uq_sites_site"),
    )


def downgrade() -> None:
    """Downgrade."""
    op.drop_table("sites")
    op.drop_index(
        op.f("ix_adverse_event_reviews_adverse_event_id"),
        table_name="adverse_event_reviews",
    )
    op.drop_table("adverse_event_reviews")
    op.drop_index(
        op.f("ix_adverse_events_delivery_session_id"), table_name="adverse_events"
    )
    op.drop_index(op.f("ix_adverse_events_patient_id"), table_name="adverse_events")
    op.drop_table("adverse_events")
