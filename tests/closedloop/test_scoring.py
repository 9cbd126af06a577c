"""Like-for-like scoring: evenly spaced moments and bootstrap intervals checked
against analytic von Mises values and a perfect estimator."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import i0, i1

from plptms.closedloop._scoring import (
    paired_sd_difference,
    phase_error_ci,
    score_evenly,
)
from plptms.closedloop._sspe import SSPEModel, SSPEPhaseEstimator

FS = 1000.0


def test_ci_covers_von_mises_truth() -> None:
    kappa, mu = 4.0, 0.5
    rng = np.random.default_rng(3)
    e = rng.vonmises(mu, kappa, 2000)
    s = phase_error_ci(e, n_boot=1000, seed=1)
    plv_true = float(i1(kappa) / i0(kappa))  # analytic mean resultant length
    sd_true = math.degrees(math.sqrt(-2 * math.log(plv_true)))
    assert s.plv_ci[0] <= plv_true <= s.plv_ci[1]
    assert s.sd_ci_deg[0] <= sd_true <= s.sd_ci_deg[1]
    assert s.mean_ci_deg[0] <= math.degrees(mu) <= s.mean_ci_deg[1]
    assert s.mean_ci_deg[1] - s.mean_ci_deg[0] < 10.0


def test_paired_difference_detects_a_wider_estimator() -> None:
    rng = np.random.default_rng(4)
    a = rng.vonmises(0.0, 2.0, 800)
    b = 0.5 * a  # half the spread, same moments
    d, lo, hi = paired_sd_difference(a, b, n_boot=500)
    assert lo > 0.0
    assert lo <= d <= hi


def test_score_evenly_on_a_sinusoid() -> None:
    model = SSPEModel(FS, (10.0,), (0.9999,), (1.0,), 1e-4)
    t = np.arange(6000) / FS
    y = np.cos(2 * math.pi * 10 * t)
    truth = 2 * math.pi * 10 * t
    idx, err = score_evenly(SSPEPhaseEstimator(model), y, truth)
    assert np.all(np.diff(idx) == 500)
    assert np.abs(err).max() < math.radians(1.0)


def test_bad_input_raises() -> None:
    model = SSPEModel(FS, (10.0,), (0.99,), (1.0,), 1.0)
    with pytest.raises(ValueError, match="true_phase_rad"):
        score_evenly(SSPEPhaseEstimator(model), np.zeros(100), np.zeros(99))
    with pytest.raises(ValueError, match="errors"):
        phase_error_ci([0.1])
    with pytest.raises(ValueError, match="errors_b_rad"):
        paired_sd_difference([0.1, 0.2, 0.3], [0.1, 0.2])
