"""Alembic migrations: empty database, every upgrade path, schema = models."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from plptms.registry.db._engine import make_engine
from plptms.registry.db._migrate import (
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)
from plptms.registry.db._schema import Base


def _revisions() -> list[str]:
    from alembic.script import ScriptDirectory

    from plptms.registry.db._migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def test_empty_database_to_head(db_url: str) -> None:
    eng = make_engine(db_url)
    assert current_revision(eng) is None
    upgrade(eng)
    assert current_revision(eng) == head_revision()
    tables = set(sa.inspect(eng).get_table_names())
    assert set(Base.metadata.tables) <= tables
    eng.dispose()


def test_every_upgrade_path(db_url: str) -> None:
    """From base, step to each revision in turn, down again, and up to head."""
    eng = make_engine(db_url)
    revs = _revisions()
    assert revs[0] == "0001"
    for rev in revs:
        upgrade(eng, rev)
        assert current_revision(eng) == rev
    downgrade(eng, "base")
    assert current_revision(eng) is None
    assert "patients" not in sa.inspect(eng).get_table_names()
    upgrade(eng)
    assert current_revision(eng) == head_revision()
    eng.dispose()


def test_migrated_schema_matches_models(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    eng = make_engine(db_url)
    upgrade(eng)
    with eng.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    eng.dispose()


def test_audit_log_is_append_only(db_url: str) -> None:
    from plptms.registry import Registry

    with Registry(db_url) as reg:
        reg.add_patient("S1", "P001", history=None, actor="tester")
        for stmt in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
            with pytest.raises(sa.exc.DatabaseError, match="append-only"):
                with reg.engine.begin() as conn:
                    conn.execute(sa.text(stmt))
        assert reg.verify_audit().ok
