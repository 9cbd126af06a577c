"""The web's read models and guarded use cases (plptms.workflow._views)."""

from __future__ import annotations

import datetime as dt

import pytest

from plptms.access import AccessDeniedError, Principal, Role
from plptms.registry import Registry, VisitIn
from plptms.workflow._views import (
    AssessmentEntry,
    PatientNotFoundError,
    check_items,
    entry_patient,
    list_patients_for,
    patient_assessments,
    patient_page,
    record_assessment_for,
    scale_form,
    scale_forms,
    trajectory_svg,
)
from tests.web import conftest as web_fixtures
from tests.web.conftest import S02_ONLY_CODE, audit_actors, counts

# the web tests' registry of two sites (S01, S02), as fixtures here too
_seeded = web_fixtures._seeded
db_file = web_fixtures.db_file
_pg_template = web_fixtures._pg_template


def _p(role: Role, *sites: str, name: str = "u1") -> Principal:
    return Principal(username=name, role=role, sites=frozenset(sites))


DR1 = _p(Role.PHYSICIAN, "S01", name="dr1")
RATER = _p(Role.RATER, "S01", name="rater1")
ADMIN = _p(Role.ADMINISTRATOR, "S01", "S02", name="admin1")
BOTH = _p(Role.MONITOR, "S01", "S02", name="mon2")


@pytest.fixture
def two_sites(db_file: str):  # type: ignore[no-untyped-def]
    with Registry(db_file) as r:
        yield r


def test_list_only_the_users_sites(two_sites) -> None:  # type: ignore[no-untyped-def]
    codes = [(p.site, p.code) for p in list_patients_for(two_sites, DR1)]
    assert codes == [("S01", "P001"), ("S01", "P002")]
    assert list_patients_for(two_sites, DR1, site="S02") == []
    assert list_patients_for(two_sites, DR1, query="secret") == []
    both = [(p.site, p.code) for p in list_patients_for(two_sites, BOTH, query="p001")]
    assert both == [("S01", "P001"), ("S02", "P001")]


@pytest.mark.parametrize(
    "call",
    [patient_page, patient_assessments, trajectory_svg, entry_patient],
)
def test_other_site_is_reported_as_a_missing_patient(two_sites, call) -> None:  # type: ignore[no-untyped-def]
    messages = []
    for site, code in (("S02", S02_ONLY_CODE), ("S02", "NOPE"), ("S01", "NOPE")):
        with pytest.raises(PatientNotFoundError, match="'code'") as info:
            call(two_sites, DR1, site, code)
        messages.append(str(info.value).replace(f"{site}/{code}", "<id>"))
    assert len(set(messages)) == 1  # same words for existing and missing


def test_role_without_permission_is_refused_before_any_lookup(two_sites) -> None:  # type: ignore[no-untyped-def]
    for call in (patient_page, patient_assessments):
        with pytest.raises(AccessDeniedError, match="admin1"):
            call(two_sites, ADMIN, "S02", "NOPE")  # the role decides, not the record
    with pytest.raises(AccessDeniedError, match=r"patient\.read"):
        list_patients_for(two_sites, ADMIN)


def test_rater_page_has_no_treatment(two_sites) -> None:  # type: ignore[no-untyped-def]
    rater = patient_page(two_sites, RATER, "S01", "P001")
    doctor = patient_page(two_sites, DR1, "S01", "P001")
    assert rater.treatment is None
    assert doctor.treatment is not None
    assert [a.protocol_id for a in doctor.treatment.assignments] == ["small-10hz"]
    assert [e.term for e in doctor.treatment.adverse_events] == ["headache"]
    assert "condition" not in doctor.treatment.model_dump_json()
    # seeded VAS totals (mm), hand-entered: 62.5 at baseline, 31.0 after
    assert [a.total for a in rater.assessments] == [62.5, 31.0]
    assert rater.screening is not None
    assert rater.screening.status == "eligible"


def test_record_assessment_for_audits_the_user(two_sites, db_file) -> None:  # type: ignore[no-untyped-def]
    entry = AssessmentEntry(
        scale_id="nrs_phantom_average",
        visit=VisitIn(visit_date=dt.date.today(), kind="follow_up"),
        items={"1": 3},
    )
    out = record_assessment_for(two_sites, RATER, "S01", "P001", entry)
    assert out.total == 3
    assert audit_actors(db_file, "assessments")[-1] == "rater1"
    before = counts(db_file)
    with pytest.raises(PatientNotFoundError):
        record_assessment_for(two_sites, RATER, "S02", "P001", entry)
    with pytest.raises(AccessDeniedError, match=r"assessment\.write"):
        record_assessment_for(two_sites, _p(Role.OPERATOR, "S01"), "S01", "P002", entry)
    assert counts(db_file) == before


def test_entry_refuses_loose_types() -> None:
    visit = VisitIn(visit_date=dt.date.today(), kind="other")
    for bad in (True, "3", [3]):
        with pytest.raises(ValueError, match="items"):
            AssessmentEntry(
                scale_id="nrs_phantom_average", visit=visit, items={"1": bad}
            )


def test_check_items_collects_every_bad_item() -> None:
    # NRS items: whole numbers in [0, 10]
    errors = check_items("sf_mpq2", {"1": 11, "2": 2.5, "3": 4, "x": 1, "4": None})
    assert set(errors) == {"1", "2", "x"}
    assert "'sf_mpq2.item_1'" in errors["1"]
    assert "[0, 10]" in errors["1"]
    assert "whole number" in errors["2"]
    assert check_items("sf_mpq2", {"1": 0, "2": 10}) == {}


def test_scale_forms_mirror_the_definitions() -> None:
    from plptms.scales import get_scale, list_scales

    forms = scale_forms()
    assert [f.id for f in forms] == [s.id for s in list_scales()]
    lanss = scale_form("lanss")
    ref = get_scale("lanss")
    assert [(i.id, i.min, i.max) for i in lanss.items] == [
        (i.id, i.min, i.max) for i in ref.items
    ]
    with pytest.raises(ValueError, match="scale_id"):
        scale_form("lans")


def test_trajectory_svg_plots_the_preferred_pain_scale(two_sites) -> None:  # type: ignore[no-untyped-def]
    svg = trajectory_svg(two_sites, DR1, "S01", "P001")
    assert svg is not None
    assert svg.lstrip().startswith("<?xml")
    assert "vas_phantom_average" in svg
    assert trajectory_svg(two_sites, DR1, "S01", "P002") is None
