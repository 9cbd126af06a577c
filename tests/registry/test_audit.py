"""Tamper evidence: each attack below passed `verify_audit` before the chain was
keyed and anchored, the delivery events chained, and old/new states compared.

Every attack is made the way someone with write access to the database would:
raw SQL, append-only triggers dropped where they are in the way. Where the attack
recomputes hashes, it does so with its own implementation of the published hash
format (below), as a forger without the site key would.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from tests._review import REVIEW
from tests.registry._records import record

from plptms.registry import Registry, RegistryError, VisitIn, VisitKind
from plptms.workflow import correct_assessment

TODAY = dt.date.today()
BASE = VisitIn(visit_date=TODAY - dt.timedelta(days=30), kind=VisitKind.BASELINE)
SF2 = {str(i): (i % 11) for i in range(1, 23)}
GENESIS = "0" * 64
N_EVENTS = 6


# ------------------------------------------------------------------ the forger's tools
def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _forged_entry_hash(r: Any) -> str:
    """An audit entry's hash as the format documents it (no key involved)."""
    fields = {
        "seq": r.seq,
        "at": r.at,
        "actor": r.actor,
        "action": r.action,
        "table": r.table_name,
        "row_id": r.row_id,
        "old": r.old,
        "new": r.new,
        "reason": r.reason,
        "prev_hash": r.prev_hash,
    }
    return hashlib.sha256(_canonical(fields).encode()).hexdigest()


def _forged_event_hash(e: Any, prev: str) -> str:
    fields = {
        "session_id": e.session_id,
        "seq": e.seq,
        "kind": e.kind,
        "train_index": e.train_index,
        "pulse_index": e.pulse_index,
        "t_monotonic_s": e.t_monotonic_s,
        "at": e.at,
        "intensity_pct_mso": e.intensity_pct_mso,
        "detail": e.detail,
        "prev_hash": prev,
    }
    return hashlib.sha256(_canonical(fields).encode()).hexdigest()


def _drop_guards(reg: Registry) -> None:
    """Drop the append-only triggers (anyone who can write the file can)."""
    with reg.engine.begin() as c:
        if reg.engine.dialect.name == "sqlite":
            for name in (
                "audit_log_no_update",
                "audit_log_no_delete",
                "delivery_events_no_update",
                "delivery_events_no_delete",
            ):
                c.execute(sa.text(f"DROP TRIGGER {name}"))
        else:
            c.execute(sa.text("DROP TRIGGER audit_log_append_only ON audit_log"))
            c.execute(
                sa.text("DROP TRIGGER delivery_events_append_only ON delivery_events")
            )


def _sql(reg: Registry, stmt: str, **params: Any) -> Any:
    with reg.engine.begin() as c:
        return c.execute(sa.text(stmt), params)


def _rehash_chain(reg: Registry, *, from_seq: int, strip_macs: bool) -> None:
    """Recompute every hash from ``from_seq`` on, as a forger without the key."""
    with reg.engine.begin() as c:
        rows = c.execute(sa.text("SELECT * FROM audit_log ORDER BY seq")).all()
        prev = GENESIS
        for r in rows:
            if r.seq >= from_seq:
                digest = _forged_entry_hash(
                    SimpleNamespace(**dict(r._mapping, prev_hash=prev))
                )
                c.execute(
                    sa.text(
                        "UPDATE audit_log SET prev_hash = :p, hash = :h WHERE seq = :s"
                    ),
                    {"p": prev, "h": digest, "s": r.seq},
                )
                prev = digest
            else:
                prev = r.hash
        if strip_macs:
            c.execute(sa.text("UPDATE audit_log SET mac = NULL"))


def _problems(report: Any) -> str:
    return "\n".join(report.problems)


def _make_eligible(reg: Registry, screening_id: int) -> None:
    if reg.engine.dialect.name == "sqlite":
        report = "json_set(report, '$.status', 'eligible')"
    else:
        report = "jsonb_set(report::jsonb, '{status}', '\"eligible\"')::json"
    _sql(
        reg,
        f"UPDATE screenings SET status = 'eligible', report = {report} WHERE id = :i",
        i=screening_id,
    )


