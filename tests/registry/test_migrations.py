"""Alembic migrations: empty database, every upgrade path, schema = models."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

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


# ---------------------------------------------------------------- 0004 -> 0005
_T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def _iso(t: dt.datetime) -> str:
    return t.isoformat(timespec="microseconds")


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class _LegacyWriter:
    """Writes rows and audit entries as plptms did at revision 0004 (no keys)."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self.md = sa.MetaData()
        self.seq = 0
        self.head = "0" * 64

    def table(self, name: str) -> sa.Table:
        if name not in self.md.tables:
            sa.Table(name, self.md, autoload_with=self.conn)
        return self.md.tables[name]

    def entry(
        self,
        action: str,
        table: str,
        row_id: int,
        old: dict[str, Any] | None,
        new: dict[str, Any],
    ) -> None:
        self.seq += 1
        fields = {
            "seq": self.seq,
            "at": _iso(_T0),
            "actor": "legacy",
            "action": action,
            "table": table,
            "row_id": row_id,
            "old": None if old is None else _canonical(old),
            "new": _canonical(new),
            "reason": None if action == "insert" else "closed",
            "prev_hash": self.head,
        }
        digest = hashlib.sha256(_canonical(fields).encode()).hexdigest()
        self.conn.execute(
            sa.insert(self.table("audit_log")).values(
                seq=self.seq,
                at=fields["at"],
                actor="legacy",
                action=action,
                table_name=table,
                row_id=row_id,
                old=fields["old"],
                new=fields["new"],
                reason=fields["reason"],
                prev_hash=self.head,
                hash=digest,
            )
        )
        self.head = digest

    def insert(self, table: str, state: dict[str, Any], stored: dict[str, Any]) -> None:
        self.conn.execute(sa.insert(self.table(table)).values(**stored))
        self.entry("insert", table, state["id"], None, state)

    def events(self, session_id: int, n: int) -> None:
        for k in range(1, n + 1):
            self.conn.execute(
                sa.insert(self.table("delivery_events")).values(
                    session_id=session_id,
                    seq=k,
                    kind="pulse",
                    train_index=0,
                    pulse_index=k - 1,
                    t_monotonic_s=0.1 * k,
                    at=_iso(_T0),
                    intensity_pct_mso=55.0,
                    detail="",
                )
            )


def _legacy_database(db_url: str) -> None:
    """A registry at 0004 with a closed and an interrupted delivery session."""
    eng = make_engine(db_url)
    upgrade(eng, "0004")
    with eng.begin() as conn:
        w = _LegacyWriter(conn)
        patient = {
            "id": 1,
            "site": "S1",
            "code": "P001",
            "amputation_date": None,
            "history": {},
            "created_at": _iso(_T0),
            "deleted_at": None,
            "deleted_reason": None,
        }
        w.insert("patients", patient, {**patient, "created_at": _T0})
        assignment = {
            "id": 1,
            "patient_id": 1,
            "protocol_id": "p",
            "protocol": {"id": "p"},
            "decision": "accepted",
            "verdict": {},
            "assigned_on": "2026-01-05",
            "created_at": _iso(_T0),
            "deleted_at": None,
            "deleted_reason": None,
        }
        w.insert(
            "protocol_assignments",
            assignment,
            {**assignment, "assigned_on": _T0.date(), "created_at": _T0},
        )
        for sid in (1, 2):
            session = {
                "id": sid,
                "assignment_id": 1,
                "number": sid,
                "device": "sim",
                "blinded": False,
                "plan": {},
                "status": "running",
                "started_at": _iso(_T0),
                "ended_at": None,
                "detail": "",
            }
            w.insert("delivery_sessions", session, {**session, "started_at": _T0})
            w.events(sid, 3 if sid == 1 else 2)
        # session 1 closed before keying; session 2 interrupted (still running)
        conn.execute(
            sa.update(w.table("delivery_sessions"))
            .where(w.table("delivery_sessions").c.id == 1)
            .values(status="completed", ended_at=_T0, detail="done")
        )
        closed = {**session, "id": 1, "number": 1}
        w.entry(
            "correct",
            "delivery_sessions",
            1,
            closed,
            {**closed, "status": "completed", "ended_at": _iso(_T0), "detail": "done"},
        )
        if conn.dialect.name == "postgresql":  # ids were given: move the sequences
            for name in ("patients", "protocol_assignments", "delivery_sessions"):
                conn.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT max(id) FROM {name}))"
                    )
                )
    eng.dispose()


