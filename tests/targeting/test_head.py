"""Head measurements: adult ranges, proportions, messages naming the field."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from plptms.targeting import HeadMeasurements
from plptms.targeting._constants import (
    CIRCUMFERENCE_MAX_CM,
    CIRCUMFERENCE_MIN_CM,
    NASION_INION_MAX_CM,
    NASION_INION_MIN_CM,
    TRAGUS_TRAGUS_MAX_CM,
    TRAGUS_TRAGUS_MIN_CM,
)

from ._strategies import heads

VALID = {"nasion_inion_cm": 36.0, "tragus_tragus_cm": 35.0, "circumference_cm": 56.0}
BOUNDS = {
    "nasion_inion_cm": (NASION_INION_MIN_CM, NASION_INION_MAX_CM),
    "tragus_tragus_cm": (TRAGUS_TRAGUS_MIN_CM, TRAGUS_TRAGUS_MAX_CM),
    "circumference_cm": (CIRCUMFERENCE_MIN_CM, CIRCUMFERENCE_MAX_CM),
}


def test_valid_head() -> None:
    head = HeadMeasurements(**VALID)
    assert head.nasion_inion_cm == pytest.approx(36.0)


def test_frozen_and_no_extra_fields() -> None:
    head = HeadMeasurements(**VALID)
    with pytest.raises(ValidationError):
        head.nasion_inion_cm = 30.0  # type: ignore[misc]
    with pytest.raises(ValidationError, match="extra"):
        HeadMeasurements(**VALID, age_years=40)


@pytest.mark.parametrize("field", sorted(BOUNDS))
@pytest.mark.parametrize("where", ["below", "above"])
def test_out_of_range_names_field(field: str, where: str) -> None:
    low, high = BOUNDS[field]
    value = low - 0.5 if where == "below" else high + 0.5
    with pytest.raises(ValueError, match=field) as info:
        HeadMeasurements(**{**VALID, field: value})
    assert f"got {value!r}" in str(info.value)
    assert "allowed range is" in str(info.value)
    assert "cm" in str(info.value)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_not_finite(value: float) -> None:
    with pytest.raises(ValueError, match="circumference_cm"):
        HeadMeasurements(**{**VALID, "circumference_cm": value})


def test_arc_too_long_for_circumference() -> None:
    # plausible alone, but an over-the-vertex arc of 0.8 x circumference is not
    with pytest.raises(ValueError, match="tragus_tragus_cm") as info:
        HeadMeasurements(
            nasion_inion_cm=36.0, tragus_tragus_cm=40.0, circumference_cm=50.0
        )
    assert "x circumference_cm" in str(info.value)


def test_arcs_too_different() -> None:
    with pytest.raises(ValueError, match="nasion_inion_cm") as info:
        HeadMeasurements(
            nasion_inion_cm=42.0, tragus_tragus_cm=34.0, circumference_cm=60.0
        )
    assert "tragus_tragus_cm" in str(info.value)


def test_cm_not_mm() -> None:
    with pytest.raises(ValueError, match="circumference_cm"):
        HeadMeasurements(
            nasion_inion_cm=36.0, tragus_tragus_cm=35.0, circumference_cm=560.0
        )


@settings(max_examples=60, deadline=None)
@given(heads())
def test_in_range_passes_and_idempotent(head: HeadMeasurements) -> None:
    again = HeadMeasurements.model_validate(head.model_dump())
    assert again == head


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(sorted(BOUNDS)),
    st.floats(0.01, 200.0),
    st.booleans(),
)
def test_out_of_range_always_raises(field: str, excess: float, below: bool) -> None:
    low, high = BOUNDS[field]
    value = low - excess if below else high + excess
    with pytest.raises(ValueError, match=field):
        HeadMeasurements(**{**VALID, field: value})


@settings(max_examples=30, deadline=None)
@given(heads(), st.floats(0.9, 1.1))
def test_scaled(head: HeadMeasurements, factor: float) -> None:
    try:
        scaled = head.scaled(factor)
    except ValueError:
        return  # the scaled head left the plausible range
    assert scaled.circumference_cm == pytest.approx(head.circumference_cm * factor)


def test_scaled_rejects_non_positive() -> None:
    with pytest.raises(ValueError, match="factor"):
        HeadMeasurements(**VALID).scaled(0.0)