# ------------------------------------------------------------------ fixtures
def _excluded_patient(reg: Registry) -> tuple[int, int]:
    """A patient screened as excluded; returns (patient id, screening id)."""
    from plptms.safety import ScreeningAnswers, screen

    p = reg.add_patient("S1", "P001", history=None, actor="nurse1")
    report = screen(ScreeningAnswers(answers={"epilepsy": "yes"}))
    assert report.status.value == "excluded"
    return p.id, reg.record_screening("S1", "P001", report, actor="dr1")


def _closed_session(reg: Registry, *, close: bool = True) -> int:
    from plptms.protocol import load_library
    from plptms.safety import check_protocol

    reg.add_patient("S1", "P002", history=None, actor="nurse1")
    proto = load_library().protocol("consensus2024-example-10hz")
    aid = reg.assign_protocol(
        "S1", "P002", proto, check_protocol(proto, review=REVIEW), actor="dr1"
    )
    sid = reg.start_delivery(aid, 1, device="sim", plan={}, blinded=False, actor="t")
    for k in range(N_EVENTS):
        reg.append_delivery_event(
            sid,
            "pulse",
            train_index=0,
            pulse_index=k,
            t_monotonic_s=0.1 * k,
            intensity_pct_mso=55.0,
        )
    if close:
        reg.finish_delivery(sid, "completed", actor="t")
    return sid


# ------------------------------------------------------------------ delivery events
def test_append_only_guards_survive_the_migrations(registry: Registry) -> None:
    sid = _closed_session(registry)
    for stmt in (
        "UPDATE delivery_events SET intensity_pct_mso = 99",
        "DELETE FROM delivery_events",
        "UPDATE audit_log SET actor = 'mallory'",
    ):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            _sql(registry, stmt)
    assert len(registry.delivery_events(sid)) == N_EVENTS
    assert registry.verify_audit().ok


@pytest.mark.parametrize(
    ("attack", "expected"),
    [
        ("delete", "expected sequence number"),
        ("delete_renumber", "does not chain to the previous event"),
        ("insert", "inserted outside plptms"),
        ("rewrite", "content does not match its hash"),
        ("rewrite_rehash", "MAC does not match"),
        ("truncate", "events removed"),
    ],
)
def test_delivery_event_tampering_detected(
    registry: Registry, attack: str, expected: str
) -> None:
    sid = _closed_session(registry)
    assert registry.verify_audit().ok
    _drop_guards(registry)
    where = {"sid": sid}
    if attack == "delete":
        _sql(
            registry,
            "DELETE FROM delivery_events WHERE session_id = :sid AND seq = 3",
            **where,
        )
    elif attack == "delete_renumber":
        _sql(
            registry,
            "DELETE FROM delivery_events WHERE session_id = :sid AND seq = 3",
            **where,
        )
        _sql(
            registry,
            "UPDATE delivery_events SET seq = seq - 1 WHERE session_id = :sid "
            "AND seq > 3",
            **where,
        )
    elif attack == "insert":
        _sql(
            registry,
            "INSERT INTO delivery_events (session_id, seq, kind, at, detail) "
            "VALUES (:sid, :seq, 'pulse', '2026-01-01T00:00:00+00:00', '')",
            seq=N_EVENTS + 1,
            **where,
        )
    elif attack == "rewrite":
        _sql(
            registry,
            "UPDATE delivery_events SET intensity_pct_mso = 95.0 "
            "WHERE session_id = :sid AND seq = 2",
            **where,
        )
    elif attack == "rewrite_rehash":
        # the forger edits an intensity and recomputes the whole event chain
        with registry.engine.begin() as c:
            c.execute(
                sa.text(
                    "UPDATE delivery_events SET intensity_pct_mso = 95.0 "
                    "WHERE session_id = :sid AND seq = 2"
                ),
                where,
            )
            rows = c.execute(
                sa.text(
                    "SELECT * FROM delivery_events WHERE session_id = :sid ORDER BY seq"
                ),
                where,
            ).all()
            prev = GENESIS
            for e in rows:
                digest = _forged_event_hash(e, prev)
                c.execute(
                    sa.text(
                        "UPDATE delivery_events SET prev_hash = :p, hash = :h "
                        "WHERE id = :i"
                    ),
                    {"p": prev, "h": digest, "i": e.id},
                )
                prev = digest
    elif attack == "truncate":
        _sql(
            registry,
            "DELETE FROM delivery_events WHERE session_id = :sid AND seq = :seq",
            seq=N_EVENTS,
            **where,
        )
    report = registry.verify_audit()
    assert not report.ok
    assert expected in _problems(report), report.problems
    if attack == "rewrite_rehash":  # consistent hashes: only the key tells
        assert "content does not match its hash" not in _problems(report)
    # the session's own pre-session check sees it too
    assert not registry.verify_records([("delivery_sessions", sid)]).ok


