"""Delivery events: structured fields (``data``) and a wider ``kind``.

Recovery reads an event's fields (device count, device id, pulses in flight)
from ``data`` instead of parsing its text; the kind column is widened to hold
every :class:`plptms.delivery.EventKind` (the longest has 30 characters).

PostgreSQL alters the table in place (its append-only trigger stays). SQLite
cannot change a column's type without copying the table, which drops the table's
triggers: the copy is made and the append-only triggers of migration 0003 are
created again on it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

#: The append-only triggers of delivery_events on SQLite (as in migration 0003).
_SQLITE_TRIGGERS = (
    """CREATE TRIGGER delivery_events_no_update BEFORE UPDATE ON delivery_events
    BEGIN SELECT RAISE(ABORT, 'delivery_events is append-only'); END""",
    """CREATE TRIGGER delivery_events_no_delete BEFORE DELETE ON delivery_events
    BEGIN SELECT RAISE(ABORT, 'delivery_events is append-only'); END""",
)

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _set_kind_width(width: int, before: int) -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("delivery_events", recreate="always") as batch:
            batch.alter_column(
                "kind",
                existing_type=sa.String(length=before),
                type_=sa.String(length=width),
                existing_nullable=False,
            )
        for ddl in _SQLITE_TRIGGERS:
            op.execute(ddl)
    else:
        op.alter_column(
            "delivery_events",
            "kind",
            existing_type=sa.String(length=before),
            type_=sa.String(length=width),
            existing_nullable=False,
        )


def upgrade() -> None:
    """Upgrade."""
    op.add_column("delivery_events", sa.Column("data", sa.JSON(), nullable=True))
    _set_kind_width(32, 24)


def downgrade() -> None:
    """Downgrade."""
    _set_kind_width(24, 32)
    op.drop_column("delivery_events", "data")
