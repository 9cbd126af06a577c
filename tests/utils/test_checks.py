"""Shared checks: messages name the field, the value and what is allowed."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plptms.utils import (
    check_finite,
    check_option,
    check_range,
    check_type,
    format_range,
)


def test_message_wording() -> None:
    with pytest.raises(ValueError, match="frequency_hz") as exc:
        check_range(25.0, "frequency_hz", 0.5, 20.0, unit="Hz")
    assert str(exc.value) == (
        "Invalid value for 'frequency_hz': got 25.0; allowed range is [0.5, 20] Hz."
    )


def test_format_range() -> None:
    assert format_range(0, None, low_inclusive=False) == "(0, inf)"
    assert format_range(None, 5, unit="s") == "(-inf, 5] s"


def test_check_type() -> None:
    check_type(1.0, (int, float), "x")
    with pytest.raises(TypeError, match="'x'"):
        check_type("1", float, "x")
    with pytest.raises(TypeError, match="bool"):
        check_type(True, (int, float), "x")


def test_check_option_suggests() -> None:
    assert check_option("rtms", "pattern", ["rtms", "itbs"]) == "rtms"
    with pytest.raises(ValueError, match="Did you mean 'itbs'"):
        check_option("itbz", "pattern", ["rtms", "itbs"])


def test_check_finite() -> None:
    with pytest.raises(ValueError, match="finite"):
        check_finite(math.inf, "x")


@given(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-10, 10),
    st.floats(-10, 10),
)
def test_check_range_property(x: float, a: float, b: float) -> None:
    lo, hi = min(a, b), max(a, b)
    inside = math.isfinite(x) and lo <= x <= hi
    if inside:
        assert check_range(x, "field_x", lo, hi) == x
        assert check_range(check_range(x, "field_x", lo, hi), "field_x", lo, hi) == x
    else:
        with pytest.raises(ValueError, match="'field_x'"):
            check_range(x, "field_x", lo, hi)