def test_open_session_rewrite_detected(registry: Registry) -> None:
    """A running session has no sealed head yet: hashes and MACs still catch it."""
    sid = _closed_session(registry, close=False)
    _drop_guards(registry)
    _sql(
        registry,
        "UPDATE delivery_events SET pulse_index = 40 WHERE session_id = :sid "
        "AND seq = 4",
        sid=sid,
    )
    report = registry.verify_audit()
    assert "content does not match its hash" in _problems(report)


def test_event_numbers_stored_as_hashed(registry: Registry) -> None:
    """Ints for floats, -0.0 and NaN come back from the database as hashed."""
    sid = _closed_session(registry, close=False)
    registry.append_delivery_event(
        sid, "pulse", train_index=1, t_monotonic_s=5, intensity_pct_mso=-0.0
    )
    registry.append_delivery_event(sid, "fault", t_monotonic_s=float("nan"))
    registry.finish_delivery(sid, "faulted", actor="t", detail="coil too hot")
    ev = registry.delivery_events(sid)
    assert [e.seq for e in ev] == list(range(1, N_EVENTS + 3))
    assert isinstance(ev[N_EVENTS].t_monotonic_s, float)
    assert ev[N_EVENTS + 1].t_monotonic_s is None
    report = registry.verify_audit()
    assert report.ok, report.problems


def test_session_head_sealed_on_every_status_change(registry: Registry) -> None:
    sid = _closed_session(registry, close=False)
    registry.finish_delivery(sid, "aborted", actor="t", detail="patient asked")
    d = registry.get_delivery(sid)
    with registry.engine.connect() as c:
        count, head = c.execute(
            sa.text(
                "SELECT event_count, event_head FROM delivery_sessions WHERE id = :i"
            ),
            {"i": d.id},
        ).one()
        last = c.execute(
            sa.text(
                "SELECT hash FROM delivery_events WHERE session_id = :i "
                "ORDER BY seq DESC LIMIT 1"
            ),
            {"i": d.id},
        ).scalar_one()
    assert (count, head) == (N_EVENTS, last)
    # resumed, two more events, closed again: the new head is sealed
    registry.finish_delivery(sid, "running", actor="t", detail="resumed")
    for k in range(2):
        registry.append_delivery_event(sid, "pulse", pulse_index=N_EVENTS + k)
    assert registry.verify_audit().ok  # events after the seal of a running session
    registry.finish_delivery(sid, "completed", actor="t")
    with registry.engine.connect() as c:
        count = c.execute(
            sa.text("SELECT event_count FROM delivery_sessions WHERE id = :i"),
            {"i": sid},
        ).scalar_one()
    assert count == N_EVENTS + 2
    assert registry.verify_audit().ok


# ------------------------------------------------------------------ laundering
@pytest.mark.parametrize("legit", ["correct", "delete"])
def test_edit_then_legit_write_is_not_laundered(registry: Registry, legit: str) -> None:
    registry.add_patient("S1", "P001", history=None, actor="nurse1")
    a = record(registry, "S1", "P001", BASE, "sf_mpq2", SF2, actor="nurse1")
    _sql(registry, "UPDATE assessments SET total = 1.0 WHERE id = :i", i=a.id)
    assert not registry.verify_audit().ok  # caught before the next write ...
    if legit == "correct":
        correct_assessment(
            registry, a.id, SF2, actor="nurse2", reason="re-entered from the paper form"
        )
    else:
        registry.delete_assessment(a.id, actor="nurse2", reason="entered twice")
    report = registry.verify_audit()  # ... and still caught after it
    assert not report.ok
    assert "laundered" in _problems(report)
    # the live row now matches its last audited state: only continuity tells
    assert "differs from its last audited state" not in _problems(report)
    assert not registry.verify_records([("assessments", a.id)]).ok


