"""State space phase estimator: a hand-checked Kalman step, the steady-state filter
against that step, the analytic phase of a sinusoid, and EM on its own model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from plptms.closedloop import wrap_phase
from plptms.closedloop._sspe import (
    SSPEPhaseEstimator,
    fit_sspe,
    sspe_filter,
)
from plptms.closedloop._sspe_model import (
    SSPEModel,
    _matrices,
    _steady_state,
    kalman_step,
)

FS = 1000.0
# Two implementations of the same recursion (steady-state lfilter path and the
# plain step): they differ by rounding only.
RECURSION_ATOL = 1e-8
# On a noiseless tone with a = 0.9999 and r << sigma^2 the filter follows the
# tone with a lag of well under a sample (0.36 deg = 0.1 ms at 10 Hz).
SINE_ATOL_RAD = math.radians(1.0)


def test_kalman_step_matches_hand_computation() -> None:
    # F = 0.5 R(pi/2), Q = I, r = 1, x0 = (1, 0), P0 = I, y = 2:
    # x_pred = (0, 0.5), P_pred = 1.25 I, S = 2.25, K = (5/9, 0),
    # x = (10/9, 0.5), P = diag(5/9, 1.25).
    f_mat = np.array([[0.0, -0.5], [0.5, 0.0]])
    x, p = kalman_step(
        np.array([1.0, 0.0]),
        np.eye(2),
        2.0,
        f_mat,
        np.eye(2),
        np.array([1.0, 0.0]),
        1.0,
    )
    np.testing.assert_allclose(x, [10 / 9, 0.5], atol=1e-12)
    np.testing.assert_allclose(p, np.diag([5 / 9, 1.25]), atol=1e-12)
    assert math.atan2(x[1], x[0]) == pytest.approx(math.atan2(0.45, 1.0), abs=1e-12)


def _model() -> SSPEModel:
    return SSPEModel(
        sfreq_hz=FS,
        freqs_hz=(1.0, 10.0),
        damping=(0.99, 0.995),
        state_var=(1.0, 1.0),
        obs_var=4.0,
        target=1,
    )


def _simulate(model: SSPEModel, n: int, seed: int) -> np.ndarray:
    f_mat, q, h = _matrices(model)
    rng = np.random.default_rng(seed)
    x = np.zeros(f_mat.shape[0])
    y = np.empty(n)
    sd = np.sqrt(np.diag(q))
    for t in range(n):
        x = f_mat @ x + sd * rng.standard_normal(x.size)
        y[t] = h @ x + math.sqrt(model.obs_var) * rng.standard_normal()
    return y


def test_steady_state_gain_is_the_limit_of_the_step() -> None:
    model = _model()
    f_mat, q, h = _matrices(model)
    x, p = np.zeros(4), 1e-3 * np.eye(4)
    for _ in range(20000):
        x, p = kalman_step(x, p, 0.0, f_mat, q, h, model.obs_var)
    ss = _steady_state(model)
    np.testing.assert_allclose(p, ss.p_filt, rtol=1e-6)


def test_filter_equals_kalman_steps_on_its_own_model() -> None:
    model = _model()
    y = _simulate(model, 3000, seed=5)
    y -= y.mean()  # sspe_filter removes the mean of a whole recording
    f_mat, q, h = _matrices(model)
    p = _steady_state(model).p_filt
    x = np.zeros(4)
    ref_phase = np.empty(y.size)
    for t, v in enumerate(y):
        x, _ = kalman_step(x, p, float(v), f_mat, q, h, model.obs_var)
        ref_phase[t] = math.atan2(x[3], x[2])
    est = SSPEPhaseEstimator(model, warmup_s=0.05)
    got = []
    for t in range(y.size):  # one sample at a time, as a stream
        est.update(y[t : t + 1])
        got.append(est.estimate_now().phase_rad)
    ok = np.isfinite(got)
    assert np.abs(wrap_phase(np.asarray(got)[ok] - ref_phase[ok])).max() < (
        RECURSION_ATOL
    )
    # whole-recording path (lfilter per mode)
    phase, _ = sspe_filter(model, y)
    assert np.abs(wrap_phase(phase - ref_phase)).max() < RECURSION_ATOL


def test_sinusoid_phase_is_the_analytic_phase() -> None:
    model = SSPEModel(
        sfreq_hz=FS,
        freqs_hz=(10.0,),
        damping=(0.9999,),
        state_var=(1.0,),
        obs_var=1e-4,
    )
    t = np.arange(3000) / FS
    phi = 0.7
    y = np.cos(2 * math.pi * 10.0 * t + phi)
    for horizon in (0.0, 0.02):
        est = SSPEPhaseEstimator(model, horizon_s=horizon)
        est.update(y[:1000])
        for k in range(1000, 3000, 37):
            est.update(y[est.n_samples : k + 1])
            expected = 2 * math.pi * 10.0 * (k / FS + horizon) + phi
            got = est.estimate_now()
            assert abs(wrap_phase(got.phase_rad - expected)) < SINE_ATOL_RAD
            assert got.amplitude == pytest.approx(1.0, rel=0.02)


@pytest.mark.slow
def test_em_recovers_the_model_it_was_simulated_from() -> None:
    fs = 250.0
    truth = SSPEModel(
        sfreq_hz=fs,
        freqs_hz=(1.0, 10.0),
        damping=(0.98, 0.99),
        state_var=(1.0, 1.0),
        obs_var=2.0,
        target=1,
    )
    y = _simulate(truth, 7500, seed=7)
    fit = fit_sspe(
        y,
        fs,
        9.5,
        fit_s=30.0,
        max_iter=120,
        fix_target=False,
        max_bandwidth_hz=None,
    )
    # 30 s at 250 Hz: tolerances set wide (frequency 0.15 Hz, damping 0.006,
    # variances 30 %) for a short segment and a capped number of EM iterations
    assert fit.freqs_hz[1] == pytest.approx(10.0, abs=0.15)
    assert fit.damping[1] == pytest.approx(0.99, abs=0.006)
    assert fit.state_var[1] == pytest.approx(1.0, rel=0.3)
    assert fit.obs_var == pytest.approx(2.0, rel=0.3)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"peak_hz": 20.0}, "peak_hz"),
        ({"slow_hz": 9.0}, "slow_hz"),
        ({"fit_s": 1.0}, "fit_s"),
        ({"max_bandwidth_hz": 0.0}, "max_bandwidth_hz"),
    ],
)
def test_fit_rejects_bad_values(kwargs: dict[str, float], field: str) -> None:
    y = np.random.default_rng(0).standard_normal(5000)
    args: dict[str, float] = {"peak_hz": 10.0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=field):
        fit_sspe(y, FS, **args)  # type: ignore[arg-type]


def test_model_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="freqs_hz"):
        SSPEModel(FS, (1.0, 10.0), (0.9,), (1.0, 1.0), 1.0)
    with pytest.raises(ValueError, match="damping"):
        SSPEModel(FS, (10.0,), (1.0,), (1.0,), 1.0)
