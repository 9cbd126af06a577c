"""Percentage change and IMMPACT responder classes."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plptms.scales import (
    ResponderClass,
    assess_response,
    classify_percent_change,
    classify_response,
    percent_change,
)

from .conftest import ATOL, RTOL


def test_percent_change_worked_examples() -> None:
    assert percent_change(80, 40) == pytest.approx(50.0, rel=RTOL)  # 40/80 x 100
    assert percent_change(6.5, 0) == pytest.approx(100.0, rel=RTOL)
    # Malavera 2016 style: VAS 60 -> 28 = 32/60 x 100 = 53.33 %
    assert percent_change(60, 28) == pytest.approx(32 / 60 * 100, rel=RTOL)
    # worsening is negative: (5 - 6) / 5 x 100 = -20 %
    assert percent_change(5, 6) == pytest.approx(-20.0, rel=RTOL)
    assert percent_change(5, 5) == pytest.approx(0.0, abs=ATOL)


@pytest.mark.parametrize(
    ("follow_up", "expected"),
    [
        (9.1, ResponderClass.NONE),  # 9 %
        (9.0, ResponderClass.MINIMALLY_IMPORTANT),  # 10 %
        (8.0, ResponderClass.MINIMALLY_IMPORTANT),  # 20 %
        (7.1, ResponderClass.MINIMALLY_IMPORTANT),  # 29 %
        (7.0, ResponderClass.MODERATELY_IMPORTANT),  # 30 %
        (5.1, ResponderClass.MODERATELY_IMPORTANT),  # 49 %
        (5.0, ResponderClass.SUBSTANTIALLY_IMPORTANT),  # 50 %
        (0.0, ResponderClass.SUBSTANTIALLY_IMPORTANT),  # 100 %
        (10.0, ResponderClass.NONE),  # 0 %
        (12.0, ResponderClass.NONE),  # -20 %, worse
    ],
)
def test_immpact_thresholds(follow_up: float, expected: ResponderClass) -> None:
    assert classify_response(10.0, follow_up) is expected


@pytest.mark.parametrize(
    ("pct", "expected"),
    [
        (9.999, ResponderClass.NONE),
        (10.0, ResponderClass.MINIMALLY_IMPORTANT),
        (29.999, ResponderClass.MINIMALLY_IMPORTANT),
        (30.0, ResponderClass.MODERATELY_IMPORTANT),
        (49.999, ResponderClass.MODERATELY_IMPORTANT),
        (50.0, ResponderClass.SUBSTANTIALLY_IMPORTANT),
        (-35.0, ResponderClass.NONE),
    ],
)
def test_classify_percent_change_edges(pct: float, expected: ResponderClass) -> None:
    assert classify_percent_change(pct) is expected


def test_float_rounding_does_not_cross_threshold() -> None:
    # (7 - 4.9) / 7 x 100 is 30 % exactly, 29.999999999999993 in floats
    assert percent_change(7, 4.9) < 30.0
    assert classify_response(7, 4.9) is ResponderClass.MODERATELY_IMPORTANT


def test_zero_baseline_refused() -> None:
    with pytest.raises(ValueError, match="'baseline'") as exc:
        percent_change(0, 3)
    assert "undefined" in str(exc.value)
    with pytest.raises(ValueError, match="'baseline'"):
        classify_response(0.0, 0.0)


def test_bad_values_refused() -> None:
    with pytest.raises(ValueError, match="'baseline'"):
        percent_change(-1, 3)
    with pytest.raises(ValueError, match="'follow_up'"):
        percent_change(5, -1)
    with pytest.raises(ValueError, match="'follow_up'"):
        percent_change(5, math.nan)
    with pytest.raises(TypeError, match="'baseline'"):
        percent_change(True, 3)
    with pytest.raises(ValueError, match="'change_pct'"):
        classify_percent_change(math.inf)


def test_assess_response() -> None:
    r = assess_response(6.5, 0.0)  # Vats 2024 median VAS 6.5 -> 0
    assert r.percent_change == pytest.approx(100.0, rel=RTOL)
    assert r.responder_class is ResponderClass.SUBSTANTIALLY_IMPORTANT
    assert not r.worsened
    worse = assess_response(4, 5)
    assert worse.percent_change == pytest.approx(-25.0, rel=RTOL)  # (4-5)/4
    assert worse.worsened
    assert worse.responder_class is ResponderClass.NONE


@given(
    st.floats(0.01, 100.0, allow_nan=False),
    st.floats(0.0, 100.0, allow_nan=False),
)
def test_classes_are_monotone_in_change(baseline: float, follow_up: float) -> None:
    pct = percent_change(baseline, follow_up)
    assert pct <= 100.0 + ATOL
    cls = classify_response(baseline, follow_up)
    order = list(ResponderClass)
    # a larger decrease never gives a lower class
    assert order.index(classify_percent_change(pct + 1.0)) >= order.index(cls)
    assert classify_response(baseline, follow_up) is cls  # idempotent
