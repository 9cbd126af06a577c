"""Bayesian hunt with a population prior and pulses at the posterior mean.

The Psi engine with ``placement="estimate"`` and a normal threshold prior is the
Bayesian adaptive method of Qi et al. (2011, abstract read: prior knowledge of the
MT and a stopping rule on its estimated precision; details not verified).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from plptms.motor._subject import sample_population
from plptms.motor._threshold import _Psi, hunt_population, hunt_psi

#: Float tolerance of the posterior against the hand computation.
POSTERIOR_RTOL = 1e-12
#: Bayesian preset: population prior N(52.6, 8) % MSO, pulses at the mean.
BAYES = {
    "placement": "estimate",
    "threshold_prior_mean_pct_mso": 52.6,
    "threshold_prior_sd_pct_mso": 8.0,
    "min_pulses": 1,
    "max_pulses": 40,
}
N_SUBJECTS = 500
#: Paired margin on mean and 95th percentile |error| against relative frequency on
#: the same 500 subjects, % MSO: the SE of a 500-subject mean |error| is about 0.04
#: (SD of |error| about 0.9), so 0.15 is about 3.5 SE.
ACCURACY_MARGIN_PCT_MSO = 0.15
P95_MARGIN_PCT_MSO = 0.4
#: Fisher information of one binary pulse at the threshold, x sigma^2:
#: phi(0)^2 / (1/4) = 2 / pi.
FISHER_AT_THRESHOLD = 2.0 / math.pi


def _phi(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def test_posterior_equals_hand_computed_bayes_update() -> None:
    """Three thresholds x two spreads, two pulses; Bayes' rule by hand."""
    t_grid = np.array([40.0, 50.0, 60.0])
    r_grid = np.array([0.05, 0.10])
    start = np.array([55.0])
    eng = _Psi(
        1,
        start,
        max_pulses=10,
        min_pulses=10,
        target_sd_pct_mso=0.1,
        resolution_pct_mso=1.0,
        lapse_rate=0.0,
        placement="estimate",
        threshold_prior=(50.0, 10.0),
        spread_prior=(0.07, 0.5),
        grid=(t_grid, r_grid),
    )
    idx = np.array([0])
    # Prior weight of (t, r): exp(-((t-50)/10)^2/2) exp(-(ln(r/0.07)/0.5)^2/2).
    prior = {
        (t, r): math.exp(-0.5 * ((t - 50.0) / 10.0) ** 2)
        * math.exp(-0.5 * (math.log(r / 0.07) / 0.5) ** 2)
        for t in (40.0, 50.0, 60.0)
        for r in (0.05, 0.10)
    }
    # Pulse 1: MEP at 55 % MSO; pulse 2: no MEP at the rounded posterior mean.
    eng.observe(idx, np.array([55.0]), np.array([True]))
    x2 = float(eng.propose(idx)[0])
    eng.observe(idx, np.array([x2]), np.array([False]))
    post = {
        k: w
        * _phi((55.0 - k[0]) / (k[1] * k[0]))
        * (1 - _phi((x2 - k[0]) / (k[1] * k[0])))
        for k, w in prior.items()
    }
    total = sum(post.values())
    expected = np.array([post[(t, r)] / total for t in t_grid for r in r_grid])
    np.testing.assert_allclose(eng.post[0], expected, rtol=POSTERIOR_RTOL)
    mean = sum(p * k[0] for k, p in post.items()) / total
    assert eng.estimate[0] == pytest.approx(mean, rel=POSTERIOR_RTOL)
    # The first posterior mean, rounded to 1 % MSO, is where pulse 2 went.
    post1 = {k: w * _phi((55.0 - k[0]) / (k[1] * k[0])) for k, w in prior.items()}
    mean1 = sum(p * k[0] for k, p in post1.items()) / sum(post1.values())
    assert x2 == round(mean1)


def test_uniform_prior_is_the_old_psi_prior() -> None:
    """Without a threshold prior the weights depend on the spread only."""
    eng = _Psi(
        1,
        np.array([50.0]),
        max_pulses=10,
        min_pulses=1,
        target_sd_pct_mso=1.0,
        resolution_pct_mso=1.0,
        lapse_rate=0.0,
    )
    w = eng.post[0].reshape(-1, 12)
    np.testing.assert_allclose(w, np.broadcast_to(w[0], w.shape), rtol=1e-12)


@pytest.fixture(scope="module")
def paired() -> dict[str, tuple[np.ndarray, object]]:
    out = {}
    for key, method, options in (
        ("rf", "relative_frequency", {}),
        ("bayes_1.5", "psi", {**BAYES, "target_sd_pct_mso": 1.5}),
        ("bayes_2.2", "psi", {**BAYES, "target_sd_pct_mso": 2.2}),
    ):
        pop = sample_population(N_SUBJECTS, seed=11)
        t = pop.thresholds_pct_mso
        start = np.minimum(100.0, np.round(t * 1.2))
        out[key] = (
            t,
            hunt_population(pop, method, start_intensity_pct_mso=start, **options),
        )
    return out


