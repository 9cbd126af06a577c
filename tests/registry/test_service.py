"""Registry service: storage, validation, corrections, audit, export."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.registry._records import record

from plptms.registry import (
    DuplicateRecordError,
    RecordNotFoundError,
    Registry,
    RegistryError,
    VisitIn,
    VisitKind,
)
from plptms.workflow import AssessmentInput, correct_assessment, record_assessments

RTOL = 1e-12
TODAY = dt.date.today()
BASE = VisitIn(visit_date=TODAY - dt.timedelta(days=30), kind=VisitKind.BASELINE)
FOLLOW = VisitIn(visit_date=TODAY, kind=VisitKind.FOLLOW_UP)

# SF-MPQ-2 (Dworkin 2009): 22 items 0-10; total is the mean of the 22 items
SF2 = {str(i): (i % 11) for i in range(1, 23)}  # 1..10,0,1..10,0 -> sum 110
SF2_TOTAL = 110 / 22  # = 5.0


def _audit_count(reg: Registry) -> int:
    with reg.engine.connect() as c:
        return int(c.execute(sa.text("SELECT count(*) FROM audit_log")).scalar_one())


def test_patient_lifecycle(registry: Registry) -> None:
    p = registry.add_patient("S1", "P001", history=None, actor="nurse1")
    assert (p.site, p.code, p.deleted) == ("S1", "P001", False)
    assert registry.get_patient("S1", "P001").id == p.id
    registry.add_patient("S2", "P001", history=None, actor="nurse1")  # per-site codes
    assert [x.site for x in registry.list_patients()] == ["S1", "S2"]
    assert [x.code for x in registry.list_patients("S2")] == ["P001"]
    with pytest.raises(DuplicateRecordError, match="already exists"):
        registry.add_patient("S1", "P001", history=None, actor="nurse1")
    registry.delete_patient("S1", "P001", actor="dr1", reason="withdrew consent")
    with pytest.raises(RecordNotFoundError):
        registry.get_patient("S1", "P001")
    assert len(registry.list_patients(include_deleted=True)) == 2
    assert registry.verify_audit().ok


@pytest.mark.parametrize(
    ("site", "code", "field"),
    [
        ("S 1", "P001", "site"),
        ("S1", "", "code"),
        ("S1", "Jane Doe", "code"),
        ("S1", "x" * 40, "code"),
    ],
)
def test_bad_codes_refused(
    registry: Registry, site: str, code: str, field: str
) -> None:
    with pytest.raises(RegistryError, match=f"'{field}'"):
        registry.add_patient(site, code, history=None, actor="nurse1")
    assert _audit_count(registry) == 0


def test_actor_and_reason_required(registry: Registry) -> None:
    with pytest.raises(RegistryError, match="'actor'"):
        registry.add_patient("S1", "P001", history=None, actor=" ")
    registry.add_patient("S1", "P001", history=None, actor="nurse1")
    with pytest.raises(RegistryError, match="'reason'"):
        registry.delete_patient("S1", "P001", actor="dr1", reason="")


def test_visits(registry: Registry) -> None:
    registry.add_patient("S1", "P001", history=None, actor="nurse1")
    v = registry.add_visit("S1", "P001", BASE, actor="nurse1")
    assert v.kind is VisitKind.BASELINE
    with pytest.raises(DuplicateRecordError, match="visit_date"):
        registry.add_visit("S1", "P001", BASE, actor="nurse1")
    with pytest.raises(ValueError, match="visit_date"):
        VisitIn(visit_date=TODAY + dt.timedelta(days=1), kind="follow_up")
    with pytest.raises(RecordNotFoundError):
        registry.add_visit("S1", "NOPE", BASE, actor="nurse1")
    assert [x.id for x in registry.list_visits("S1", "P001")] == [v.id]


def test_record_and_score(registry: Registry) -> None:
    registry.add_patient("S1", "P001", history=None, actor="nurse1")
    a = record(registry, "S1", "P001", BASE, "sf_mpq2", SF2, actor="nurse1")
    assert a.computed
    assert a.total == pytest.approx(SF2_TOTAL, rel=RTOL)
    assert set(a.subscales) >= {
        "continuous",
        "intermittent",
        "neuropathic",
        "affective",
    }
    # raw items kept as given
    assert a.items == SF2
    # the visit was created with the assessment
    assert len(registry.list_visits("S1", "P001")) == 1
    again = registry.list_assessments("S1", "P001")
    assert [x.id for x in again] == [a.id]
    assert again[0].total == pytest.approx(SF2_TOTAL, rel=RTOL)


def test_bad_item_stores_nothing(registry: Registry) -> None:
    registry.add_patient("S1", "P001", history=None, actor="nurse1")
    n = _audit_count(registry)
    with pytest.raises(ValueError, match="sf_mpq2"):
        record(
            registry, "S1", "P001", BASE, "sf_mpq2", {**SF2, "7": 11}, actor="nurse1"
        )
    with pytest.raises(ValueError, match="scale"):
        record(registry, "S1", "P001", BASE, "sf_mpq3", SF2, actor="nurse1")
    assert _audit_count(registry) == n
    assert registry.list_visits("S1", "P001") == []  # no half-made visit


def test_duplicate_assessment_refused(registry: Registry) -> None:
    registry.add_patient("S1", "P001", history=None, actor="nurse1")
    record(registry, "S1", "P001", BASE, "sf_mpq2", SF2, actor="nurse1")
    with pytest.raises(DuplicateRecordError, match="correct"):
        record(registry, "S1", "P001", BASE, "sf_mpq2", SF2, actor="nurse1")


def test_correction_keeps_trace(registry: Registry) -> None:
    registry.add_patient("S1", "P001", history=None, actor="nurse1")
    a = record(registry, "S1", "P001", BASE, "sf_mpq2", SF2, actor="nurse1")
    fixed = {**SF2, "11": 10}  # 110 - 0 + 10 = 120 -> mean 120/22
    b = correct_assessment(
        registry, a.id, fixed, actor="dr1", reason="item 11 transcribed wrongly"
    )
    assert b.id == a.id
    assert b.total == pytest.approx(120 / 22, rel=RTOL)
    with reg_conn(registry) as c:
        rows = c.execute(
            sa.text(
                "SELECT action, old, new, reason, actor FROM audit_log "
                "WHERE table_name = 'assessments' ORDER BY seq"
            )
        ).all()
    assert [r[0] for r in rows] == ["insert", "correct"]
    assert '"total":5.0' in rows[1][1]  # old value kept
    assert rows[1][3] == "item 11 transcribed wrongly"
    assert rows[1][4] == "dr1"
    with pytest.raises(RegistryError, match="reason"):
        correct_assessment(registry, a.id, fixed, actor="dr1", reason=None)  # type: ignore[arg-type]
    registry.delete_assessment(a.id, actor="dr1", reason="entered for wrong patient")
    assert registry.list_assessments("S1", "P001") == []
    with pytest.raises(RecordNotFoundError):
        correct_assessment(registry, a.id, fixed, actor="dr1", reason="again please")
    assert registry.verify_audit().ok


def reg_conn(reg: Registry):  # type: ignore[no-untyped-def]
    return reg.engine.connect()


def test_failure_mid_write_rolls_back(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry.add_patient("S1", "P001", history=None, actor="nurse1")
    n = _audit_count(registry)
    import plptms.registry._bulk as bulk
    import plptms.registry._store as store

    def boom(*a: object, **k: object) -> None:
        raise RuntimeError("disk on fire")

    # a context of its own: undo() would also undo the per-test state and config
    # directories (audit key, anchors) that the autouse fixture set
    with monkeypatch.context() as m:
        m.setattr(store, "append_audit", boom)  # ORM writes
        m.setattr(bulk.CoreChain, "flush", boom)  # Core writes: rows in, audit fails
        with pytest.raises(RuntimeError, match="disk on fire"):
            record(registry, "S1", "P001", BASE, "sf_mpq2", SF2, actor="nurse1")
    assert _audit_count(registry) == n
    assert registry.list_visits("S1", "P001") == []
    with reg_conn(registry) as c:
        assert c.execute(sa.text("SELECT count(*) FROM assessments")).scalar_one() == 0
    assert registry.verify_audit().ok


def _drop_append_only(reg: Registry) -> None:
    with reg.engine.begin() as c:
        if reg.engine.dialect.name == "sqlite":
            c.execute(sa.text("DROP TRIGGER audit_log_no_update"))
            c.execute(sa.text("DROP TRIGGER audit_log_no_delete"))
        else:
            c.execute(sa.text("DROP TRIGGER audit_log_append_only ON audit_log"))


@pytest.mark.parametrize(
    "attack", ["edit_row", "insert_row", "edit_log", "drop_log", "delete_row"]
)
def test_tampering_detected(registry: Registry, attack: str) -> None:
    registry.add_patient("S1", "P001", history=None, actor="nurse1")
    a = record(registry, "S1", "P001", BASE, "sf_mpq2", SF2, actor="nurse1")
    record(registry, "S1", "P001", FOLLOW, "sf_mpq2", SF2, actor="nurse1")
    assert registry.verify_audit().ok
    _drop_append_only(registry)
    with registry.engine.begin() as c:
        if attack == "edit_row":
            c.execute(
                sa.text("UPDATE assessments SET total = 1.0 WHERE id = :i"), {"i": a.id}
            )
        elif attack == "insert_row":
            c.execute(
                sa.text(
                    "INSERT INTO patients (site, code, history, created_at) VALUES "
                    "('S9', 'X', '{}', '2026-01-01 00:00:00')"
                )
            )
        elif attack == "edit_log":
            c.execute(sa.text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2"))
        elif attack == "drop_log":
            c.execute(sa.text("DELETE FROM audit_log WHERE seq = 2"))
        elif attack == "delete_row":
            c.execute(sa.text("DELETE FROM assessments WHERE id = :i"), {"i": a.id})
    report = registry.verify_audit()
    assert not report.ok
    assert report.problems


def test_export(registry: Registry, tmp_path: Path) -> None:
    registry.add_patient("S1", "P001", history=None, actor="nurse1")
    record(registry, "S1", "P001", BASE, "sf_mpq2", SF2, actor="nurse1")
    record(registry, "S1", "P001", FOLLOW, "sf_mpq2", {**SF2, "1": 0}, actor="nurse1")
    paths = registry.export_csv(tmp_path / "csv")
    names = {p.name for p in paths}
    assert {"patients.csv", "visits.csv", "assessments.csv", "audit_log.csv"} <= names
    with (tmp_path / "csv" / "audit_log.csv").open() as fh:
        assert len(list(csv.DictReader(fh))) == _audit_count(registry)
    long = registry.export_long(tmp_path / "long.csv")
    with long.open() as fh:
        rows = list(csv.DictReader(fh))
    totals = [r for r in rows if r["measure"] == "total"]
    assert [r["visit_kind"] for r in totals] == ["baseline", "follow_up"]
    assert [int(r["days_from_baseline"]) for r in totals] == [0, 30]
    assert float(totals[1]["value"]) == pytest.approx(109 / 22, rel=RTOL)
    items = [r for r in rows if r["measure"].startswith("item:")]
    assert len(items) == 44


HISTORY = {
    "side": "left",
    "limb": "lower",
    "level": "transtibial",
    "cause": "trauma",
    "amputation_date": (TODAY - dt.timedelta(days=400)).isoformat(),
    "assessed_on": (TODAY - dt.timedelta(days=31)).isoformat(),
    "prosthesis_use": "daily",
    "phantom_sensations": True,
    "telescoping": False,
}


def test_history_and_visit_before_amputation(registry: Registry) -> None:
    p = registry.add_patient("S1", "P001", history=HISTORY, actor="nurse1")
    assert p.amputation_date == TODAY - dt.timedelta(days=400)
    assert p.history["level"] == "transtibial"
    early = VisitIn(visit_date=TODAY - dt.timedelta(days=401), kind="baseline")
    with pytest.raises(RegistryError, match="visit_date"):
        registry.add_visit("S1", "P001", early, actor="nurse1")
    with pytest.raises(RegistryError, match="visit_date"):
        record(registry, "S1", "P001", early, "sf_mpq2", SF2, actor="nurse1")
    assert registry.list_visits("S1", "P001") == []


def test_bad_history_refused(registry: Registry) -> None:
    bad = {**HISTORY, "level": "transradial"}  # an upper-limb level for a leg
    with pytest.raises(RegistryError, match="level"):
        registry.add_patient("S1", "P001", history=bad, actor="nurse1")
    assert registry.list_patients() == []
    assert _audit_count(registry) == 0


def test_bulk_all_or_nothing(registry: Registry) -> None:
    registry.add_patients([("S1", f"P{k:03d}", None) for k in range(3)], actor="imp")

    def rec(code: str, visit: VisitIn, items: dict[str, int]) -> AssessmentInput:
        return AssessmentInput(
            site="S1", code=code, visit=visit, scale_id="sf_mpq2", items=items
        )

    recs = [rec(f"P{k:03d}", BASE, SF2) for k in range(3)]
    assert record_assessments(registry, recs, actor="importer") == 3
    bad = [rec("P000", FOLLOW, SF2), rec("P001", FOLLOW, {**SF2, "3": -1})]
    n = _audit_count(registry)
    with pytest.raises(RegistryError, match=r"records\[1\]"):
        record_assessments(registry, bad, actor="importer")
    dup = [rec("P000", FOLLOW, SF2), rec("P000", FOLLOW, SF2)]
    with pytest.raises(RegistryError, match=r"records\[1\]"):
        record_assessments(registry, dup, actor="importer")
    assert _audit_count(registry) == n
    assert registry.verify_audit().ok


def test_screening_and_assignment(registry: Registry) -> None:
    from plptms.protocol import load_library
    from plptms.safety import ScreeningAnswers, check_protocol, screen

    registry.add_patient("S1", "P001", history=None, actor="nurse1")
    report = screen(ScreeningAnswers(answers={"epilepsy": "no"}))
    assert registry.record_screening("S1", "P001", report, actor="dr1") > 0
    proto = load_library().protocol("consensus2024-example-10hz")
    verdict = check_protocol(proto, rmt_pct_mso=50.0)
    assert registry.assign_protocol("S1", "P001", proto, verdict, actor="dr1") > 0
    other = check_protocol(load_library().protocol("wang2022-m1-1hz"))
    with pytest.raises(RegistryError, match="verdict"):
        registry.assign_protocol("S1", "P001", proto, other, actor="dr1")
    assert registry.verify_audit().ok


def test_future_screening_not_stored(registry: Registry) -> None:
    from plptms.safety import ScreeningAnswers, screen

    registry.add_patient("S1", "P001", history=None, actor="nurse1")
    n = _audit_count(registry)
    report = screen(ScreeningAnswers(answers={"epilepsy": "no"}))
    # a report is a plain model: one built with a future date must not be stored
    future = report.model_copy(update={"screened_on": dt.date(2099, 1, 1)})
    with pytest.raises(RegistryError, match="'screened_on': got 2099-01-01"):
        registry.record_screening("S1", "P001", future, actor="dr1")
    assert _audit_count(registry) == n
    assert registry.latest_screening("S1", "P001") is None


def test_treatment_sessions(registry: Registry) -> None:
    from plptms.protocol import load_library
    from plptms.registry import SessionStatus
    from plptms.safety import check_protocol

    registry.add_patient("S1", "P001", history=None, actor="nurse1")
    proto = load_library().protocol("consensus2024-example-10hz")
    aid = registry.assign_protocol(
        "S1",
        "P001",
        proto,
        check_protocol(proto),
        actor="dr1",
        assigned_on=TODAY - dt.timedelta(days=5),
    )
    sid = registry.record_session(
        aid, 1, TODAY - dt.timedelta(days=4), SessionStatus.COMPLETED, actor="tech1"
    )
    assert sid > 0
    with pytest.raises(DuplicateRecordError, match="number"):
        registry.record_session(aid, 1, TODAY, "completed", actor="tech1")
    with pytest.raises(RegistryError, match="number"):
        registry.record_session(aid, 0, TODAY, "completed", actor="tech1")
    with pytest.raises(RegistryError, match="session_date"):
        registry.record_session(
            aid, 2, TODAY - dt.timedelta(days=9), "completed", actor="tech1"
        )
    with pytest.raises(RecordNotFoundError, match="assignment_id"):
        registry.record_session(9999, 1, TODAY, "completed", actor="tech1")
    with pytest.raises(ValueError, match="finished"):
        registry.record_session(aid, 2, TODAY, "finished", actor="tech1")  # type: ignore[arg-type]
    assert registry.verify_audit().ok


def test_responses(registry: Registry) -> None:
    registry.add_patient("S1", "P001", history=None, actor="nurse1")
    days = (
        (40, "baseline", 10),
        (20, "post_treatment", 5),
        (5, "follow_up", 7),
        (1, "follow_up", 9.5),
    )
    for d, kind, v in days:
        record(
            registry,
            "S1",
            "P001",
            VisitIn(visit_date=TODAY - dt.timedelta(days=d), kind=kind),
            "vas_phantom_average",
            {"1": v * 10},
            actor="nurse1",
        )
    out = registry.responses("S1", "P001", "vas_phantom_average")
    pct = [r.percent_change for _, r in out]
    # (100-50)/100 = 50 %, (100-70)/100 = 30 %, (100-95)/100 = 5 %
    assert pct == pytest.approx([50.0, 30.0, 5.0], rel=RTOL)
    assert [r.responder_class.value for _, r in out] == [
        "substantially_important",
        "moderately_important",
        "none",
    ]
    with pytest.raises(RegistryError, match="baseline"):
        registry.responses("S1", "P001", "ham_a")


def test_rmt_only_from_converged_hunt(registry: Registry) -> None:
    from plptms.motor import (
        SimulatedSubject,
        SubjectParameters,
        ThresholdNotFoundError,
        hunt_ml_pest,
    )

    registry.add_patient("S1", "P001", history=None, actor="nurse1")
    assert registry.latest_rmt("S1", "P001") is None
    ok = hunt_ml_pest(
        SimulatedSubject(SubjectParameters(threshold_pct_mso=52.0), seed=1),
        start_intensity_pct_mso=60.0,
    )
    assert ok.converged
    rmt = registry.record_rmt(
        "S1",
        "P001",
        ok,
        hemisphere="right",
        muscle="FDI",
        stimulator="sim",
        actor="tech1",
    )
    assert rmt == pytest.approx(ok.estimate_pct_mso, rel=RTOL)
    assert registry.latest_rmt("S1", "P001") == (pytest.approx(rmt), TODAY)
    n = _audit_count(registry)
    failed = hunt_ml_pest(
        SimulatedSubject(SubjectParameters(threshold_pct_mso=150.0), seed=1),
        start_intensity_pct_mso=90.0,
    )
    assert not failed.converged
    with pytest.raises(ThresholdNotFoundError):
        registry.record_rmt(
            "S1",
            "P001",
            failed,
            hemisphere="right",
            muscle="FDI",
            stimulator="sim",
            actor="tech1",
        )
    assert _audit_count(registry) == n
    assert registry.latest_rmt("S1", "P001") == (pytest.approx(rmt), TODAY)
    with pytest.raises(ValueError, match="hemisphere"):
        registry.record_rmt(
            "S1",
            "P001",
            ok,
            hemisphere="up",
            muscle="FDI",
            stimulator="sim",
            actor="tech1",
        )
    assert registry.verify_audit().ok
