"""Site isolation inside PostgreSQL: row-level security under a scoped registry.

The oracle is what each site stored: a view scoped to S01 sees exactly S01's
rows, through the registry's methods and through raw SQL alike, and cannot
write a row of S02. On SQLite (no row-level security) a scoped view is the
registry itself, which the application layer guards.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from plptms.registry import RecordNotFoundError, Registry, RegistryError, VisitIn

DAY = dt.date(2026, 1, 5)
TABLES = ("patients", "visits", "assessments", "adverse_events")


def _seed(reg: Registry) -> None:
    from plptms.workflow import (
        AdverseEventInput,
        AssessmentInput,
        record_adverse_event,
        record_assessment,
    )

    for site, codes in (("S01", ("P1", "P2")), ("S02", ("P3",))):
        for code in codes:
            reg.add_patient(site, code, history=None, actor="n")
            record_assessment(
                reg,
                AssessmentInput(
                    site=site, code=code, scale_id="nrs_phantom_average",
                    visit=VisitIn(visit_date=DAY, kind="baseline"), items={"1": 6},
                ),
                actor="rater",
            )  # fmt: skip
            record_adverse_event(
                reg,
                AdverseEventInput(
                    site=site, code=code, actor="n", term="headache",
                    severity="mild", relatedness="possible",
                ),
            )  # fmt: skip


def _raw_counts(view: Registry) -> dict[str, int]:
    with view._read() as s:
        return {
            t: int(s.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one())
            for t in TABLES
        }


def test_a_scoped_view_sees_only_its_sites(db_url: str) -> None:
    with Registry(db_url) as reg:
        _seed(reg)
        everything = _raw_counts(reg)
        assert everything == dict.fromkeys(TABLES, 3)
        s01 = reg.scoped({"S01"})
        assert [p.code for p in s01.list_patients()] == (
            ["P1", "P2"] if reg.engine.dialect.name == "postgresql" else
            ["P1", "P2", "P3"]
        )  # fmt: skip
        if reg.engine.dialect.name != "postgresql":
            assert _raw_counts(s01) == everything
            return
        # the database itself filters: raw SQL, no application-layer check
        assert _raw_counts(s01) == dict.fromkeys(TABLES, 2)
        assert _raw_counts(reg.scoped({"S02"})) == dict.fromkeys(TABLES, 1)
        assert _raw_counts(reg.scoped(set())) == dict.fromkeys(TABLES, 0)
        assert _raw_counts(reg.scoped({"S01", "S02"})) == everything
        with pytest.raises(RecordNotFoundError):
            s01.get_patient("S02", "P3")
        with pytest.raises(RecordNotFoundError):
            s01.list_assessments("S02", "P3")
        # writes at the view's own site work and are audited
        s01.add_visit("S01", "P1", VisitIn(visit_date=DAY, kind="follow_up"), actor="n")
        assert reg.verify_audit().ok


def test_a_scoped_view_cannot_write_another_sites_rows(db_url: str) -> None:
    with Registry(db_url) as reg:
        if reg.engine.dialect.name != "postgresql":
            pytest.skip("row-level security is PostgreSQL's")
        _seed(reg)
        p3 = reg.get_patient("S02", "P3").id
        s01 = reg.scoped({"S01"})
        with pytest.raises(RecordNotFoundError):
            s01.add_visit("S02", "P3", VisitIn(visit_date=DAY, kind="follow_up"),
                          actor="n")  # fmt: skip
        # even a raw insert naming S02's patient is refused by the policy
        with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
            with s01._read() as s:
                s.execute(
                    sa.text(
                        "INSERT INTO visits (patient_id, visit_date, kind, note, "
                        "created_at) VALUES (:p, :d, 'follow_up', '', now())"
                    ),
                    {"p": p3, "d": DAY},
                )
        with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
            with s01._read() as s:
                s.execute(
                    sa.text(
                        "INSERT INTO patients (site, code, history, created_at) "
                        "VALUES ('S02', 'P9', '{}', now())"
                    )
                )
        assert _raw_counts(reg)["visits"] == 3
        assert reg.verify_audit().ok


def test_bad_site_sets_are_refused(db_url: str) -> None:
    with Registry(db_url) as reg:
        for bad in ({"S01,S02"}, {""}):
            with pytest.raises(RegistryError, match="sites"):
                reg.scoped(bad)


def test_a_scoped_view_cannot_enrol(db_url: str) -> None:
    """The allocation reads every site's enrolments (minimisation): a view that
    sees one site's would allocate from part of the history, so it is refused,
    on both backends, and nothing is stored."""
    from importlib.resources import files

    from tests.workflow._trialdef import screen

    from plptms.trial import read_trial_definition
    from plptms.workflow import create_trial, enrol_patient

    defn = read_trial_definition(files("plptms.trial") / "data" / "example_trial.yaml")
    with Registry(db_url) as reg:
        create_trial(reg, defn, actor="stat")
        reg.add_patient("S01", "P1", history=None, actor="n")
        screen(reg, "S01", "P1")
        seq = reg.audit_head().seq
        factors = {"limb": "upper", "pain_band": "nrs_4_6"}
        with pytest.raises(RegistryError, match="site-scoped"):
            enrol_patient(reg.scoped({"S01"}), defn.id, "S01", "P1", factors,
                          actor="dr")  # fmt: skip
        assert reg.audit_head().seq == seq
        assert reg.list_enrolments(defn.id) == []
        assert enrol_patient(reg, defn.id, "S01", "P1", factors, actor="dr").kit_code


def test_a_scoped_view_lists_its_sites_enrolments(db_url: str) -> None:
    """Four patients enrolled at two sites (3 at S01, 1 at S02): a view of S02
    lists exactly its one enrolment, at its allocation index, on both backends;
    the whole registry lists all four in index order 0..3."""
    from importlib.resources import files

    from tests.workflow._trialdef import screen

    from plptms.trial import read_trial_definition
    from plptms.workflow import create_trial, enrol_patient

    defn = read_trial_definition(files("plptms.trial") / "data" / "example_trial.yaml")
    factors = {"limb": "upper", "pain_band": "nrs_4_6"}
    with Registry(db_url) as reg:
        create_trial(reg, defn, actor="stat")
        for site, code in (("S01", "P1"), ("S01", "P2"), ("S02", "P3"), ("S01", "P4")):
            reg.add_patient(site, code, history=None, actor="n")
            screen(reg, site, code)
            enrol_patient(reg, defn.id, site, code, factors, actor="dr")
        whole = reg.list_enrolments(defn.id)
        assert [(e.site, e.code, e.allocation_index) for e in whole] == [
            ("S01", "P1", 0), ("S01", "P2", 1), ("S02", "P3", 2), ("S01", "P4", 3),
        ]  # fmt: skip
        part = reg.scoped({"S02"}).list_enrolments(defn.id)
        assert [(e.site, e.code, e.allocation_index) for e in part] == [
            ("S02", "P3", 2)
        ]
        assert reg.scoped(set()).list_enrolments(defn.id) == []
