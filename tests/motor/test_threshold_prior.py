"""Re-hunt within a course: the previous session's RMT as the threshold prior."""

from __future__ import annotations

import math

import numpy as np
import pytest

from plptms.motor._rehunt import (
    next_session_population,
    rehunt_prior_sd,
    rehunt_psi,
)
from plptms.motor._subject import sample_population
from plptms.motor._threshold import _Psi, hunt_population, hunt_psi

#: Float tolerance of the posterior against the hand computation.
POSTERIOR_RTOL = 1e-12
N_SUBJECTS = 500
#: Between-session SD of the true RMT used in the simulated course, % MSO.
BETWEEN_SD = 2.0
#: Paired margins against relative frequency on the same 500 subjects and the
#: same truth today, % MSO: SE of a 500-subject mean |error| is about 0.04, so
#: 0.15 is about 3.5 SE (as in test_threshold_bayes.py).
ACCURACY_MARGIN_PCT_MSO = 0.15
P95_MARGIN_PCT_MSO = 0.2
GOAL_PULSES = 10.0
#: The error SD may sit below the Cramer-Rao bound by sampling only: the SE of a
#: 500-subject SD is about 3 %, so 0.9 is over 3 SE.
BOUND_FACTOR = 0.9


def _phi(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def test_subject_prior_posterior_equals_hand_computed_bayes_update() -> None:
    """Two subjects with different previous RMTs and SDs; Bayes' rule by hand."""
    t_grid = np.array([40.0, 45.0, 50.0])
    r_grid = np.array([0.05, 0.10])
    means, sds = np.array([44.0, 49.0]), np.array([3.0, 2.0])
    eng = _Psi(
        2,
        np.array([45.0, 49.0]),
        max_pulses=10,
        min_pulses=10,
        target_sd_pct_mso=0.1,
        resolution_pct_mso=1.0,
        lapse_rate=0.0,
        placement="estimate",
        spread_prior=(0.07, 0.5),
        grid=(t_grid, r_grid),
        subject_prior=(means, sds),
    )
    idx = np.array([0, 1])
    x = np.array([45.0, 49.0])
    present = np.array([True, False])
    eng.observe(idx, x, present)
    for s in range(2):
        post = {}
        for t in t_grid:
            for r in r_grid:
                prior = math.exp(-0.5 * ((t - means[s]) / sds[s]) ** 2) * math.exp(
                    -0.5 * (math.log(r / 0.07) / 0.5) ** 2
                )
                p = _phi((x[s] - t) / (r * t))
                post[(t, r)] = prior * (p if present[s] else 1.0 - p)
        total = sum(post.values())
        expected = np.array([post[(t, r)] / total for t in t_grid for r in r_grid])
        np.testing.assert_allclose(eng.post[s], expected, rtol=POSTERIOR_RTOL)
        mean = sum(k[0] * v for k, v in post.items()) / total
        assert eng.estimate[s] == pytest.approx(mean, rel=POSTERIOR_RTOL)


def test_previous_rmt_prior_equals_the_same_population_prior() -> None:
    """One subject: N(prev, sd) through either prior option gives one posterior."""
    common = {
        "max_pulses": 10,
        "min_pulses": 10,
        "target_sd_pct_mso": 1.0,
        "resolution_pct_mso": 1.0,
        "lapse_rate": 0.0,
        "placement": "estimate",
    }
    a = _Psi(1, np.array([50.0]), threshold_prior=(48.0, 2.5), **common)  # type: ignore[arg-type]
    b = _Psi(
        1,
        np.array([50.0]),
        subject_prior=(np.array([48.0]), np.array([2.5])),
        **common,  # type: ignore[arg-type]
    )
    np.testing.assert_allclose(a.post, b.post, rtol=POSTERIOR_RTOL)


def test_prior_sd_adds_in_quadrature() -> None:
    assert rehunt_prior_sd(2.0, 1.5) == pytest.approx(2.5, rel=1e-15)
    assert rehunt_prior_sd(0.0, 1.0) == pytest.approx(1.0, rel=1e-15)


@pytest.fixture(scope="module")
def course() -> dict[str, object]:
    """Session 1: RF hunts on yesterday's truth; session 2: RF and re-hunt today."""
    yesterday = sample_population(N_SUBJECTS, seed=11)
    t1 = yesterday.thresholds_pct_mso
    rf1 = hunt_population(
        yesterday,
        "relative_frequency",
        start_intensity_pct_mso=np.minimum(100.0, np.round(t1 * 1.2)),
    )
    prev = rf1.estimate_pct_mso
    assert rf1.converged.all()
    prior_sd = rehunt_prior_sd(BETWEEN_SD)
    today, t2 = next_session_population(
        yesterday, between_session_sd_pct_mso=BETWEEN_SD, seed=12
    )
    rf2 = hunt_population(
        today,
        "relative_frequency",
        start_intensity_pct_mso=np.minimum(100.0, np.round(t2 * 1.2)),
    )
    today_b, _ = next_session_population(
        yesterday, between_session_sd_pct_mso=BETWEEN_SD, seed=12
    )
    re = hunt_population(
        today_b,
        "psi",
        start_intensity_pct_mso=np.round(prev),
        placement="estimate",
        previous_rmt_pct_mso=prev,
        previous_rmt_sd_pct_mso=prior_sd,
        target_sd_pct_mso=1.45,
        min_pulses=1,
        max_pulses=40,
    )
    sigma = (
        np.array(
            [yesterday.subject_parameters(i).relative_spread for i in range(N_SUBJECTS)]
        )
        * t2
    )
    return {"t2": t2, "rf": rf2, "re": re, "prior_sd": prior_sd, "sigma": sigma}


def _abs_err(t: np.ndarray, hunt: object) -> np.ndarray:
    conv = hunt.converged  # type: ignore[attr-defined]
    return np.abs(hunt.estimate_pct_mso[conv] - t[conv])  # type: ignore[attr-defined]


def test_same_truth_today_for_both_methods(course: dict[str, object]) -> None:
    """The two draws of today's population share today's thresholds (seed 12)."""
    yesterday = sample_population(N_SUBJECTS, seed=11)
    _, t2 = next_session_population(
        yesterday, between_session_sd_pct_mso=BETWEEN_SD, seed=12
    )
    np.testing.assert_array_equal(t2, course["t2"])
    change = t2 - yesterday.thresholds_pct_mso
    # SD of 500 normal draws: within 4 SE (SE = sd / sqrt(2 n)).
    assert change.std(ddof=1) == pytest.approx(
        BETWEEN_SD, abs=4 * BETWEEN_SD / math.sqrt(2 * N_SUBJECTS)
    )


def test_rehunt_reaches_relative_frequency_accuracy_in_ten_pulses(
    course: dict[str, object],
) -> None:
    t2 = course["t2"]
    rf, re = course["rf"], course["re"]
    e_rf, e_re = _abs_err(t2, rf), _abs_err(t2, re)  # type: ignore[arg-type]
    assert re.converged.mean() >= 0.99  # type: ignore[attr-defined]
    assert re.pulses_used.mean() <= GOAL_PULSES  # type: ignore[attr-defined]
    assert e_re.mean() <= e_rf.mean() + ACCURACY_MARGIN_PCT_MSO
    assert np.percentile(e_re, 95) <= np.percentile(e_rf, 95) + P95_MARGIN_PCT_MSO


def test_rehunt_respects_the_information_bound(course: dict[str, object]) -> None:
    """Error SD >= 1 / sqrt(2 n / (pi sigma^2) + 1 / s^2), RMS over subjects."""
    t2, re = course["t2"], course["re"]
    sigma, s = course["sigma"], course["prior_sd"]
    n = re.pulses_used  # type: ignore[attr-defined]
    bound_var = 1.0 / (2.0 * n / (math.pi * sigma**2) + 1.0 / s**2)  # type: ignore[operator]
    conv = re.converged  # type: ignore[attr-defined]
    err = re.estimate_pct_mso[conv] - t2[conv]  # type: ignore[index]
    rms_err = float(np.sqrt(np.mean(err**2)))
    rms_bound = float(np.sqrt(np.mean(bound_var[conv])))
    assert rms_err >= BOUND_FACTOR * rms_bound
    # And the bound is informative: it sits below relative frequency's error.
    assert rms_bound < 1.6


class _Never:
    def stimulate(self, intensity_pct_mso: float) -> float:
        raise AssertionError("no pulse may be given")


@pytest.mark.parametrize(
    ("options", "field", "error"),
    [
        ({"previous_rmt_pct_mso": 50.0}, "previous_rmt_sd_pct_mso", ValueError),
        ({"previous_rmt_sd_pct_mso": 2.0}, "previous_rmt_sd_pct_mso", ValueError),
        (
            {"previous_rmt_pct_mso": 0.0, "previous_rmt_sd_pct_mso": 2.0},
            "previous_rmt_pct_mso",
            ValueError,
        ),
        (
            {"previous_rmt_pct_mso": 101.0, "previous_rmt_sd_pct_mso": 2.0},
            "previous_rmt_pct_mso",
            ValueError,
        ),
        (
            {"previous_rmt_pct_mso": 50.0, "previous_rmt_sd_pct_mso": 0.1},
            "previous_rmt_sd_pct_mso",
            ValueError,
        ),
        (
            {"previous_rmt_pct_mso": "50", "previous_rmt_sd_pct_mso": 2.0},
            "previous_rmt_pct_mso",
            TypeError,
        ),
        (
            {
                "previous_rmt_pct_mso": 50.0,
                "previous_rmt_sd_pct_mso": 2.0,
                "threshold_prior_mean_pct_mso": 52.6,
                "threshold_prior_sd_pct_mso": 8.0,
            },
            "previous_rmt_pct_mso",
            ValueError,
        ),
    ],
)
def test_validation_names_the_field_and_gives_no_pulse(
    options: dict[str, object], field: str, error: type[Exception]
) -> None:
    with pytest.raises(error, match=field):
        hunt_psi(_Never(), start_intensity_pct_mso=50.0, **options)  # type: ignore[arg-type]


def test_population_prior_shape_checked_before_any_pulse() -> None:
    """A wrong-length previous RMT array is refused before the first chunk runs."""

    class Counting:
        n_subjects = 5
        pulses = 0

        def stimulate_subjects(self, idx: np.ndarray, x: np.ndarray) -> np.ndarray:
            self.pulses += idx.size
            return np.full(idx.size, 500.0)

    pop = Counting()
    with pytest.raises(ValueError, match="previous_rmt_pct_mso"):
        hunt_population(
            pop,  # type: ignore[arg-type]
            "psi",
            start_intensity_pct_mso=50.0,
            chunk_size=2,
            previous_rmt_pct_mso=np.full(3, 50.0),
            previous_rmt_sd_pct_mso=2.0,
        )
    with pytest.raises(ValueError, match="previous_rmt_sd_pct_mso"):
        hunt_population(
            pop,  # type: ignore[arg-type]
            "psi",
            start_intensity_pct_mso=50.0,
            chunk_size=2,
            previous_rmt_pct_mso=np.full(5, 50.0),
            previous_rmt_sd_pct_mso=np.array([2.0, 2.0, 2.0, 2.0, 0.0]),
        )
    assert pop.pulses == 0


def test_rehunt_wrapper_on_a_step_subject() -> None:
    """Noise-free step at 47 % MSO, previous RMT 48: converges near 47."""

    class Step:
        def stimulate(self, intensity_pct_mso: float) -> float:
            return 500.0 if intensity_pct_mso >= 47.0 else 5.0

    res = rehunt_psi(Step(), previous_rmt_pct_mso=48.0)
    assert res.converged
    assert res.trace[0].intensity_pct_mso == 48.0
    assert abs(res.rmt_or_raise() - 47.0) <= 1.5
    assert res.pulses_used <= 15


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"between_session_sd_pct_mso": -1.0}, "between_session_sd_pct_mso"),
        ({"previous_error_sd_pct_mso": 25.0}, "previous_error_sd_pct_mso"),
        (
            {"between_session_sd_pct_mso": 0.0, "previous_error_sd_pct_mso": 0.0},
            "between_session_sd_pct_mso",
        ),
    ],
)
def test_prior_sd_validation(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        rehunt_prior_sd(**kwargs)
