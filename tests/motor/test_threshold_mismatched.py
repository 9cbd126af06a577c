"""Threshold hunting on subjects simulated with a model the hunts do not assume.

The adaptive hunts assume a cumulative-Gaussian response with a spread of 7 % of
the threshold (ML-PEST, Awiszus 2003) or a Gaussian with a spread prior (Psi), and a
threshold that stays put. Accuracy measured on subjects drawn from that very model
says little (Wang et al. 2023 evaluate hunts with an independent MEP model), so here
the subjects differ in three ways:

* the response probability is a **logistic** curve, not a cumulative Gaussian;
* the relative spread varies from 4 % to 16 % of the threshold (log-uniform), not
  a fixed 7 %;
* the threshold **drifts** from pulse to pulse: an AR(1) process on the relative
  threshold with a stationary SD of 3 % and a pulse-to-pulse correlation of 0.95.
  Slow excitability fluctuations are one of the variability sources of Goetz et al.
  (2019); the AR(1) form and its numbers are plptms choices, not taken from that
  paper (not verified).

The true threshold is the 50 % point of the marginal response curve, which is the
drift-free threshold ``T0`` (the logistic and the drift are symmetric about it).

Accuracy is judged against the relative-frequency method run on the same subjects,
side by side: Ah Sen et al. (2017, abstract) found RMT estimates of ML-PEST and
relative frequency not different, with ML-PEST needing 15 fewer stimuli for the RMT.
The non-inferiority margin of 0.5 % MSO (half the stimulator's 1 % MSO step) is a
plptms choice.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from plptms.motor._threshold import PopulationHunt, ThresholdMethod, hunt_population

#: Subjects, the same for every method (run in lockstep: a few seconds).
N_SUBJECTS = 1000
#: Non-inferiority margin on the paired mean |error|, % MSO (plptms choice).
NI_MARGIN_PCT_MSO = 0.5
#: Bound on the mean signed error of the adaptive hunts, % MSO (as for the matched
#: population in test_threshold.py).
BIAS_BOUND_PCT_MSO = 1.0
#: Ah Sen et al. (2017): ML-PEST needed 15 fewer stimuli than relative frequency.
FEWER_PULSES_AH_SEN_2017 = 15
#: Share of Psi hunts that must give an RMT on the mismatched population (plptms
#: requirement; the others report non-convergence, never a wrong RMT).
PSI_MIN_CONVERGED = 0.8
#: Drift of the relative threshold: stationary SD and pulse-to-pulse correlation.
DRIFT_SD = 0.03
DRIFT_CORRELATION = 0.95
#: Relative spread range (SD of the logistic noise / threshold).
SPREAD_RANGE = (0.04, 0.16)


class LogisticDriftPopulation:
    """Logistic response, varied spread, drifting threshold (a PopulationResponder).

    Parameters
    ----------
    n : int
        Number of subjects.
    seed : int
        Seed of the subject parameters and of the pulse-to-pulse randomness.
    """

    def __init__(self, n: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.t0 = rng.uniform(35.0, 75.0, n)
        lo, hi = SPREAD_RANGE
        self.spread = np.exp(rng.uniform(math.log(lo), math.log(hi), n))
        # logistic scale with the same SD as a Gaussian of SD spread x T0
        self.scale = self.spread * self.t0 * math.sqrt(3.0) / math.pi
        self.drift = DRIFT_SD * rng.standard_normal(n)
        self._rng = np.random.default_rng(seed + 1)

    @property
    def n_subjects(self) -> int:
        """Number of subjects."""
        return int(self.t0.size)

    def response_probability(
        self, subjects: np.ndarray, intensity_pct_mso: np.ndarray
    ) -> np.ndarray:
        """Probability of an MEP at the current (drifted) threshold."""
        t = self.t0[subjects] * (1.0 + self.drift[subjects])
        z = (intensity_pct_mso - t) / self.scale[subjects]
        return np.asarray(1.0 / (1.0 + np.exp(-z)))

    def stimulate_subjects(
        self, subjects: np.ndarray, intensity_pct_mso: np.ndarray
    ) -> np.ndarray:
        """One pulse per listed subject: 500 uV with an MEP, 5 uV without."""
        idx = np.asarray(subjects, dtype=np.intp)
        x = np.asarray(intensity_pct_mso, dtype=np.float64)
        assert ((x >= 0.0) & (x <= 100.0)).all()
        innov = math.sqrt(1.0 - DRIFT_CORRELATION**2) * DRIFT_SD
        self.drift[idx] = DRIFT_CORRELATION * self.drift[idx] + innov * (
            self._rng.standard_normal(idx.size)
        )
        p = self.response_probability(idx, x)
        return np.where(self._rng.random(idx.size) < p, 500.0, 5.0)


def _hunt(method: ThresholdMethod, n: int) -> tuple[np.ndarray, PopulationHunt]:
    pop = LogisticDriftPopulation(n, seed=2014)
    start = np.minimum(100.0, np.round(pop.t0 * 1.2))
    return pop.t0.copy(), hunt_population(pop, method, start_intensity_pct_mso=start)


@pytest.fixture(scope="module")
def paired() -> dict[ThresholdMethod, tuple[np.ndarray, PopulationHunt]]:
    return {m: _hunt(m, N_SUBJECTS) for m in ThresholdMethod}


def test_population_is_really_mismatched() -> None:
    """The subjects' curve is not the 7 %-spread Gaussian that ML-PEST assumes.

    At 1.07 T0 the ML-PEST model (Awiszus 2003) predicts Phi(1) = 0.84 for every
    subject; a logistic with a 16 % spread gives about 0.69, a 4 % one about 0.96.
    """
    pop = LogisticDriftPopulation(4000, seed=1)
    pop.drift[:] = 0.0
    idx = np.arange(pop.n_subjects)
    p_at_t0 = pop.response_probability(idx, pop.t0)
    np.testing.assert_allclose(p_at_t0, 0.5, atol=1e-12)
    p = pop.response_probability(idx, 1.07 * pop.t0)
    wide = pop.spread > 0.14
    narrow = pop.spread < 0.045
    assert p[wide].max() < 0.75
    assert p[narrow].min() > 0.93


def test_marginal_fifty_percent_point_is_t0_despite_drift() -> None:
    """The truth used below: with symmetric drift, P(MEP at T0) stays 0.5.

    Monte Carlo over 4000 subjects x 50 pulses; the tolerance is 5 binomial SEs.
    """
    pop = LogisticDriftPopulation(4000, seed=3)
    idx = np.arange(pop.n_subjects)
    hits = sum(
        int((pop.stimulate_subjects(idx, pop.t0) > 50.0).sum()) for _ in range(50)
    )
    n = 50 * pop.n_subjects
    assert abs(hits / n - 0.5) <= 5 * math.sqrt(0.25 / n)


def test_ml_pest_non_inferior_to_relative_frequency_on_same_subjects(
    paired: dict[ThresholdMethod, tuple[np.ndarray, PopulationHunt]],
) -> None:
    """Paired |error| of ML-PEST within 0.5 % MSO of relative frequency.

    Ah Sen et al. (2017, abstract): ML-PEST and relative-frequency RMTs did not
    differ. The bound is on the paired mean difference plus 3 of its standard
    errors, so a chance pass is unlikely.
    """
    t, rf = paired[ThresholdMethod.RELATIVE_FREQUENCY]
    _, ml = paired[ThresholdMethod.ML_PEST]
    assert rf.converged.all()
    assert ml.converged.all()
    err_rf = np.abs(rf.estimate_pct_mso - t)
    err_ml = np.abs(ml.estimate_pct_mso - t)
    diff = err_ml - err_rf
    se = diff.std(ddof=1) / math.sqrt(diff.size)
    assert diff.mean() + 3.0 * se <= NI_MARGIN_PCT_MSO
    assert abs(float(np.mean(ml.estimate_pct_mso - t))) <= BIAS_BOUND_PCT_MSO


def test_ml_pest_needs_fewer_pulses_than_relative_frequency(
    paired: dict[ThresholdMethod, tuple[np.ndarray, PopulationHunt]],
) -> None:
    """Ah Sen et al. (2017, abstract): ML-PEST needed 15 fewer stimuli (RMT)."""
    rf = paired[ThresholdMethod.RELATIVE_FREQUENCY][1]
    ml = paired[ThresholdMethod.ML_PEST][1]
    assert rf.pulses_used.mean() - ml.pulses_used.mean() >= FEWER_PULSES_AH_SEN_2017


def test_psi_non_inferior_to_relative_frequency_on_same_subjects(
    paired: dict[ThresholdMethod, tuple[np.ndarray, PopulationHunt]],
) -> None:
    """Psi on the mismatched subjects: mostly converges, no worse than RF (paired).

    A hunt that does not converge gives no RMT (``rmt_or_raise`` refuses it, see
    test_threshold.py); accuracy is compared on the subjects where Psi gave one.
    """
    t, psi = paired[ThresholdMethod.PSI]
    _, rf = paired[ThresholdMethod.RELATIVE_FREQUENCY]
    ok = psi.converged
    assert ok.mean() >= PSI_MIN_CONVERGED
    diff = np.abs(psi.estimate_pct_mso[ok] - t[ok]) - np.abs(
        rf.estimate_pct_mso[ok] - t[ok]
    )
    se = diff.std(ddof=1) / math.sqrt(diff.size)
    assert diff.mean() + 3.0 * se <= NI_MARGIN_PCT_MSO
    assert abs(float(np.mean(psi.estimate_pct_mso[ok] - t[ok]))) <= BIAS_BOUND_PCT_MSO


def test_a_broken_hunt_would_fail_the_bounds(
    paired: dict[ThresholdMethod, tuple[np.ndarray, PopulationHunt]],
) -> None:
    """The bounds resolve real errors of the size that matters for dosing.

    Estimates 4 % of T0 too high (about 2 % MSO) fail the non-inferiority margin;
    2 % of T0 (about 1 % MSO) already fails the bias bound.
    """
    t, rf = paired[ThresholdMethod.RELATIVE_FREQUENCY]
    _, ml = paired[ThresholdMethod.ML_PEST]
    off4 = ml.estimate_pct_mso + 0.04 * t
    diff = np.abs(off4 - t) - np.abs(rf.estimate_pct_mso - t)
    assert diff.mean() > NI_MARGIN_PCT_MSO
    off2 = ml.estimate_pct_mso + 0.02 * t
    assert abs(float(np.mean(off2 - t))) > BIAS_BOUND_PCT_MSO
