"""Phase estimators: exact on sinusoids, accurate on simulated EEG, fast paths equal
SciPy's reference functions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from plptms.closedloop import (
    ARPhaseEstimator,
    ETPPhaseEstimator,
    SignalQualityError,
    circular_sd,
    fit_etp,
    wrap_phase,
)
from plptms.closedloop._estimators import _ar_initial_state, _ZeroPhaseFIR
from plptms.closedloop._spectral import bandpass_fir

FS = 1000.0
# On a noiseless sinusoid ETP is exact to a sample or so (5 deg = 1.4 samples at
# 10 Hz). The AR estimator is not: Yule-Walker's biased autocorrelation gives a
# slightly damped, off-frequency predicted tone (measured up to 13 deg, mean -2
# deg), so its bound on a pure tone is 15 deg.
SINE_ATOL_RAD = math.radians(5.0)
AR_SINE_ATOL_RAD = math.radians(15.0)


def _sine(n: int, f: float = 10.0, phi: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(n) / FS
    return np.cos(2 * math.pi * f * t + phi), wrap_phase(2 * math.pi * f * t + phi)


def test_zero_phase_fir_equals_filtfilt() -> None:
    from scipy.signal import filtfilt

    rng = np.random.default_rng(0)
    for order, n in [(128, 500), (192, 500), (250, 400)]:
        taps = bandpass_fir(FS, (9.0, 11.0), order)
        x = np.cumsum(rng.standard_normal(n))
        ref = filtfilt(taps, [1.0], x, padlen=min(3 * (taps.size - 1), n - 1))
        np.testing.assert_allclose(
            _ZeroPhaseFIR(taps, n)(x), ref, atol=1e-9 * abs(ref).max()
        )


def test_ar_initial_state_equals_lfiltic() -> None:
    from scipy.signal import lfiltic

    rng = np.random.default_rng(1)
    den = np.concatenate(([1.0], 0.1 * rng.standard_normal(30)))
    past = rng.standard_normal(30)
    np.testing.assert_allclose(
        _ar_initial_state(den, past), lfiltic([1.0], den, past), atol=1e-12
    )


@pytest.mark.parametrize("horizon_s", [0.0, 0.02])
def test_ar_exact_on_sinusoid(horizon_s: float) -> None:
    x, phase = _sine(3000)
    est = ARPhaseEstimator(FS, 10.0, horizon_s=horizon_s)
    h = round(horizon_s * FS)
    errs = []
    for end in range(600, 3000 - h, 37):
        est.reset()
        est.update(x[end - est.n_window : end])
        ph, _amp, conf = est.estimate_now()
        errs.append(wrap_phase(ph - phase[end - 1 + h]))
        assert conf > 0.5
    assert np.max(np.abs(errs)) < AR_SINE_ATOL_RAD
    assert abs(np.mean(errs)) < SINE_ATOL_RAD


def test_not_ready_returns_nan() -> None:
    est = ARPhaseEstimator(FS, 10.0)
    est.update(np.zeros(10))
    ph, _amp, conf = est.estimate_now()
    assert math.isnan(ph)
    assert conf == 0.0
    assert not est.ready
    with pytest.raises(RuntimeError, match="not full"):
        est.predict()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"peak_hz": 0.5}, "peak_hz"),
        ({"window_s": 0.05}, "window_s"),
        ({"ar_order": 1}, "ar_order"),
        ({"horizon_s": 0.5}, "horizon_s"),
        ({"passband_half_width_hz": 20.0}, "passband_half_width_hz"),
        ({"window_s": 0.3, "ar_order": 60}, "window_s"),
    ],
)
def test_ar_parameters_checked(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        ARPhaseEstimator(FS, **{"peak_hz": 10.0, **kwargs})  # type: ignore[arg-type]


def test_etp_learns_period_of_sinusoid() -> None:
    x, phase = _sine(40_000, f=10.0)
    model = fit_etp(x, FS)
    assert model.period_s == pytest.approx(0.1, abs=1.5 / FS)
    assert abs(model.bias_s) < 3.0 / FS
    est = ETPPhaseEstimator(model)
    errs = []
    for end in range(600, 5000, 41):
        est.reset()
        est.update(x[end - est.n_window : end])
        errs.append(wrap_phase(est.estimate_now().phase_rad - phase[end - 1]))
    assert np.max(np.abs(errs)) < SINE_ATOL_RAD


def test_etp_refuses_noise() -> None:
    rng = np.random.default_rng(3)
    # white noise band-passed at 8-13 Hz still has peaks; a flat signal has none
    with pytest.raises(SignalQualityError, match="flat"):
        fit_etp(np.zeros(30_000), FS)
    with pytest.raises(ValueError, match="baseline"):
        fit_etp(rng.standard_normal(5000), FS)


def _estimator_errors(est, x, truth, envelope) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Error against the generator phase at 400 time points inside bursts."""
    on = np.flatnonzero(envelope > np.percentile(envelope, 60))
    on = on[on > 70_000]
    rng = np.random.default_rng(5)
    errs = []
    for end in rng.choice(on, 400, replace=False):
        est.reset()
        est.update(x[end + 1 - 1000 : end + 1])
        ph = est.estimate_now().phase_rad
        if math.isfinite(ph):
            errs.append(wrap_phase(ph - truth[end]))
    return np.asarray(errs)


# Thresholds: at a mu-band SNR of 10 dB (peak SNR ~16 dB) both estimators must
# keep the circular SD of the error against the generator phase below 45 deg
# (the +/-45 deg criterion of the issue; uniform triggering has infinite SD and
# published real-data accuracies are ~40-60 deg), and the AR mean error within
# 20 deg. Measured at commit time: AR ~20 deg, ETP ~30 deg.
SD_MAX_DEG_HIGH_SNR = 45.0
MEAN_MAX_DEG = 20.0


def test_ar_accuracy_high_snr(eeg_high, hjorth_high) -> None:  # type: ignore[no-untyped-def]
    from plptms.closedloop import individual_peak_frequency

    x = hjorth_high.apply(eeg_high.data)
    peak = individual_peak_frequency(x[:60_000], FS)
    est = ARPhaseEstimator(FS, peak.peak_hz)
    err = _estimator_errors(est, x, eeg_high.true_phase_rad, eeg_high.mu_envelope)
    assert math.degrees(circular_sd(err)) < SD_MAX_DEG_HIGH_SNR
    assert abs(math.degrees(np.angle(np.mean(np.exp(1j * err))))) < MEAN_MAX_DEG


def test_etp_accuracy_high_snr(eeg_high, hjorth_high) -> None:  # type: ignore[no-untyped-def]
    x = hjorth_high.apply(eeg_high.data)
    model = fit_etp(x[:60_000], FS)
    assert 0.085 < model.period_s < 0.115  # 10 Hz mean, drifting
    est = ETPPhaseEstimator(model)
    err = _estimator_errors(est, x, eeg_high.true_phase_rad, eeg_high.mu_envelope)
    assert math.degrees(circular_sd(err)) < SD_MAX_DEG_HIGH_SNR


def test_accuracy_degrades_with_snr(eeg_high, eeg_low, hjorth_high) -> None:  # type: ignore[no-untyped-def]
    """All methods degrade with lower SNR (Shirinpour et al., 2020)."""
    sds = []
    for eeg in (eeg_high, eeg_low):
        x = hjorth_high.apply(eeg.data)
        est = ARPhaseEstimator(FS, 10.0)
        err = _estimator_errors(est, x, eeg.true_phase_rad, eeg.mu_envelope)
        sds.append(circular_sd(err))
    assert sds[1] > sds[0] + math.radians(10.0)
