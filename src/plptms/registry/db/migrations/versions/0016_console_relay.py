"""Console relay: controls and live progress shared by the web workers.

``console_commands`` holds the pause, resume, abort and emergency-stop
controls posted to a worker that does not run the session, until the runner's
worker takes them; ``console_live`` holds one row per running session (worker,
state, trains, pulses), rewritten as the runner's heartbeat. Both are
operational, not audited. On PostgreSQL both reach the patient's site through
``delivery_sessions`` under row-level security, as ``delivery_leases`` does.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_TABLES = ("console_commands", "console_live")
_CONDITION = "session_id IN (SELECT id FROM delivery_sessions)"


def upgrade() -> None:
    """Upgrade."""
    op.create_table(
        "console_commands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("command", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("taken_by", sa.String(length=128), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["delivery_sessions.id"],
            name=op.f("fk_console_commands_session_id_delivery_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_commands")),
    )
    op.create_index(
        "ix_console_commands_session_taken",
        "console_commands",
        ["session_id", "taken_at"],
    )
    op.create_table(
        "console_live",
        sa.Column("session_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("worker", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("train", sa.Integer(), nullable=True),
        sa.Column("n_trains", sa.Integer(), nullable=True),
        sa.Column("pulses_delivered", sa.Integer(), nullable=False),
        sa.Column("pulses_total", sa.Integer(), nullable=False),
        sa.Column("seconds_left", sa.Float(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["delivery_sessions.id"],
            name=op.f("fk_console_live_session_id_delivery_sessions"),
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_console_live")),
    )
    if op.get_bind().dialect.name == "postgresql":
        for table in _TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(
                f"CREATE POLICY plptms_site_isolation ON {table} "
                f"USING ({_CONDITION}) WITH CHECK ({_CONDITION})"
            )


def downgrade() -> None:
    """Downgrade."""
    op.drop_table("console_live")
    op.drop_index("ix_console_commands_session_taken", table_name="console_commands")
    op.drop_table("console_commands")
