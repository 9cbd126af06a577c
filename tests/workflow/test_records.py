"""Use cases of the patient record: register, visit, score then store."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from plptms.registry import DuplicateRecordError, Registry, RegistryError, VisitIn
from plptms.scales import PLPHistory
from plptms.workflow import (
    AssessmentInput,
    PatientInput,
    VisitInput,
    add_visit,
    correct_assessment,
    record_assessment,
    record_assessments,
    register_patient,
)
from tests.scales.test_scoring import HAM_D17_EXAMPLE

RTOL = 1e-12
TODAY = dt.date.today()
BASE = VisitIn(visit_date=TODAY - dt.timedelta(days=14), kind="baseline")
FOLLOW = VisitIn(visit_date=TODAY, kind="follow_up")
# HAM-D17 worked example (Hamilton, 1960), from tests/scales: total 26, item 1 is 3
HAMD = HAM_D17_EXAMPLE
HISTORY = {
    "side": "left",
    "limb": "lower",
    "level": "transtibial",
    "cause": "trauma",
    "amputation_date": (TODAY - dt.timedelta(days=400)).isoformat(),
    "assessed_on": (TODAY - dt.timedelta(days=20)).isoformat(),
    "prosthesis_use": "daily",
    "phantom_sensations": True,
    "telescoping": False,
}


@pytest.fixture
def reg(db_url: str) -> Iterator[Registry]:
    with Registry(db_url) as r:
        yield r


def _nrs(code: str, visit: VisitIn, value: object) -> AssessmentInput:
    return AssessmentInput(
        site="S1",
        code=code,
        visit=visit,
        scale_id="nrs_phantom_average",
        items={"1": value},
    )


def test_register_patient_with_history(reg: Registry) -> None:
    p = register_patient(
        reg, PatientInput(site="S1", code="P001", history=HISTORY), actor="n1"
    )
    assert p.amputation_date == TODAY - dt.timedelta(days=400)
    assert p.history["level"] == "transtibial"
    with pytest.raises(DuplicateRecordError, match="'code'"):
        register_patient(reg, PatientInput(site="S1", code="P001"), actor="n1")
    with pytest.raises(ValidationError, match="level"):
        PatientInput(site="S1", code="P002", history={**HISTORY, "level": "elbow"})
    assert isinstance(
        PatientInput(site="S1", code="P2", history=HISTORY).history, PLPHistory
    )


def test_add_visit_before_amputation_refused(reg: Registry) -> None:
    register_patient(
        reg, PatientInput(site="S1", code="P001", history=HISTORY), actor="n1"
    )
    v = add_visit(reg, VisitInput(site="S1", code="P001", visit=BASE), actor="n1")
    assert v.visit_date == BASE.visit_date
    early = VisitIn(visit_date=TODAY - dt.timedelta(days=401), kind="baseline")
    with pytest.raises(RegistryError, match="visit_date"):
        add_visit(reg, VisitInput(site="S1", code="P001", visit=early), actor="n1")


def test_record_and_correct(reg: Registry) -> None:
    """HAM-D17 (Hamilton, 1960): sum of 17 items; item 1 from 3 to 1 gives 24."""
    register_patient(reg, PatientInput(site="S1", code="P001"), actor="n1")
    rec = AssessmentInput(
        site="S1", code="P001", visit=BASE, scale_id="ham_d17", items=HAMD
    )
    a = record_assessment(reg, rec, actor="n1")
    assert a.total == pytest.approx(26.0, rel=RTOL)
    assert a.items == HAMD
    b = correct_assessment(
        reg, a.id, {**HAMD, "1": 1}, actor="dr1", reason="item 1 re-rated"
    )
    assert b.id == a.id
    assert b.total == pytest.approx(24.0, rel=RTOL)
    with pytest.raises(ValueError, match=re.escape("'ham_d17.item_1'")):
        correct_assessment(reg, a.id, {**HAMD, "1": 9}, actor="dr1", reason="typo!")
    assert reg.get_assessment(a.id).total == pytest.approx(24.0, rel=RTOL)
    assert reg.verify_audit().ok


def test_items_checked_by_the_scale_not_coerced(reg: Registry) -> None:
    register_patient(reg, PatientInput(site="S1", code="P001"), actor="n1")
    # text and bool are refused by the scale's own check, naming the item
    with pytest.raises(TypeError, match=re.escape("'nrs_phantom_average.item_1'")):
        record_assessment(reg, _nrs("P001", BASE, "7"), actor="n1")
    with pytest.raises(ValueError, match="not a bool"):
        record_assessment(reg, _nrs("P001", BASE, True), actor="n1")
    assert reg.list_visits("S1", "P001") == []


def test_bulk_names_the_bad_record_and_stores_nothing(reg: Registry) -> None:
    """NRS (Hawker et al., 2011): 0-10, so 11 is out of range."""
    reg.add_patients([("S1", "P001", None), ("S1", "P002", None)], actor="imp")
    good = [_nrs("P001", BASE, 7), _nrs("P002", BASE, 5), _nrs("P001", FOLLOW, 3)]
    assert record_assessments(reg, good, actor="imp") == 3
    totals = [a.total for a in reg.list_assessments("S1", "P001")]
    assert totals == pytest.approx([7.0, 3.0], rel=RTOL)
    later = VisitIn(visit_date=TODAY - dt.timedelta(days=1), kind="follow_up")
    with pytest.raises(RegistryError, match=r"records\[1\].*nrs_phantom_average"):
        record_assessments(
            reg, [_nrs("P002", later, 4), _nrs("P002", later, 11)], actor="imp"
        )
    assert len(reg.list_assessments("S1", "P002")) == 1
    assert reg.verify_audit().ok
