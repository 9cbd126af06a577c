"""SSPE diagnosed with an oracle, and its AR background.

The filter is checked against what it must achieve on its own model (the
steady-state error of the Riccati solution, measured on simulated states); the
oracle filter (true generative parameters of the broadband case) is compared with
AR forward prediction in white noise, where the model is exact, and in 1/f noise
taken as white, where it is not (the diagnosis of why SSPE lost); then the AR
background model (``fit_sspe(..., background_order=p)``) against AR where the
measured paired CI was clearly away from 0.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pytest

from plptms.closedloop import ARPhaseEstimator
from plptms.closedloop._scoring import paired_sd_difference, score_evenly
from plptms.closedloop._simulate import PhaseCase, simulate_phase_case
from plptms.closedloop._sspe import (
    SSPEPhaseEstimator,
    fit_sspe,
)
from plptms.closedloop._sspe_model import (
    SSPEModel,
    _matrices,
    _steady_state,
    kalman_step,
)

if TYPE_CHECKING:
    from collections.abc import Callable

FS = 1000.0
# Monte Carlo mean of ||x - x_filt||^2 over 200,000 correlated samples of a
# 2-D state with an error correlation time of ~100 samples: about 2,000
# independent draws, relative SE ~ 1/sqrt(2000) = 2.2 %; 4 SE.
MC_RTOL = 0.09
# Riccati iteration to convergence vs the DARE solution: rounding and the
# iteration's remaining geometric error only.
RICCATI_RTOL = 1e-6


def _broadband_a(bandwidth_hz: float) -> float:
    # _damped_oscillator's pole modulus for a half-power width (its docstring)
    c = math.pi * bandwidth_hz / FS
    return ((-c + math.sqrt(c * c + 4.0)) / 2.0) ** 2


def test_steady_state_error_of_one_oscillator_on_its_own_states() -> None:
    # Oracle: the filter run on states simulated from its own model must leave
    # a mean squared state error equal to the trace of the steady-state
    # filtered covariance (the DARE solution), not just agree with itself.
    model = SSPEModel(FS, (10.0,), (0.99,), (1.0,), 4.0, target=0)
    f_mat, q, h = _matrices(model)
    rng = np.random.default_rng(11)
    n = 200_000
    w = rng.standard_normal((n, 2))
    v = 2.0 * rng.standard_normal(n)
    ss = _steady_state(model)
    a_mat = (np.eye(2) - np.outer(ss.gain, ss.h)) @ f_mat
    x = np.zeros(2)
    xf = np.zeros(2)
    err2 = 0.0
    for t in range(n):
        x = f_mat @ x + w[t]
        xf = a_mat @ xf + ss.gain * (h @ x + v[t])
        if t >= 2000:  # past the start-up transient
            err2 += float((x - xf) @ (x - xf))
    mse = err2 / (n - 2000)
    assert mse == pytest.approx(float(np.trace(ss.p_filt)), rel=MC_RTOL)
    assert np.allclose(q, np.eye(2))


def test_ar_background_matrices_and_riccati_limit() -> None:
    # one oscillator plus an AR(2) background: hand-built F, Q, H
    model = SSPEModel(
        FS, (10.0,), (0.99,), (1.0,), 0.5, target=0, ar_coefs=[1.5, -0.6], ar_var=2.0
    )
    assert model.ar_coefs == (1.5, -0.6)  # a JSON list is stored as a tuple
    f_mat, q, h = _matrices(model)
    om = 2.0 * math.pi * 10.0 / FS
    c, s = 0.99 * math.cos(om), 0.99 * math.sin(om)
    f_ref = np.array(
        [[c, -s, 0.0, 0.0], [s, c, 0.0, 0.0], [0.0, 0.0, 1.5, -0.6], [0, 0, 1.0, 0]]
    )
    np.testing.assert_allclose(f_mat, f_ref, atol=1e-15)
    np.testing.assert_allclose(np.diag(q), [1.0, 1.0, 2.0, 0.0], atol=0.0)
    np.testing.assert_allclose(h, [1.0, 0.0, 1.0, 0.0], atol=0.0)
    # the DARE solution (singular Q) is the limit of the covariance recursion
    x, p = np.zeros(4), np.eye(4)
    for _ in range(5000):
        x, p = kalman_step(x, p, 0.0, f_mat, q, h, model.obs_var)
    np.testing.assert_allclose(p, _steady_state(model).p_filt, rtol=RICCATI_RTOL)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"ar_coefs": (1.2, 0.5), "ar_var": 1.0}, "ar_coefs"),  # root > 1
        ({"ar_coefs": (0.5, 0.1), "ar_var": 0.0}, "ar_var"),
        ({"ar_var": 1.0}, "ar_var"),
        ({"ar_coefs": (0.5,), "ar_var": 1.0}, "ar_coefs"),
    ],
)
def test_model_rejects_bad_background(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        SSPEModel(FS, (10.0,), (0.99,), (1.0,), 1.0, target=0, **kwargs)  # type: ignore[arg-type]


def test_fit_rejects_bad_background_order() -> None:
    y = np.random.default_rng(0).standard_normal(6000)
    with pytest.raises(ValueError, match="background_order"):
        fit_sspe(y, FS, 10.0, background_order=1)


def _paired(
    case: str,
    snr: float,
    factory: Callable[[PhaseCase], SSPEPhaseEstimator],
    exponent: float = -1.5,
) -> tuple[float, float, float]:
    c = simulate_phase_case(
        case,  # type: ignore[arg-type]
        130.0,
        FS,
        snr_db=snr,
        seed=2024,
        aperiodic_exponent=exponent,
    )
    nb = 10000
    errs = []
    for est in (factory(c), ARPhaseEstimator(FS, 10.0)):
        est.update(c.signal[nb - 1000 : nb])
        errs.append(score_evenly(est, c.signal, c.true_phase_rad, start=nb)[1])
    n = min(e.size for e in errs)
    assert n >= 200
    return paired_sd_difference(errs[0][:n], errs[1][:n], n_boot=1000, block=4)


def _oracle(c: PhaseCase) -> SSPEPhaseEstimator:
    # the broadband target's true parameters; the noise (unit variance) as white
    a = _broadband_a(4.0)
    # rhythm = scale Re z with Var(Re z) = 1 / (1 - a^2): state noise = scale^2
    q = float(np.var(c.rhythm)) * (1.0 - a * a)
    r = float(np.var(c.signal - c.rhythm))
    return SSPEPhaseEstimator(SSPEModel(FS, (10.0,), (a,), (q,), r, target=0))


# Measured (seed 2024, 10 s baseline, 120 s scored, paired moving-block
# bootstrap, blocks of 4, 1000 resamples): SD(oracle SSPE) - SD(AR) at +5 dB,
# broadband: white noise -17.7 [-25.5, -9.1] deg (the filter with the true
# model wins); 1/f^1.5 noise taken as white +29.8 [+15.4, +47.0] (loses): the
# loss is the white-noise model, not the filter. Asserted: the sign of the CI
# bound nearer 0, which was >= 9 deg away from it.
@pytest.mark.slow
def test_oracle_wins_in_white_noise_and_loses_when_1f_is_taken_as_white() -> None:
    _, _, hi = _paired("broadband", 5.0, _oracle, exponent=0.0)
    assert hi < 0.0
    _, lo, _ = _paired("broadband", 5.0, _oracle)
    assert lo > 0.0


# Measured (seed 2024, fit on the last 5 s of a 10 s baseline, EM 30 iterations,
# AR(8) background; bootstrap as above): SD(SSPE) - SD(AR) narrowband -5 dB
# -12.4 [-19.0, -6.3] deg, competing 0 dB -12.9 [-18.1, -8.1], competing +5 dB
# -9.9 [-13.9, -5.9] (SSPE wins all three; also at the benchmark's seeds 2024+k
# and at 7+k: -12.4/-8.6, -15.1/-11.8, -22.7/-23.6, all with CIs below 0).
# Not asserted: narrowband 0 dB (-8.5 [-13.2, -3.9] here, a tie at seed 2025).
# Asserted: the upper bound below 0 (it was >= 5.9 deg below).
@pytest.mark.slow
@pytest.mark.parametrize(
    ("case", "snr"), [("narrowband", -5.0), ("competing", 0.0), ("competing", 5.0)]
)
def test_ar_background_wins_where_the_ci_is_clear(case: str, snr: float) -> None:
    def fitted(c: PhaseCase) -> SSPEPhaseEstimator:
        model = fit_sspe(c.signal[:10000], FS, 10.0, max_iter=30, background_order=8)
        return SSPEPhaseEstimator(model)

    _, _, hi = _paired(case, snr, fitted)
    assert hi < 0.0


def test_ar_background_survives_a_json_round_trip_of_the_calibration() -> None:
    import json

    from plptms.closedloop import MuPeak
    from plptms.closedloop._trigger import Calibration

    model = SSPEModel(
        FS,
        (10.0,),
        (0.99,),
        (1.0,),
        0.5,
        target=0,
        log_likelihood=-1.5,  # nan would compare unequal to itself
        ar_coefs=(1.5, -0.6),
        ar_var=2.0,
    )
    peak = MuPeak(peak_hz=10.0, snr_db=8.0, band_hz=(8.0, 13.0), resolution_hz=0.5)
    cal = Calibration(peak, 0.5, 50.0, "sspe", None, model)
    back = Calibration.from_dict(json.loads(json.dumps(cal.to_dict())))
    assert back == cal
    assert back.sspe is not None
    assert back.sspe.ar_coefs == (1.5, -0.6)
