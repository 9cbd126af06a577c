"""Use cases before delivery: record a screening, assign a protocol."""

from __future__ import annotations

import datetime as dt

import pytest

from plptms.protocol import Protocol, load_library
from plptms.registry import Registry
from plptms.safety import (
    PhysicianReview,
    ScreeningAnswers,
    load_screening_items,
)
from plptms.workflow import AssignmentRefusedError, assign_protocol, record_screening

from .conftest import protocol_data, record_rmt

REVIEW = PhysicianReview(physician="Dr A", reason="Unverified table cells reviewed.")


@pytest.fixture
def reg(db_url: str):
    with Registry(db_url) as r:
        r.add_patient("S1", "P001", history=None, actor="n1")
        yield r


def test_record_screening_dates_undated_answers_today(reg) -> None:
    answers = ScreeningAnswers(
        answers=dict.fromkeys([i.id for i in load_screening_items()], "no")
    )
    _, report = record_screening(reg, "S1", "P001", answers, actor="dr1")
    assert report.status.value == "eligible"
    stored = reg.latest_screening("S1", "P001")
    assert stored is not None
    assert stored.screened_on == dt.date.today()


def test_only_a_deliverable_verdict_is_assigned(reg) -> None:
    """Refused, incomplete or unreviewed verdicts store nothing (issue 14)."""
    lib = load_library()
    record_rmt(reg)
    # Malavera 2016 as published: 6 s trains at 10 Hz refused by the train table
    with pytest.raises(AssignmentRefusedError, match="train_duration") as exc:
        assign_protocol(
            reg, "S1", "P001", lib.protocol("malavera2016-m1-10hz"), actor="d"
        )
    assert exc.value.verdict.decision.value == "refused"
    # Xu 2019: train structure unreported in the review
    with pytest.raises(AssignmentRefusedError, match="unreported"):
        assign_protocol(reg, "S1", "P001", lib.protocol("xu2019-m1-10hz"), actor="d")
    proto = Protocol.model_validate(protocol_data())
    with pytest.raises(AssignmentRefusedError, match="physician's review"):
        assign_protocol(reg, "S1", "P001", proto, actor="d")
    assert reg.list_assignments("S1", "P001") == []
    result = assign_protocol(reg, "S1", "P001", proto, actor="d", review=REVIEW)
    assert result.verdict.decision.value == "accepted"
    assert reg.assignment_verdict(result.assignment_id) == result.verdict
    assert result.verdict.review == REVIEW
    # the verdict was computed with the patient's stored RMT
    rmt = reg.latest_rmt("S1", "P001")
    assert rmt is not None
    assert result.verdict.rmt_pct_mso == rmt[0]
