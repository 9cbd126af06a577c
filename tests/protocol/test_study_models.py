"""Study records: arms with outcomes, sources, corrections; strict validation."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from plptms.protocol import (
    Arm,
    ArmOutcome,
    Correction,
    CourseBlock,
    Protocol,
    SourceRead,
    Study,
    TargetDeviation,
)

from ..conftest import dose


def _study(**kw: Any) -> Study:
    data: dict[str, Any] = {
        "id": "x2020",
        "citation": "X et al., 2020",
        "design": "case_report",
        "n_total": 1,
        "arms": [
            {"label": "A", "n": 1, "condition": "active", "outcome": "effective"},
            {
                "label": "B",
                "n": 1,
                "condition": "active",
                "outcome": "not_effective",
                "same_participants_as": "A",
            },
        ],
        "population": "one patient",
        "outcome": "VAS",
        "reported_effect": "A worked, B did not",
        "primary_citation": "X. Title. J. 2020. doi:10/x",
        "bibkey": "x2020",
        "source": "abstract",
        "review": "review Table 2",
        "review_bibkey": "plpreview",
    }
    data.update(kw)
    return Study.model_validate(data)


def test_sequential_arms_count_the_same_patient_once() -> None:
    s = _study()
    assert [a.outcome for a in s.arms] == [
        ArmOutcome.EFFECTIVE,
        ArmOutcome.NOT_EFFECTIVE,
    ]
    assert s.source is SourceRead.ABSTRACT
    # without the link the two arms of one patient exceed n_total
    arms = [a.model_dump() for a in s.arms]
    arms[1]["same_participants_as"] = None
    with pytest.raises(ValidationError, match=r"'arms'.*n_total = 1"):
        _study(arms=arms)


@pytest.mark.parametrize("ref", ["B", "C"])
def test_same_participants_as_names_another_arm(ref: str) -> None:
    arms = [a.model_dump() for a in _study().arms]
    arms[1]["same_participants_as"] = ref
    with pytest.raises(ValidationError, match=r"same_participants_as.*allowed values"):
        _study(arms=arms)


def test_arm_labels_unique_and_outcome_checked() -> None:
    arms = [a.model_dump() for a in _study().arms]
    arms[1]["label"] = "A"
    with pytest.raises(ValidationError, match="duplicate labels"):
        _study(arms=arms)
    with pytest.raises(ValidationError, match="outcome"):
        Arm(label="A", n=1, condition="active", outcome="worked")  # type: ignore[arg-type]
    assert Arm(label="A", n=1, condition="active").outcome is ArmOutcome.UNREPORTED


def test_study_fields_strict() -> None:
    with pytest.raises(ValidationError, match="extra"):
        _study(impact="high")
    with pytest.raises(ValidationError, match="source"):
        _study(source="review Table 2")
    with pytest.raises(ValidationError, match="bibkey"):
        _study(bibkey="not a key")
    with pytest.raises(ValidationError, match="primary_citation"):
        _study(primary_citation="")


def test_corrections_validated() -> None:
    c = Correction(
        field="laterality",
        as_quoted_by_review="contralateral",
        as_published="ipsilateral",
        source="abstract",
    )
    assert _study(corrections=[c.model_dump()]).corrections == (c,)
    with pytest.raises(ValidationError, match="as_published"):
        Correction(
            field="x", as_quoted_by_review="a", as_published="  ", source="abstract"
        )
    # nothing can be corrected against a paper that was not reached
    with pytest.raises(ValidationError, match="not_reached"):
        _study(source="not_reached", corrections=[c.model_dump()])


def _two_blocks(from_session: int, sessions: int, *, linked: bool = True) -> Protocol:
    host = CourseBlock(
        label="S1", dose=dose(), sessions=28, sessions_per_week=5, course_weeks=6
    )
    added = CourseBlock(
        label="DLPFC",
        dose=dose(),
        sessions=sessions,
        sessions_per_week=5,
        course_weeks="unreported",
        same_sessions_as="S1" if linked else None,
        from_session=from_session,
    )
    return Protocol(id="p-two", name="two", condition="active", blocks=(host, added))


def test_from_session_within_the_host_block() -> None:
    assert _two_blocks(5, 24).block("DLPFC").from_session == 5
    with pytest.raises(ValidationError, match=r"'sessions'.*\[1, 24\]"):
        _two_blocks(5, 25)
    with pytest.raises(ValidationError, match="from_session"):
        _two_blocks(5, 10, linked=False)
    with pytest.raises(ValidationError, match="from_session"):
        _two_blocks(0, 10)


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1, max_value=28))
def test_from_session_property(start: int) -> None:
    """Any start leaving room in the 28 host sessions passes; one more fails."""
    room = 28 - start + 1
    p = _two_blocks(start, room)
    assert p.block("DLPFC").from_session == start
    assert Protocol.model_validate(p.model_dump()) == p  # idempotent
    with pytest.raises(ValidationError, match="'sessions'"):
        _two_blocks(start, room + 1)


@settings(max_examples=40, deadline=None)
@given(st.text(min_size=0, max_size=30))
def test_deviation_reason_property(reason: str) -> None:
    """A reason of at least 10 visible characters passes; a shorter one names it."""
    if len(reason.strip()) >= 10:
        dev = TargetDeviation(target="m1_leg", reason=reason, operator="a")
        assert TargetDeviation.model_validate(dev.model_dump()) == dev
    else:
        with pytest.raises(ValidationError, match="'reason'"):
            TargetDeviation(target="m1_leg", reason=reason, operator="a")
