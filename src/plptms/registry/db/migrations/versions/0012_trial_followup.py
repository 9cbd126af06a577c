"""Trial follow-up: visits, withdrawals, co-interventions, medication changes,
blinding guesses and the screening log.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-14
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _who() -> list[sa.Column[object]]:
    return [
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    ]


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def _index(table: str, column: str) -> None:
    op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)


def upgrade() -> None:
    """Upgrade."""
    op.create_table(
        "trial_visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("visit_key", sa.String(length=64), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=False),
        sa.Column("out_of_window", sa.Boolean(), nullable=False),
        sa.Column("days_outside", sa.Integer(), nullable=False),
        sa.Column("deviation_reason", sa.Text(), nullable=True),
        *_who(),
        _fk("trial_visits", "enrolment_id", "trial_enrolments"),
        _fk("trial_visits", "visit_id", "visits"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trial_visits")),
        sa.UniqueConstraint(
            "enrolment_id", "visit_key", name="uq_trial_visits_enrolment_visit"
        ),
    )
    _index("trial_visits", "enrolment_id")
    _index("trial_visits", "visit_id")
    op.create_table(
        "trial_withdrawals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("withdrawn_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        *_who(),
        _fk("trial_withdrawals", "enrolment_id", "trial_enrolments"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trial_withdrawals")),
        sa.UniqueConstraint("enrolment_id", name="uq_trial_withdrawals_enrolment"),
    )
    op.create_table(
        "trial_cointerventions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_visit_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("co_intervention", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("delivered", sa.Boolean(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.Column("sessions", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        *_who(),
        _fk("trial_cointerventions", "trial_visit_id", "trial_visits"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trial_cointerventions")),
    )
    _index("trial_cointerventions", "trial_visit_id")
    op.create_table(
        "trial_medication_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_visit_id", sa.Integer(), nullable=False),
        sa.Column("drug", sa.String(length=200), nullable=False),
        sa.Column("change", sa.String(length=32), nullable=False),
        sa.Column("dose", sa.Text(), nullable=False),
        sa.Column("indication", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        *_who(),
        _fk("trial_medication_changes", "trial_visit_id", "trial_visits"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trial_medication_changes")),
    )
    _index("trial_medication_changes", "trial_visit_id")
    op.create_table(
        "trial_blinding_guesses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_visit_id", sa.Integer(), nullable=False),
        sa.Column("respondent", sa.String(length=16), nullable=False),
        sa.Column("answers", sa.Integer(), nullable=False),
        sa.Column("guess", sa.String(length=32), nullable=False),
        *_who(),
        _fk("trial_blinding_guesses", "trial_visit_id", "trial_visits"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trial_blinding_guesses")),
        sa.UniqueConstraint(
            "trial_visit_id",
            "respondent",
            name="uq_trial_blinding_guesses_visit_respondent",
        ),
    )
    _index("trial_blinding_guesses", "trial_visit_id")
    op.create_table(
        "trial_screening_outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        *_who(),
        _fk("trial_screening_outcomes", "trial_id", "trials"),
        _fk("trial_screening_outcomes", "patient_id", "patients"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trial_screening_outcomes")),
        sa.UniqueConstraint(
            "trial_id",
            "patient_id",
            name="uq_trial_screening_outcomes_trial_patient",
        ),
    )
    _index("trial_screening_outcomes", "trial_id")
    _index("trial_screening_outcomes", "patient_id")


def downgrade() -> None:
    """Downgrade."""
    for table, columns in (
        ("trial_screening_outcomes", ("patient_id", "trial_id")),
        ("trial_blinding_guesses", ("trial_visit_id",)),
        ("trial_medication_changes", ("trial_visit_id",)),
        ("trial_cointerventions", ("trial_visit_id",)),
        ("trial_withdrawals", ()),
        ("trial_visits", ("visit_id", "enrolment_id")),
    ):
        for column in columns:
            op.drop_index(op.f(f"ix_{table}_{column}"), table_name=table)
        op.drop_table(table)