def _errors(t: np.ndarray, hunt: object) -> np.ndarray:
    conv = hunt.converged  # type: ignore[attr-defined]
    return np.abs(hunt.estimate_pct_mso[conv] - t[conv])  # type: ignore[attr-defined]


def test_bayes_matches_relative_frequency_accuracy_with_a_quarter_of_pulses(
    paired: dict[str, tuple[np.ndarray, object]],
) -> None:
    """Posterior SD <= 1.5 % MSO: RF accuracy (within margin), < 1/3 of its pulses."""
    t, rf = paired["rf"]
    _, bayes = paired["bayes_1.5"]
    e_rf, e_b = _errors(t, rf), _errors(t, bayes)
    assert bayes.converged.mean() >= 0.95  # type: ignore[attr-defined]
    assert e_b.mean() <= e_rf.mean() + ACCURACY_MARGIN_PCT_MSO
    assert np.percentile(e_b, 95) <= np.percentile(e_rf, 95) + P95_MARGIN_PCT_MSO
    assert bayes.pulses_used.mean() <= rf.pulses_used.mean() / 3  # type: ignore[attr-defined]


def test_ten_pulses_cannot_reach_relative_frequency_accuracy(
    paired: dict[str, tuple[np.ndarray, object]],
) -> None:
    """At <= 10 pulses the error sits at the information bound, above RF's.

    Cramer-Rao: a binary pulse at the threshold carries 2 / (pi sigma^2) of Fisher
    information on it, so after n pulses the SD is at least
    sigma / sqrt(n 2 / pi + sigma^2 / 8^2) with the population prior; with sigma =
    r T the subject's spread.
    """
    t, rf = paired["rf"]
    _, bayes = paired["bayes_2.2"]
    n = bayes.pulses_used  # type: ignore[attr-defined]
    assert n.mean() <= 10.0
    pop = sample_population(N_SUBJECTS, seed=11)
    sigma = (
        np.array([pop.subject_parameters(i).relative_spread for i in range(N_SUBJECTS)])
        * t
    )
    bound_sd = sigma / np.sqrt(n * FISHER_AT_THRESHOLD + sigma**2 / 8.0**2)
    bound_mae = math.sqrt(2.0 / math.pi) * float(np.sqrt(np.mean(bound_sd**2)))
    e_b = _errors(t, bayes)
    assert e_b.mean() >= 0.9 * bound_mae
    assert e_b.mean() > _errors(t, rf).mean()


def test_single_hunt_reports_psi_with_new_options() -> None:
    """The single-subject driver passes the options; the result stays in range."""

    class Step:
        def stimulate(self, intensity_pct_mso: float) -> float:
            return 500.0 if intensity_pct_mso >= 47.0 else 5.0

    res = hunt_psi(Step(), start_intensity_pct_mso=60.0, **BAYES, target_sd_pct_mso=1.5)
    assert res.converged
    assert abs(res.rmt_or_raise() - 47.0) <= 1.5


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"placement": "middle"}, "placement"),
        ({"threshold_prior_mean_pct_mso": 50.0}, "threshold_prior_sd_pct_mso"),
        (
            {"threshold_prior_mean_pct_mso": 5.0, "threshold_prior_sd_pct_mso": 8.0},
            "threshold_prior_mean_pct_mso",
        ),
        (
            {"threshold_prior_mean_pct_mso": 50.0, "threshold_prior_sd_pct_mso": 0.0},
            "threshold_prior_sd_pct_mso",
        ),
        ({"spread_prior_median": 0.5}, "spread_prior_median"),
        ({"spread_prior_log_sd": 0.0}, "spread_prior_log_sd"),
    ],
)
def test_validation_names_the_field(options: dict[str, object], field: str) -> None:
    class Never:
        def stimulate(self, intensity_pct_mso: float) -> float:
            raise AssertionError("no pulse may be given")

    with pytest.raises(ValueError, match=field):
        hunt_psi(Never(), start_intensity_pct_mso=50.0, **options)  # type: ignore[arg-type]


def test_prior_type_is_checked() -> None:
    class Never:
        def stimulate(self, intensity_pct_mso: float) -> float:
            raise AssertionError("no pulse may be given")

    with pytest.raises(TypeError, match="threshold_prior_mean_pct_mso"):
        hunt_psi(
            Never(),
            start_intensity_pct_mso=50.0,
            threshold_prior_mean_pct_mso="50",  # type: ignore[arg-type]
            threshold_prior_sd_pct_mso=8.0,
        )
