"""Row-level security on PostgreSQL: site isolation inside the database too.

Every table that holds a patient's records gets a policy that shows a row
only when its patient's site is in the transaction's site set, the setting
``plptms.sites`` (a comma-separated list) that a site-scoped registry
(:meth:`plptms.registry.Registry.scoped`) sets at the start of each
transaction. An unset or ``*`` setting shows every site (the command line, the
administrator's tools); ``-`` shows none. A superuser bypasses row-level
security, so a scoped transaction also switches to the role
``plptms_site_user`` (NOLOGIN, created here if missing, granted the table
rights and to the migrating user), which the policies bind whatever the
login role. Child tables reach the patient
through their parent, whose own policy applies inside the subquery, so a row
is visible only when its whole chain up to the patient is. FORCE makes the
policies bind the tables' owner as well (plptms connects as the owner). SQLite
has no row-level security: there the application layer's checks
(:mod:`plptms.access`) are the only wall.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

#: table -> the visibility condition of its rows
POLICIES: dict[str, str] = {
    "patients": "plptms_site_visible(site)",
    "trial_enrolments": "plptms_site_visible(site) AND patient_id IN (SELECT id FROM patients)",
    "visits": "patient_id IN (SELECT id FROM patients)",
    "screenings": "patient_id IN (SELECT id FROM patients)",
    "motor_thresholds": "patient_id IN (SELECT id FROM patients)",
    "protocol_assignments": "patient_id IN (SELECT id FROM patients)",
    "session_biomarkers": "patient_id IN (SELECT id FROM patients)",
    "adverse_events": "patient_id IN (SELECT id FROM patients)",
    "trial_screening_outcomes": "patient_id IN (SELECT id FROM patients)",
    "assessments": "visit_id IN (SELECT id FROM visits)",
    "delivery_sessions": "assignment_id IN (SELECT id FROM protocol_assignments)",
    "dose_amendments": "assignment_id IN (SELECT id FROM protocol_assignments)",
    "treatment_sessions": "assignment_id IN (SELECT id FROM protocol_assignments)",
    "delivery_events": "session_id IN (SELECT id FROM delivery_sessions)",
    "delivery_leases": "session_id IN (SELECT id FROM delivery_sessions)",
    "adverse_event_reviews": "adverse_event_id IN (SELECT id FROM adverse_events)",
    "trial_unblindings": "enrolment_id IN (SELECT id FROM trial_enrolments)",
    "trial_visits": "enrolment_id IN (SELECT id FROM trial_enrolments)",
    "trial_withdrawals": "enrolment_id IN (SELECT id FROM trial_enrolments)",
    "trial_blinding_guesses": "trial_visit_id IN (SELECT id FROM trial_visits)",
    "trial_cointerventions": "trial_visit_id IN (SELECT id FROM trial_visits)",
    "trial_medication_changes": "trial_visit_id IN (SELECT id FROM trial_visits)",
}

_FUNCTION = """
CREATE OR REPLACE FUNCTION plptms_site_visible(s text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN coalesce(current_setting('plptms.sites', true), '') IN ('', '*')
            THEN true
        ELSE s = ANY (string_to_array(current_setting('plptms.sites', true), ','))
    END
$$
"""


ROLE = "plptms_site_user"

_ROLE = f"""
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
        CREATE ROLE {ROLE} NOLOGIN;
    END IF;
END $$
"""


def upgrade() -> None:
    """Upgrade (PostgreSQL only)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_ROLE)
    op.execute(f"GRANT {ROLE} TO CURRENT_USER")
    op.execute(f"GRANT USAGE ON SCHEMA public TO {ROLE}")
    op.execute(
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {ROLE}"
    )
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {ROLE}")
    op.execute(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, "
        f"DELETE ON TABLES TO {ROLE}"
    )
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {ROLE}"
    )
    op.execute(_FUNCTION)
    for table, condition in POLICIES.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY plptms_site_isolation ON {table} "
            f"USING ({condition}) WITH CHECK ({condition})"
        )


def downgrade() -> None:
    """Downgrade (PostgreSQL only)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in reversed(list(POLICIES)):
        op.execute(f"DROP POLICY IF EXISTS plptms_site_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute("DROP FUNCTION IF EXISTS plptms_site_visible(text)")
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM {ROLE}"
    )
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM {ROLE}"
    )
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {ROLE}")
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {ROLE}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {ROLE}")
