"""Intensity and train checks: refused, never clamped."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plptms.delivery import TrainRequest, check_intensity, check_train


@given(st.floats(min_value=0.0, max_value=100.0))
def test_intensity_in_range_passes_unchanged(value: float) -> None:
    assert check_intensity(value) == value
    assert check_intensity(check_intensity(value)) == value  # idempotent


@given(
    st.one_of(
        st.floats(max_value=-1e-9, allow_nan=False),
        st.floats(min_value=100.000001, allow_nan=False),
    )
)
def test_intensity_out_of_range_refused(value: float) -> None:
    with pytest.raises(ValueError, match="intensity_pct_mso"):
        check_intensity(value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_intensity_not_finite_refused(value: float) -> None:
    with pytest.raises(ValueError, match="intensity_pct_mso"):
        check_intensity(value)


@pytest.mark.parametrize("value", ["50", None, True])
def test_intensity_wrong_type(value: object) -> None:
    with pytest.raises(TypeError, match="intensity_pct_mso"):
        check_intensity(value)  # type: ignore[arg-type]


@given(st.integers(min_value=0, max_value=100))
def test_whole_intensity_passes(value: int) -> None:
    assert check_intensity(value, whole=True) == value


@given(st.floats(min_value=0.0, max_value=100.0).filter(lambda v: not v.is_integer()))
def test_fractional_intensity_refused_when_whole(value: float) -> None:
    with pytest.raises(ValueError, match="intensity_pct_mso"):
        check_intensity(value, whole=True)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"n_pulses": 0}, "n_pulses"),
        ({"frequency_hz": 0.0}, "frequency_hz"),
        ({"frequency_hz": -1.0}, "frequency_hz"),
        ({"frequency_hz": math.nan}, "frequency_hz"),
        ({"intensity_pct_mso": 100.5}, "intensity_pct_mso"),
        ({"intensity_pct_mso": -0.5}, "intensity_pct_mso"),
    ],
)
def test_train_refused(changes: dict[str, float], field: str) -> None:
    data = {"frequency_hz": 10.0, "n_pulses": 10, "intensity_pct_mso": 50.0}
    data.update(changes)
    with pytest.raises(ValueError, match=field):
        check_train(TrainRequest.model_validate(data))


def test_single_pulse_train_ignores_frequency() -> None:
    train = TrainRequest(frequency_hz=0.0, n_pulses=1, intensity_pct_mso=50.0)
    assert check_train(train) is train


def test_train_wrong_type() -> None:
    with pytest.raises(TypeError, match="train"):
        check_train({"n_pulses": 1})  # type: ignore[arg-type]