def test_correction_without_tampering_is_continuous(registry: Registry) -> None:
    registry.add_patient("S1", "P001", history=None, actor="nurse1")
    a = record(registry, "S1", "P001", BASE, "sf_mpq2", SF2, actor="nurse1")
    for k in range(3):
        items = dict(SF2, **{"1": k})
        correct_assessment(registry, a.id, items, actor="nurse2", reason="typo fixed")
    registry.delete_assessment(a.id, actor="nurse2", reason="entered twice")
    assert registry.verify_audit().ok
    assert registry.verify_records([("assessments", a.id)]).ok


# ------------------------------------------------------------------ re-forged chain
@pytest.mark.parametrize("variant", ["keep_macs", "strip_macs", "strip_and_unanchor"])
def test_reforged_chain_detected(registry: Registry, variant: str) -> None:
    _pid, scr = _excluded_patient(registry)
    registry.add_patient("S1", "P009", history=None, actor="nurse1")
    assert registry.verify_audit().ok
    _drop_guards(registry)
    # the screening becomes eligible, in the row and in its audit entry ...
    _sql(registry, "UPDATE screenings SET status = 'eligible' WHERE id = :i", i=scr)
    with registry.engine.begin() as c:
        seq, new = c.execute(
            sa.text(
                "SELECT seq, new FROM audit_log WHERE table_name = 'screenings' "
                "AND row_id = :i"
            ),
            {"i": scr},
        ).one()
        state = json.loads(new)
        state["status"] = "eligible"
        c.execute(
            sa.text("UPDATE audit_log SET new = :n WHERE seq = :s"),
            {"n": _canonical(state), "s": seq},
        )
    # ... and every hash from there on is recomputed
    _rehash_chain(registry, from_seq=seq, strip_macs=variant != "keep_macs")
    if variant == "strip_and_unanchor":
        from plptms.registry._anchor import anchor_path

        path = anchor_path(registry.url)
        assert path is not None
        path.unlink()
    report = registry.verify_audit()
    text = _problems(report)
    assert not report.ok
    # a consistent forgery: the unkeyed checks all pass
    for unkeyed in ("does not match its hash", "does not chain", "differs from its"):
        assert unkeyed not in text
    expected = {
        "keep_macs": "MAC does not match",
        "strip_macs": "re-forged",
        "strip_and_unanchor": "no head anchor",
    }[variant]
    assert expected in text, report.problems
    assert not registry.verify_records([("screenings", scr)]).ok


def test_stripped_mac_after_keyed_entries_detected(registry: Registry) -> None:
    _excluded_patient(registry)
    registry.add_patient("S1", "P009", history=None, actor="nurse1")
    _drop_guards(registry)
    _sql(registry, "UPDATE audit_log SET mac = NULL WHERE seq = 2")
    report = registry.verify_audit()
    assert "entry 2: MAC missing" in _problems(report)


# ------------------------------------------------------------------ truncation
def test_truncated_newest_insert_detected(registry: Registry) -> None:
    pid, _scr = _excluded_patient(registry)
    last = registry.add_patient("S1", "P777", history=None, actor="nurse1")
    assert registry.verify_audit().ok
    _drop_guards(registry)
    with registry.engine.begin() as c:  # the newest insert, with its entry
        c.execute(sa.text("DELETE FROM patients WHERE id = :i"), {"i": last.id})
        c.execute(
            sa.text(
                "DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)"
            )
        )
    report = registry.verify_audit()
    assert not report.ok
    assert "truncated" in _problems(report)
    # the chain that is left is otherwise consistent
    assert "does not" not in _problems(report)
    assert "truncated" in _problems(registry.verify_records([("patients", pid)]))


