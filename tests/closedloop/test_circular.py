"""Circular statistics against analytic values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from plptms.closedloop import (
    circular_mean,
    circular_sd,
    phase_accuracy,
    wrap_phase,
)

ATOL = 1e-9


def test_wrap_phase_range() -> None:
    x = np.linspace(-20, 20, 1001)
    w = wrap_phase(x)
    assert np.all(w >= -math.pi)
    assert np.all(w < math.pi)
    np.testing.assert_allclose(np.exp(1j * w), np.exp(1j * x), atol=ATOL)


def test_identical_phases_have_zero_sd() -> None:
    assert circular_sd([1.0, 1.0, 1.0]) == pytest.approx(0.0, abs=1e-6)
    assert circular_mean([1.0, 1.0]) == pytest.approx(1.0, abs=ATOL)


@pytest.mark.parametrize("half", [0.1, 0.5, 1.0, 1.4])
def test_two_phases_analytic(half: float) -> None:
    # R = cos(half) for phases +/- half, so SD = sqrt(-2 ln cos(half)) (Berens 2009)
    expected = math.sqrt(-2.0 * math.log(math.cos(half)))
    assert circular_sd([-half, half]) == pytest.approx(expected, abs=ATOL)
    assert circular_mean([math.pi - half, -math.pi + half]) == pytest.approx(
        math.pi, abs=ATOL
    ) or circular_mean([math.pi - half, -math.pi + half]) == pytest.approx(
        -math.pi, abs=ATOL
    )


def test_uniform_phases_infinite_sd() -> None:
    assert math.isinf(circular_sd([0.0, math.pi / 2, math.pi, -math.pi / 2]))


def test_phase_accuracy_trough() -> None:
    acc = phase_accuracy([math.pi - 0.1, -math.pi + 0.1, math.pi + 1.0], math.pi)
    assert acc.n_triggers == 3
    assert acc.share_within == pytest.approx(2 / 3)
    assert acc.within_deg == 45.0


@pytest.mark.parametrize("bad", [[], [math.nan]])
def test_phase_accuracy_refuses_empty_or_nan(bad: list[float]) -> None:
    with pytest.raises(ValueError, match="true_phase_rad"):
        phase_accuracy(bad, math.pi)


@given(st.floats(min_value=1e-3, max_value=180.0))
def test_within_deg_in_range_passes(w: float) -> None:
    assert phase_accuracy([0.0], 0.0, within_deg=w).share_within == 1.0


@given(
    st.one_of(
        st.floats(max_value=0.0, allow_nan=False),
        st.floats(min_value=180.0001, allow_infinity=False),
    )
)
def test_within_deg_out_of_range_raises(w: float) -> None:
    with pytest.raises(ValueError, match="within_deg"):
        phase_accuracy([0.0], 0.0, within_deg=w)


@given(st.lists(st.floats(-100, 100), min_size=1, max_size=20))
def test_wrap_is_idempotent(xs: list[float]) -> None:
    once = wrap_phase(xs)
    np.testing.assert_allclose(wrap_phase(once), once, atol=1e-12)
