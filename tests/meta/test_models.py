"""Validation of study outcome data: house-style errors that name the field."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from plptms.meta import (
    ArmSummary,
    FrequencyClass,
    OutcomeStudy,
    ReportedTest,
    StudyModerators,
)

STUDY: dict[str, Any] = {
    "id": "demo2030",
    "citation": "Demo et al., 2030",
    "design": "rct",
    "comparison": "sham",
    "n_total": 40,
    "moderators": {
        "targets": ["m1"],
        "frequency_hz": [10],
        "intensity_pct_rmt": 90,
        "pulses_per_session": 1500,
        "sessions": 10,
    },
    "source": "invented for tests",
    "outcomes": [
        {
            "id": "vas-end",
            "outcome": "pain_intensity",
            "instrument": "VAS",
            "timepoint": "end_of_treatment",
            "treatment": {"label": "active", "n": 20, "mean": 3.0, "sd": 1.5},
            "control": {"label": "sham", "n": 20, "mean": 4.5, "sd": 1.8},
            "reported": "invented",
            "source": "invented",
        }
    ],
}


def _study(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(STUDY)
    data.update(changes)
    return data


def test_valid_study_round_trips() -> None:
    s = OutcomeStudy.model_validate(STUDY)
    assert s.moderators.frequency_class == FrequencyClass.HIGH
    assert OutcomeStudy.model_validate_json(s.model_dump_json()) == s
    assert s.outcome("vas-end").instrument == "VAS"
    with pytest.raises(KeyError, match="'outcome_id'"):
        s.outcome("nope")


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("n_total",), 0, "n_total"),
        (("n_total",), 10, "outcomes.vas-end"),
        (("comparison",), "placebo", "comparison"),
        (("moderators", "frequency_hz"), [0], "frequency_hz"),
        (("moderators", "frequency_hz"), [10, 1], "frequency_hz"),
        (("moderators", "intensity_pct_rmt"), 400, "intensity_pct_rmt"),
        (("moderators", "sessions"), 0, "sessions"),
        (("outcomes", 0, "treatment", "sd"), -1.0, "sd"),
        (("outcomes", 0, "treatment", "n"), 0, "n"),
        (("outcomes", 0, "treatment", "percent_change"), -120, "percent_change"),
        (("outcomes", 0, "timepoint"), "follow_up", "follow_up"),
        (("outcomes", 0, "id"), "VAS End", "id"),
    ],
)
def test_invalid_values_name_the_field(
    path: tuple[Any, ...], value: Any, field: str
) -> None:
    data = _study()
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ValidationError, match=field):
        OutcomeStudy.model_validate(data)


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("n_total",), True, "n_total"),
        (("n_total",), "40", "n_total"),
        (("n_total",), 10**9, "n_total"),
        (("moderators", "frequency_hz"), [True], "frequency_hz"),
        (("moderators", "frequency_hz"), ["10"], "frequency_hz"),
        (("moderators", "intensity_pct_rmt"), True, "intensity_pct_rmt"),
        (("moderators", "intensity_pct_rmt"), "90", "intensity_pct_rmt"),
        (("moderators", "pulses_per_session"), True, "pulses_per_session"),
        (("moderators", "pulses_per_session"), 10**12, "pulses_per_session"),
        (("moderators", "sessions"), "10", "sessions"),
        (("outcomes", 0, "treatment", "n"), True, "n"),
        (("outcomes", 0, "treatment", "mean"), "3.0", "mean"),
        (("outcomes", 0, "treatment", "mean"), float("inf"), "mean"),
        (("outcomes", 0, "treatment", "sd"), True, "sd"),
        (("outcomes", 0, "lower_is_better"), "no", "lower_is_better"),
        (("outcomes", 0, "lower_is_better"), 0, "lower_is_better"),
        (("outcomes", 0, "follow_up_days"), 1e300, "follow_up_days"),
    ],
)
def test_wrong_types_and_absurd_values_refused(
    path: tuple[Any, ...], value: Any, field: str
) -> None:
    test_invalid_values_name_the_field(path, value, field)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"value": True}, "value"),
        ({"value": "2.1"}, "value"),
        ({"sided": True}, "sided"),
        ({"df": True}, "df"),
    ],
)
def test_reported_test_strict(changes: dict[str, Any], field: str) -> None:
    base = {
        "statistic": "t",
        "value": 2.1,
        "direction": "treatment_lower",
        "quantity": "VAS",
    }
    with pytest.raises(ValidationError, match=field):
        ReportedTest.model_validate({**base, **changes})


def test_unknown_field_and_duplicates() -> None:
    with pytest.raises(ValidationError, match="extra"):
        OutcomeStudy.model_validate(_study(sponsor="x"))
    data = _study()
    data["outcomes"] = [data["outcomes"][0], data["outcomes"][0]]
    with pytest.raises(ValidationError, match="duplicate"):
        OutcomeStudy.model_validate(data)
    data = _study(comparison="none")
    with pytest.raises(ValidationError, match="'comparison'"):
        OutcomeStudy.model_validate(data)


def test_unreported_values() -> None:
    arm = ArmSummary.model_validate(
        {"label": "a", "n": "unreported", "sd": "unreported"}
    )
    assert arm.n is None
    assert arm.sd is None
    assert arm.model_dump(mode="json")["n"] == "unreported"


def test_reported_test_validation() -> None:
    base = {"direction": "treatment_lower", "quantity": "VAS"}
    for stat, value, field in [
        ("p", 0.0, "value"),
        ("p", 1.0, "value"),
        ("f", -1.0, "value"),
        ("t", 0.0, "value"),
    ]:
        with pytest.raises(ValidationError, match=field):
            ReportedTest.model_validate({"statistic": stat, "value": value, **base})
    with pytest.raises(ValidationError, match="df"):
        ReportedTest.model_validate({"statistic": "t", "value": 2.0, "df": 0, **base})
    with pytest.raises(ValidationError, match="direction"):
        ReportedTest.model_validate({"statistic": "t", "value": 2.0, "quantity": "x"})


def test_frequency_classes() -> None:
    def fc(*f: float) -> FrequencyClass:
        return StudyModerators(
            targets=["m1"] * len(f),
            frequency_hz=f,  # type: ignore[arg-type]
        ).frequency_class

    assert fc(1.0) == FrequencyClass.LOW
    assert fc(3.0) == FrequencyClass.INTERMEDIATE
    assert fc(5.0) == FrequencyClass.HIGH
    assert fc(1.0, 10.0) == FrequencyClass.MIXED


# Hypothesis: every validator passes in range, names the field out of range, and is
# idempotent (re-validating a dumped model gives the same model).


@settings(max_examples=60)
@given(f=st.floats(0.01, 100.0), i=st.floats(0.1, 250.0), s=st.integers(1, 500))
def test_moderators_in_range(f: float, i: float, s: int) -> None:
    m = StudyModerators(
        targets=["m1"],  # type: ignore[list-item]
        frequency_hz=(f,),
        intensity_pct_rmt=i,
        sessions=s,
    )
    assert StudyModerators.model_validate(m.model_dump()) == m


@settings(max_examples=60)
@given(f=st.one_of(st.floats(max_value=0.0), st.floats(min_value=100.001)))
def test_moderators_frequency_out_of_range(f: float) -> None:
    with pytest.raises(ValidationError, match="frequency_hz"):
        StudyModerators(targets=["m1"], frequency_hz=(f,))  # type: ignore[list-item]


@settings(max_examples=60)
@given(
    n=st.integers(1, 10_000),
    sd=st.floats(0.001, 1e3),
    pct=st.floats(-100.0, 1e3),
)
def test_arm_in_range(n: int, sd: float, pct: float) -> None:
    arm = ArmSummary(label="a", n=n, sd=sd, percent_change=pct)
    assert ArmSummary.model_validate(arm.model_dump()) == arm


@settings(max_examples=60)
@given(n=st.integers(max_value=0), sd=st.floats(max_value=0.0))
def test_arm_out_of_range(n: int, sd: float) -> None:
    with pytest.raises(ValidationError, match="'n'"):
        ArmSummary(label="a", n=n)
    with pytest.raises(ValidationError, match="'sd'"):
        ArmSummary(label="a", sd=sd)


@settings(max_examples=60)
@given(p=st.floats(1e-12, 1 - 1e-12))
def test_p_in_range(p: float) -> None:
    t = ReportedTest(statistic="p", value=p, direction="treatment_lower", quantity="x")
    assert ReportedTest.model_validate(t.model_dump()) == t


@settings(max_examples=60)
@given(p=st.one_of(st.floats(max_value=0.0), st.floats(min_value=1.0)))
def test_p_out_of_range(p: float) -> None:
    with pytest.raises(ValidationError, match="'value'"):
        ReportedTest(statistic="p", value=p, direction="treatment_lower", quantity="x")