def test_checkpoint_catches_truncation_without_anchor(
    registry: Registry, tmp_path: Any
) -> None:
    from plptms.registry._anchor import anchor_path

    _excluded_patient(registry)
    registry.add_patient("S1", "P777", history=None, actor="nurse1")
    cp = tmp_path / "head.json"
    head = registry.export_checkpoint(cp)
    assert head.seq == registry.verify_audit().entries
    _drop_guards(registry)
    path = anchor_path(registry.url)
    assert path is not None
    path.unlink()
    _sql(registry, "DELETE FROM patients WHERE code = 'P777'")
    _sql(registry, "DELETE FROM audit_log WHERE seq = :s", s=head.seq)
    report = registry.verify_audit(checkpoint=cp)
    assert "checkpoint" in _problems(report)
    assert "truncated" in _problems(report)
    assert "no head anchor" not in _problems(report)  # the checkpoint stands in
    assert "no head anchor" in _problems(registry.verify_audit())


def test_older_checkpoint_passes_with_a_note(registry: Registry, tmp_path: Any) -> None:
    from plptms.registry._anchor import anchor_path

    _excluded_patient(registry)
    cp = tmp_path / "head.json"
    registry.export_checkpoint(cp)
    registry.add_patient("S1", "P777", history=None, actor="nurse1")
    path = anchor_path(registry.url)
    assert path is not None
    path.unlink()
    report = registry.verify_audit(checkpoint=cp)
    assert report.ok, report.problems
    assert any("no head anchor" in n for n in report.notes)
    # the anchor comes back with the next audited write
    registry.add_patient("S1", "P778", history=None, actor="nurse1")
    assert registry.verify_audit().ok


# ------------------------------------------------------------------ verify_records
def test_screening_excluded_to_eligible_caught_before_a_session(
    registry: Registry,
) -> None:
    pid, scr = _excluded_patient(registry)
    refs = [("patients", pid), ("screenings", scr)]
    before = registry.verify_records(refs)
    assert before.ok, before.problems
    assert 0 < before.entries <= 3  # the rows' entries and their predecessors
    # straight into the file, as the review did (no trigger in the way): the
    # status column and the stored report that the session reads
    _make_eligible(registry, scr)
    assert registry.latest_screening("S1", "P001").status.value == "eligible"
    report = registry.verify_records(refs)
    assert not report.ok
    assert f"screenings row {scr}: differs from its last audited state" in (
        _problems(report)
    )
    # the patient's row alone is still fine
    assert registry.verify_records([("patients", pid)]).ok


def test_verify_records_checks_entries_and_predecessors(registry: Registry) -> None:
    _pid, scr = _excluded_patient(registry)
    registry.add_patient("S1", "P009", history=None, actor="nurse1")
    _drop_guards(registry)
    # edit the patient's entry (seq 1), the predecessor of the screening's entry
    _sql(registry, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 1")
    report = registry.verify_records([("screenings", scr)])
    assert "entry 1: content does not match its hash" in _problems(report)


def test_verify_records_refuses_unknown_tables(registry: Registry) -> None:
    with pytest.raises(RegistryError, match="refs"):
        registry.verify_records([("audit_log", 1)])
    with pytest.raises(RegistryError, match="refs"):
        registry.verify_records([("patients", "1")])  # type: ignore[list-item]


def test_verify_records_flags_missing_and_unaudited_rows(registry: Registry) -> None:
    pid, _ = _excluded_patient(registry)
    report = registry.verify_records([("patients", pid + 100)])
    assert "no such row" in _problems(report)
    _sql(
        registry,
        "INSERT INTO patients (site, code, history, created_at) VALUES "
        "('S9', 'X', '{}', '2026-01-01 00:00:00')",
    )
    with registry.engine.connect() as c:
        new_id = c.execute(sa.text("SELECT id FROM patients WHERE code = 'X'")).scalar()
    report = registry.verify_records([("patients", int(new_id))])
    assert "not in the audit trail" in _problems(report)
