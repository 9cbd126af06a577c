"""Graded MEP amplitudes of ResponseModelPopulation (an independent recruitment model).

Oracles: the Hill function's half point (closed form), the amplitude distribution
at fixed intensities by adaptive quadrature of the gamma distribution function over
the input noise (scipy), and the constant-amplitude population with the same seeds
(presence of every pulse, and so every yes/no hunt, bit for bit the same).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from plptms.motor._response_models import (
    GRADED_GAMMA_SHAPE,
    ResponseModelPopulation,
)
from plptms.motor._threshold import hunt_population

#: Binomial standard errors allowed between an empirical and an analytic CDF.
N_SE = 5.0
#: Pulses per intensity in the distribution test.
N_PULSES = 6000
C_UV = 50.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"shape": "logistic"},
        {"shape": "student_t3", "spread_law": "absolute"},
        {"drift_sd": 0.03},
    ],
)
def test_presence_is_bit_for_bit_that_of_constant_amplitudes(
    kwargs: dict[str, object],
) -> None:
    graded = ResponseModelPopulation(300, seed=5, **kwargs)  # type: ignore[arg-type]
    const = ResponseModelPopulation(
        300,
        seed=5,
        amplitudes="constant",
        **kwargs,  # type: ignore[arg-type]
    )
    np.testing.assert_array_equal(graded.thresholds_pct_mso, const.thresholds_pct_mso)
    idx = np.arange(300)
    n_present = 0
    for k in range(40):
        x = np.clip(graded.t0 + (k % 5 - 2) * graded.spread_pct_mso, 0.0, 100.0)
        a = graded.stimulate_subjects(idx, x)
        b = const.stimulate_subjects(idx, x)
        np.testing.assert_array_equal(a >= C_UV, b >= C_UV)
        n_present += int((a >= C_UV).sum())
        # Graded: present MEPs vary; absent ones are background below the cap.
        assert np.all(a[a < C_UV] <= 25.0)
    assert 0.3 * 40 * 300 < n_present < 0.7 * 40 * 300


def test_yes_no_hunt_result_unchanged_by_graded_amplitudes() -> None:
    res = []
    for amplitudes in ("graded", "constant"):
        pop = ResponseModelPopulation(
            60, seed=9, shape="logistic", amplitudes=amplitudes
        )  # type: ignore[arg-type]
        res.append(
            hunt_population(pop, "psi", start_intensity_pct_mso=np.round(pop.t0 * 1.2))
        )
    np.testing.assert_array_equal(res[0].estimate_pct_mso, res[1].estimate_pct_mso)
    np.testing.assert_array_equal(res[0].pulses_used, res[1].pulses_used)


def test_hill_curve_is_half_the_plateau_at_its_half_point() -> None:
    pop = ResponseModelPopulation(50, seed=2)
    idx = np.arange(50)
    half = pop.hill_excess_uv(idx, pop.half_excess)
    np.testing.assert_allclose(half, 0.5 * (pop.plateau_uv - C_UV), rtol=1e-12)
    assert np.all(pop.hill_excess_uv(idx, np.zeros(50)) == 0.0)
    # v = 2h: (2h)^n / ((2h)^n + h^n) = 2^n / (2^n + 1).
    n = pop.hill_exponent
    np.testing.assert_allclose(
        pop.hill_excess_uv(idx, 2.0 * pop.half_excess),
        (pop.plateau_uv - C_UV) * 2.0**n / (2.0**n + 1.0),
        rtol=1e-12,
    )


def _cdf_by_quadrature(
    pop: ResponseModelPopulation, i: int, x: float, a_uv: float
) -> float:
    """P(A <= a) at intensity x (a >= criterion), normal shape, no drift."""
    t, sd = float(pop.t0[i]), float(pop.spread_pct_mso[i])
    z0 = (t - x) / sd
    idx = np.array([i])

    def integrand(z: float) -> float:
        k = float(pop.hill_excess_uv(idx, np.array([(x + sd * z) / t - 1.0]))[0])
        if k <= 0.0:
            return float(stats.norm.pdf(z))
        g = stats.gamma.cdf(
            (a_uv - C_UV) / k, GRADED_GAMMA_SHAPE, scale=1.0 / GRADED_GAMMA_SHAPE
        )
        return float(stats.norm.pdf(z) * g)

    present, _ = integrate.quad(integrand, z0, 12.0, limit=200, epsabs=1e-12)
    return float(stats.norm.cdf(z0)) + present


@pytest.mark.parametrize("offset_sd", [0.0, 1.0, 2.5])
def test_amplitude_distribution_matches_quadrature(offset_sd: float) -> None:
    """Empirical CDF of one subject's amplitudes at 5 levels, within 5 binomial SEs."""
    pop = ResponseModelPopulation(3, seed=4)
    i = 1
    x = float(np.round(pop.t0[i] + offset_sd * pop.spread_pct_mso[i], 6))
    idx = np.array([i])
    amps = np.array(
        [pop.stimulate_subjects(idx, np.array([x]))[0] for _ in range(N_PULSES)]
    )
    present = amps[amps >= C_UV]
    levels = np.percentile(present, [10, 30, 50, 70, 90]) if present.size else []
    for a in levels:
        want = _cdf_by_quadrature(pop, i, x, float(a))
        got = float((amps <= a).mean())
        se = math.sqrt(max(want * (1.0 - want), 1e-4) / N_PULSES)
        assert abs(got - want) <= N_SE * se, (a, got, want)


def test_amplitudes_option_is_validated() -> None:
    with pytest.raises(ValueError, match="amplitudes"):
        ResponseModelPopulation(3, seed=1, amplitudes="clipped")  # type: ignore[arg-type]


#: Dvoretzky-Kiefer-Wolfowitz bound on sup |F_n - F| at failure probability 1e-6.
def _dkw(n: int, alpha: float = 1e-6) -> float:
    return math.sqrt(math.log(2.0 / alpha) / (2.0 * n))


@pytest.mark.parametrize("excess", [0.05, 0.3, 0.8])
def test_amplitude_at_fixed_excitation_is_gamma_scaled_hill(excess: float) -> None:
    """At a fixed excitation, (A - c) / ((M - c) H(e - 1)) ~ Gamma(4, 1/4) (KS, DKW).

    The gamma's quantiles are checked too: the median of Gamma(4, 1/4) is
    scipy's gamma.ppf(0.5, 4) / 4 = 0.9180.
    """
    pop = ResponseModelPopulation(2, seed=6)
    n = 20_000
    idx = np.zeros(n, dtype=np.intp)
    e = np.full(n, 1.0 + excess)
    amps = pop._graded(idx, e, np.ones(n, dtype=bool))
    k = float(pop.hill_excess_uv(np.array([0]), np.array([excess]))[0])
    ratio = np.sort((amps - C_UV) / k)
    cdf = stats.gamma.cdf(ratio, GRADED_GAMMA_SHAPE, scale=1.0 / GRADED_GAMMA_SHAPE)
    ecdf_hi = np.arange(1, n + 1) / n
    ecdf_lo = np.arange(n) / n
    d = max(np.max(ecdf_hi - cdf), np.max(cdf - ecdf_lo))
    assert d <= _dkw(n)
    assert float(np.median(ratio)) == pytest.approx(0.9180, abs=0.02)
    absent = pop._graded(idx, e, np.zeros(n, dtype=bool))
    # Background: log-normal, median 10 uV, log SD 0.3, capped at 25 uV.
    assert float(np.median(absent)) == pytest.approx(10.0, rel=0.02)
    assert absent.max() <= 25.0
