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


def _rate(pop: ResponseModelPopulation, x: np.ndarray) -> tuple[float, float]:
    """Empirical MEP rate (>= 50 uV) over PULSES pulses to every subject."""
    idx = np.arange(pop.n_subjects)
    hits = sum(int((pop.stimulate_subjects(idx, x) >= 50.0).sum()) for _ in range(PULSES))
    n = PULSES * pop.n_subjects
    return hits / n, n


def test_logistic_has_unit_sd_value_at_one_sd() -> None:
    """Logistic with scale sqrt(3)/pi: F(1) = 1 / (1 + exp(-pi / sqrt(3))) = 0.85982."""
    p = response_cdf(np.array([1.0, 0.0]), "logistic")
    np.testing.assert_allclose(p, [1.0 / (1.0 + math.exp(-math.pi / math.sqrt(3.0))), 0.5], rtol=RTOL)
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


def test_two_source_truth_differs_from_curve_centre() -> None:
    """Output noise on the whole MEP moves the 50 % point off the input centre T.

    Without output noise a pulse at T gives an MEP half of the time; with a
    log-normal factor on the whole amplitude the curve is skewed (ln f is concave
    above T), so the 50 % point is not T; the truth used is the solved one.
    """
    pop = ResponseModelPopulation(500, seed=3, output_log_sd=0.5)
    idx = np.arange(pop.n_subjects)
    p_centre = pop.response_probability(idx, pop.t0)
    assert np.all(np.abs(p_centre - 0.5) > 0.005)
    np.testing.assert_allclose(
        pop.response_probability(idx, pop.thresholds_pct_mso), 0.5, atol=1e-9
    )


def test_zero_output_noise_limit_is_the_input_curve() -> None:
    """As output noise -> 0 the quadrature curve tends to Phi((x - T) / sd)."""
    pop = ResponseModelPopulation(200, seed=4, output_log_sd=1e-4)
    idx = np.arange(pop.n_subjects)
    x = pop.t0 + 0.7 * pop.spread_pct_mso
    np.testing.assert_allclose(
        pop.response_probability(idx, x), 0.5 * math.erfc(-0.7 / math.sqrt(2.0)), atol=5e-3
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"shape": "cauchy"}, "shape"),
        ({"spread_law": "sqrt"}, "spread_law"),
        ({"drift_sd": 0.5}, "drift_sd"),
        ({"drift_correlation": 1.0}, "drift_correlation"),
        ({"output_log_sd": -0.1}, "output_log_sd"),
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
