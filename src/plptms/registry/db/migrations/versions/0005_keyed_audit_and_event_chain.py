"""Keyed audit chain, chained delivery events, sealed event heads.

Adds the MAC column to the audit log (HMAC-SHA256 of each entry's hash under the
site key kept outside the database), the per-session hash chain of delivery events
(prev_hash, hash, mac), the event count and head sealed into the audited delivery
session row, and an index to find a row's audit entries without walking the chain.
Existing rows keep NULL in the new columns: they were written before keying.

Columns are added with plain ALTER TABLE (no batch copy), so the append-only
triggers of audit_log and delivery_events stay in place.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Upgrade."""
    op.add_column("audit_log", sa.Column("mac", sa.String(length=64), nullable=True))
    op.create_index(
        "ix_audit_log_table_row", "audit_log", ["table_name", "row_id"], unique=False
    )
    for name in ("prev_hash", "hash", "mac"):
        op.add_column(
            "delivery_events", sa.Column(name, sa.String(length=64), nullable=True)
        )
    op.add_column(
        "delivery_sessions", sa.Column("event_count", sa.Integer(), nullable=True)
    )
    op.add_column(
        "delivery_sessions",
        sa.Column("event_head", sa.String(length=64), nullable=True),
    )


def downgrade() -> None:
    """Downgrade (ALTER TABLE ... DROP COLUMN: SQLite 3.35 or newer)."""
    op.drop_column("delivery_sessions", "event_head")
    op.drop_column("delivery_sessions", "event_count")
    for name in ("mac", "hash", "prev_hash"):
        op.drop_column("delivery_events", name)
    op.drop_index("ix_audit_log_table_row", table_name="audit_log")
    op.drop_column("audit_log", "mac")