def test_upgrade_from_0004_keeps_old_rows_verifiable(db_url: str) -> None:
    from plptms.registry import Registry

    _legacy_database(db_url)
    with Registry(db_url) as reg:  # upgrades to 0005
        report = reg.verify_audit()
        # nothing tampered with, but no key and no anchor yet: cannot vouch for it
        assert not report.ok
        assert len(report.problems) == 2, report.problems
        assert "keyed checks could not be made" in report.problems[0]
        assert "no head anchor" in report.problems[1]
        # the first write keys and anchors the chain, covering the old entries
        reg.add_patient("S1", "P002", history=None, actor="nurse1")
        report = reg.verify_audit()
        assert report.ok, report.problems
        notes = "\n".join(report.notes)
        assert "entries 1-5: unkeyed (written before keying); covered by keyed " in (
            notes
        )
        assert "5 events written before keying" in notes
        assert "delivery sessions 1-2: no sealed event count" in notes
        # the interrupted session resumes: old events stay, new ones are chained
        reg.finish_delivery(2, "running", actor="tech1", detail="resumed")
        for k in range(2):
            reg.append_delivery_event(2, "pulse", train_index=0, pulse_index=2 + k)
        reg.finish_delivery(2, "completed", actor="tech1")
        assert [e.seq for e in reg.delivery_events(2)] == [1, 2, 3, 4]
        report = reg.verify_audit()
        assert report.ok, report.problems
        refs = [("patients", 1), ("delivery_sessions", 1), ("delivery_sessions", 2)]
        assert reg.verify_records(refs).ok
        # a chained event rewritten, and a forger rehashing the unkeyed entries:
        # both caught (the keyed entries chain to the old ones)
        with reg.engine.begin() as c:
            if reg.engine.dialect.name == "sqlite":
                c.execute(sa.text("DROP TRIGGER audit_log_no_update"))
                c.execute(sa.text("DROP TRIGGER delivery_events_no_update"))
            else:
                c.execute(sa.text("DROP TRIGGER audit_log_append_only ON audit_log"))
                c.execute(
                    sa.text(
                        "DROP TRIGGER delivery_events_append_only ON delivery_events"
                    )
                )
            c.execute(
                sa.text(
                    "UPDATE delivery_events SET pulse_index = 9 "
                    "WHERE session_id = 2 AND seq = 4"
                )
            )
            c.execute(sa.text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2"))
        problems = "\n".join(reg.verify_audit().problems)
        assert "delivery session 2 event 4: content does not match its hash" in (
            problems
        )
        assert "entry 2: content does not match its hash" in problems


def test_downgrade_from_0005_keeps_the_append_only_guards(db_url: str) -> None:
    eng = make_engine(db_url)
    upgrade(eng)
    downgrade(eng, "0004")
    with eng.begin() as c:
        c.execute(
            sa.text(
                "INSERT INTO audit_log (seq, at, actor, action, table_name, row_id, "
                "prev_hash, hash) VALUES (1, 'now', 'a', 'insert', 'patients', 1, "
                "'0', '1')"
            )
        )
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), eng.begin() as c:
        c.execute(sa.text("DELETE FROM audit_log"))
    assert "mac" not in {c["name"] for c in sa.inspect(eng).get_columns("audit_log")}
    upgrade(eng)
    assert current_revision(eng) == head_revision()
    eng.dispose()
