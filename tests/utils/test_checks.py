"""Shared checks: messages name the field, the value and what is allowed."""

from __future__ import annotations

import datetime as dt
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
from plptms.utils._checks import (
    check_not_future,
    check_strict_date,
    check_strict_number,
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


def test_check_finite_huge_int_is_a_value_error() -> None:
    # float(10**400) raises OverflowError; it must read as a plain refusal
    with pytest.raises(ValueError, match="'dose'"):
        check_finite(10**400, "dose")
    with pytest.raises(ValueError, match="'dose'"):
        check_range(10**400, "dose", 0.0, 100.0)


@pytest.mark.parametrize(
    "value", [True, False, "20", "1e3", "unreported", None, [1], {"a": 1}, b"1"]
)
def test_check_strict_number_refuses_bool_text_and_others(value: object) -> None:
    with pytest.raises(ValueError, match="'frequency_hz'") as exc:
        check_strict_number(value, "frequency_hz")
    assert "not a bool or text" in str(exc.value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_check_strict_number_refuses_non_finite(value: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        check_strict_number(value, "x")


@given(st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False)))
def test_check_strict_number_property(x: float) -> None:
    out = check_strict_number(x, "x")
    assert out == x
    assert check_strict_number(out, "x") == out  # idempotent
    if isinstance(x, float) and x.is_integer():
        whole = check_strict_number(x, "x", integer=True)
        assert isinstance(whole, int)
        assert whole == x
    elif isinstance(x, float):
        with pytest.raises(ValueError, match="whole number"):
            check_strict_number(x, "x", integer=True)


def test_check_strict_number_takes_numpy() -> None:
    np = pytest.importorskip("numpy")
    assert check_strict_number(np.int64(5), "n", integer=True) == 5
    assert check_strict_number(np.float64(2.5), "x") == 2.5


@pytest.mark.parametrize("value", [0, 1_700_000_000, 2.5, True])
def test_check_strict_date_refuses_numbers(value: object) -> None:
    with pytest.raises(ValueError, match=r"'screened_on'.*YYYY-MM-DD"):
        check_strict_date(value, "screened_on")


def test_check_strict_date_passes_dates_and_text() -> None:
    day = dt.date(2024, 1, 2)
    assert check_strict_date(day, "d") is day
    assert check_strict_date("2024-01-02", "d") == "2024-01-02"


@given(st.integers(-3650, 3650))
def test_check_not_future_property(offset_days: int) -> None:
    today = dt.date.today()
    day = today + dt.timedelta(days=offset_days)
    if offset_days <= 0:
        assert check_not_future(day, "visit_date") == day
        assert (
            check_not_future(check_not_future(day, "visit_date"), "visit_date") == day
        )
    else:
        with pytest.raises(ValueError, match=r"'visit_date'.*not in the future"):
            check_not_future(day, "visit_date")


def test_check_not_future_takes_datetimes() -> None:
    now = dt.datetime.now()
    assert check_not_future(now, "t") == now
    with pytest.raises(ValueError, match="'t'"):
        check_not_future(now + dt.timedelta(days=2), "t")
