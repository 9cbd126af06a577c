"""Server-side web sessions: one row per signed-in browser session.

Only the SHA-256 of the session id is stored (the id itself travels in the
signed cookie). Operational, like ``login_throttle``: not audited, not
exported. On PostgreSQL the site-scoped role ``plptms_site_user`` (migration
0014 grants it every table by default) loses every right on this table: it is
no patient data, and a site-scoped transaction has no business reading other
users' sessions.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

#: The role of site-scoped transactions (migration 0014).
SITE_ROLE = "plptms_site_user"


def _at(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Upgrade."""
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sid_sha256", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        _at("created_at"),
        _at("last_seen_at"),
        _at("expires_at"),
        _at("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("sid_sha256", name="uq_web_sessions_sid_sha256"),
    )
    op.create_index(op.f("ix_web_sessions_username"), "web_sessions", ["username"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = "
            f"'{SITE_ROLE}') THEN REVOKE ALL ON web_sessions FROM {SITE_ROLE}; "
            "END IF; END $$"
        )


def downgrade() -> None:
    """Downgrade."""
    op.drop_index(op.f("ix_web_sessions_username"), table_name="web_sessions")
    op.drop_table("web_sessions")
