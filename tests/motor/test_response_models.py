"""Independent response models: each produces the response curve it claims.

Oracles: closed forms (the logistic at one SD, scipy's Student t distribution),
and Monte Carlo response rates within 5 binomial standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from plptms.motor._response_models import ResponseModelPopulation, response_cdf

#: Binomial standard errors allowed between an empirical rate and its curve.
N_SE = 5.0
#: Float tolerance for closed forms.
RTOL = 1e-10
PULSES = 100
#: Gauss-Hermite (64 nodes) against adaptive quadrature, for output_log_sd >= 0.25.
QUADRATURE_ATOL = 2e-4


def _rate(pop: ResponseModelPopulation, x: np.ndarray) -> tuple[float, float]:
    """Empirical MEP rate (>= 50 uV) over PULSES pulses to every subject."""
    idx = np.arange(pop.n_subjects)
    hits = sum(
        int((pop.stimulate_subjects(idx, x) >= 50.0).sum()) for _ in range(PULSES)
    )
    n = PULSES * pop.n_subjects
    return hits / n, n


def test_logistic_has_unit_sd_value_at_one_sd() -> None:
    """Logistic with scale sqrt(3)/pi: F(1) = 1 / (1 + exp(-pi / sqrt(3))) = 0.85982."""
    p = response_cdf(np.array([1.0, 0.0]), "logistic")
    np.testing.assert_allclose(
        p, [1.0 / (1.0 + math.exp(-math.pi / math.sqrt(3.0))), 0.5], rtol=RTOL
    )
    assert p[0] == pytest.approx(0.85982, abs=1e-5)


def test_student_t3_closed_form_matches_scipy_and_quartiles() -> None:
    """t3 closed form against scipy.stats.t; quartiles at the normal's +/-0.6745."""
    from scipy import stats

    z = np.linspace(-6.0, 6.0, 25)
    scale = stats.norm.ppf(0.75) / stats.t.ppf(0.75, 3)
    np.testing.assert_allclose(
        response_cdf(z, "student_t3"), stats.t.cdf(z / scale, 3), rtol=RTOL, atol=1e-14
    )
    q = response_cdf(np.array([stats.norm.ppf(0.75)]), "student_t3")
    assert q[0] == pytest.approx(0.75, abs=1e-12)
    # Heavier tails than the normal: at -3 normal SDs the t3 has over 5x the mass.
    assert response_cdf(np.array([-3.0]), "student_t3")[0] > 5 * stats.norm.cdf(-3.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"shape": "logistic"},
        {"shape": "student_t3", "spread_law": "absolute"},
        {"shape": "normal", "drift_sd": 0.03},
        {"output_log_sd": 0.5},
    ],
)
@pytest.mark.parametrize("offset_sd", [0.0, 1.0])
def test_empirical_rate_matches_analytic_curve(
    kwargs: dict[str, object], offset_sd: float
) -> None:
    """Pulses at truth + offset x spread: the rate matches the mean of the curve."""
    pop = ResponseModelPopulation(2000, seed=5, **kwargs)  # type: ignore[arg-type]
    idx = np.arange(pop.n_subjects)
    x = np.clip(pop.thresholds_pct_mso + offset_sd * pop.spread_pct_mso, 0.0, 100.0)
    expected = float(pop.response_probability(idx, x).mean())
    rate, n = _rate(pop, x)
    assert abs(rate - expected) <= N_SE * math.sqrt(0.25 / n)
    if offset_sd == 0.0:
        assert expected == pytest.approx(0.5, abs=1e-9)


def test_absolute_spread_does_not_grow_with_threshold() -> None:
    """Absolute law: spread uncorrelated with T; proportional law correlated.

    Proportional: ln(spread) = ln r + ln T with SD(ln r) = 0.14 and SD(ln T) about
    8 / 52.6 = 0.15, so corr(T, spread) is about 0.15 / sqrt(0.14^2 + 0.15^2) = 0.73;
    with 4000 subjects the SE of a correlation is below 0.02.
    """
    ab = ResponseModelPopulation(4000, seed=2, spread_law="absolute")
    pr = ResponseModelPopulation(4000, seed=2)
    assert abs(np.corrcoef(ab.t0, ab.spread_pct_mso)[0, 1]) < 0.06
    assert np.corrcoef(pr.t0, pr.spread_pct_mso)[0, 1] > 0.6


def test_two_source_truth_is_the_solved_fifty_percent_point() -> None:
    """Output noise on the whole MEP skews the curve; the truth is re-solved.

    ln f is concave above T, so the curve falls slightly below 0.5 at the input
    centre T (here by about 6e-4); the truth is where it is 0.5.
    """
    pop = ResponseModelPopulation(500, seed=3, output_log_sd=0.5)
    idx = np.arange(pop.n_subjects)
    p_centre = pop.response_probability(idx, pop.t0)
    assert np.all(p_centre < 0.5 - 1e-4)
    assert np.all(p_centre > 0.49)
    assert np.all(pop.thresholds_pct_mso > pop.t0)
    np.testing.assert_allclose(
        pop.response_probability(idx, pop.thresholds_pct_mso), 0.5, atol=1e-9
    )


@pytest.mark.parametrize("output_log_sd", [0.25, 0.5, 1.0])
def test_two_source_curve_matches_adaptive_quadrature(output_log_sd: float) -> None:
    """Gauss-Hermite curve against scipy.integrate.quad of the same integral."""
    from scipy import integrate, stats

    from plptms.motor import _constants as C
    from plptms.motor._subject import _recruitment_uv

    pop = ResponseModelPopulation(4, seed=3, output_log_sd=output_log_sd)
    idx = np.arange(pop.n_subjects)
    for off in (-1.0, 0.0, 1.5):
        x = pop.t0 + off * pop.spread_pct_mso
        got = pop.response_probability(idx, x)
        for i in idx:

            def integrand(z: float, i: int = int(i), x: np.ndarray = x) -> float:
                e = (x[i] + pop.spread_pct_mso[i] * z) / pop.t0[i]
                f = _recruitment_uv(
                    np.array([e]), C.SIM_MEP_MAX_UV, C.SIM_SI50_PCT_RMT / 100.0, 50.0
                )[0]
                return float(
                    stats.norm.pdf(z)
                    * stats.norm.cdf(math.log(f / 50.0) / output_log_sd)
                )

            ref = integrate.quad(integrand, -12.0, 12.0, limit=200, epsabs=1e-12)[0]
            assert got[i] == pytest.approx(ref, abs=QUADRATURE_ATOL)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"shape": "cauchy"}, "shape"),
        ({"spread_law": "sqrt"}, "spread_law"),
        ({"drift_sd": 0.5}, "drift_sd"),
        ({"drift_correlation": 1.0}, "drift_correlation"),
        ({"output_log_sd": -0.1}, "output_log_sd"),
        ({"output_log_sd": 0.1}, "output_log_sd"),
        ({"shape": "logistic", "output_log_sd": 0.5}, "shape"),
        ({"drift_sd": 0.03, "output_log_sd": 0.5}, "drift_sd"),
    ],
)
def test_validation_names_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        ResponseModelPopulation(10, seed=1, **kwargs)  # type: ignore[arg-type]


def test_intensity_out_of_range_is_refused() -> None:
    pop = ResponseModelPopulation(2, seed=1)
    with pytest.raises(ValueError, match="intensity_pct_mso"):
        pop.stimulate_subjects(np.array([0, 1]), np.array([50.0, 101.0]))
