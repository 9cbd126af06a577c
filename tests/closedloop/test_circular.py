"""Circular statistics against analytic values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy import stats

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
    # the mean of pi - half and -pi + half is the trough, +pi or -pi
    mean = circular_mean([math.pi - half, -math.pi + half])
    assert abs(wrap_phase(mean - math.pi)) <= ATOL


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


#: Monte-Carlo draws per wrapped-normal check.
N_MC = 200_000
#: Monte-Carlo tolerance, in standard errors of the estimate.
Z_MC = 5.0


def _wrapped_normal(mu: float, sigma: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.asarray(wrap_phase(rng.normal(mu, sigma, N_MC)))


@pytest.mark.parametrize("sigma", [0.3, 0.8, 1.5])
def test_wrapped_normal_sd_is_sigma(sigma: float) -> None:
    """Wrapped normal: R = exp(-sigma^2 / 2), so sqrt(-2 ln R) = sigma exactly.

    Mardia & Jupp (2000), the wrapped normal; the circular SD as in Berens (2009).
    The Monte-Carlo standard error of R is sqrt(Var(cos(x - mu)) / n) with
    Var(cos) = (1 + exp(-2 sigma^2)) / 2 - exp(-sigma^2) (the trigonometric
    moments exp(-k^2 sigma^2 / 2) of the wrapped normal); through
    d sd / d R = -1 / (R sd) it gives the SE of the SD.
    """
    mu = 2.5
    x = _wrapped_normal(mu, sigma, seed=int(sigma * 100))
    r = math.exp(-(sigma**2) / 2.0)
    var_cos = (1.0 + math.exp(-2.0 * sigma**2)) / 2.0 - math.exp(-(sigma**2))
    se_sd = math.sqrt(var_cos / N_MC) / (r * sigma)
    assert abs(circular_sd(x) - sigma) <= Z_MC * se_sd
    # scipy's implementation as an independent oracle on the same sample
    assert circular_sd(x) == pytest.approx(
        float(stats.circstd(x, high=math.pi, low=-math.pi)), rel=1e-9
    )
    # mean direction: SE = sqrt(E[sin^2]) / (R sqrt(n)), E[sin^2] = (1 - R^4) / 2
    se_mean = math.sqrt((1.0 - r**4) / 2.0 / N_MC) / r
    assert abs(wrap_phase(circular_mean(x) - mu)) <= Z_MC * se_mean
    scipy_mean = float(stats.circmean(x, high=math.pi, low=-math.pi))
    assert abs(wrap_phase(circular_mean(x) - scipy_mean)) <= 1e-9


@pytest.mark.parametrize(("sigma", "within_deg"), [(0.5, 45.0), (1.2, 30.0)])
def test_share_within_matches_wrapped_normal_probability(
    sigma: float, within_deg: float
) -> None:
    """Share within +/- w of the target against the wrapped-normal probability.

    P(|wrap(X)| <= w) = sum_k [Phi((w + 2 pi k) / sigma) - Phi((-w + 2 pi k) /
    sigma)] for X ~ N(0, sigma) (Mardia & Jupp 2000); the tolerance is Z_MC
    binomial standard errors.
    """
    target = math.pi
    x = _wrapped_normal(target, sigma, seed=7)
    acc = phase_accuracy(x, target, within_deg=within_deg)
    w = math.radians(within_deg)
    p = sum(
        stats.norm.cdf((w + 2 * math.pi * k) / sigma)
        - stats.norm.cdf((-w + 2 * math.pi * k) / sigma)
        for k in range(-3, 4)
    )
    assert abs(acc.share_within - p) <= Z_MC * math.sqrt(p * (1 - p) / N_MC)
    assert acc.n_triggers == N_MC
    assert acc.within_deg == within_deg
    se_sd = math.sqrt(
        ((1 + math.exp(-2 * sigma**2)) / 2 - math.exp(-(sigma**2))) / N_MC
    ) / (math.exp(-(sigma**2) / 2) * sigma)
    assert abs(acc.circular_sd_deg - math.degrees(sigma)) <= math.degrees(Z_MC * se_sd)


@given(st.floats(min_value=1e-3, max_value=180.0))
def test_share_within_counts_a_known_grid(w: float) -> None:
    # errors at -179.5, -178.5, ..., 179.5 deg: exactly 2 k of the 360 lie within
    # +/- w, with k the count of j + 0.5 <= w for j = 0..179
    assume(abs((w - 0.5) - round(w - 0.5)) > 1e-6)
    errors_deg = np.arange(-180, 180) + 0.5
    true = np.pi + np.radians(errors_deg)
    k = min(180, max(0, math.floor(w - 0.5) + 1))
    acc = phase_accuracy(true, math.pi, within_deg=w)
    assert acc.share_within == pytest.approx(2 * k / 360, abs=1e-12)


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
