"""The registry stores records scored by plptms.scales; it scores nothing."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from plptms.registry import RecordNotFoundError, Registry, RegistryError, VisitIn
from plptms.scales import score_record

RTOL = 1e-12
BASE = VisitIn(visit_date=dt.date.today() - dt.timedelta(days=7), kind="baseline")
# LANSS worked example (tests/scales/test_scoring.py): 5 + 3 + 2 + 3 = 13
LANSS = {"A1": 1, "A2": 0, "A3": 1, "A4": 1, "A5": 0, "B1": 0, "B2": 1}


def _audit_count(reg: Registry) -> int:
    with reg.engine.connect() as c:
        return int(c.execute(sa.text("SELECT count(*) FROM audit_log")).scalar_one())


def test_store_scored_record(registry: Registry) -> None:
    """LANSS (Bennett, 2001): the stored total and band are the record's."""
    registry.add_patient("S1", "P001", history=None, actor="nurse1")
    a = registry.store_assessment(
        "S1", "P001", BASE, score_record("lanss", LANSS), actor="nurse1"
    )
    assert (a.scale_id, a.band, a.items) == ("lanss", "neuropathic", LANSS)
    assert a.total == pytest.approx(13.0, rel=RTOL)
    assert registry.get_assessment(a.id) == a
    with registry.engine.connect() as c:
        stored_with = c.execute(
            sa.text("SELECT scored_with FROM assessments WHERE id = :i"), {"i": a.id}
        ).scalar_one()
    assert stored_with  # the plptms version that stored it
    assert registry.verify_audit().ok


def test_unscored_input_refused(registry: Registry) -> None:
    registry.add_patient("S1", "P001", history=None, actor="nurse1")
    n = _audit_count(registry)
    raw = {"scale_id": "lanss", "items": LANSS, "total": 99.0}
    with pytest.raises(RegistryError, match=r"'scored'.*ScoredRecord"):
        registry.store_assessment("S1", "P001", BASE, raw, actor="n1")  # type: ignore[arg-type]
    with pytest.raises(RegistryError, match=r"'records\[0\]'.*ScoredRecord"):
        registry.store_assessments([("S1", "P001", BASE, raw)], actor="n1")  # type: ignore[list-item]
    assert _audit_count(registry) == n
    assert registry.list_visits("S1", "P001") == []


def test_correction_must_keep_the_scale(registry: Registry) -> None:
    """LANSS (Bennett, 2001): B2 "no" takes 3 off the total, 13 -> 10."""
    registry.add_patient("S1", "P001", history=None, actor="nurse1")
    a = registry.store_assessment(
        "S1", "P001", BASE, score_record("lanss", LANSS), actor="nurse1"
    )
    other = score_record("nrs_phantom_average", {"1": 4})
    with pytest.raises(RegistryError, match=r"'scored\.scale_id'.*'lanss'"):
        registry.store_correction(a.id, other, actor="dr1", reason="wrong form")
    fixed = score_record("lanss", {**LANSS, "B2": 0})
    b = registry.store_correction(a.id, fixed, actor="dr1", reason="B2 misread")
    assert b.total == pytest.approx(10.0, rel=RTOL)
    assert b.band == "not neuropathic"
    registry.delete_assessment(a.id, actor="dr1", reason="entered twice")
    with pytest.raises(RecordNotFoundError, match="assessment_id"):
        registry.get_assessment(a.id)
    assert registry.verify_audit().ok
