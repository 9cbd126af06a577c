"""Session biomarkers: band power against Parseval, trigger phase statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from plptms.closedloop import SessionBiomarkers, band_power, session_biomarkers

FS = 250.0


def test_band_power_of_a_sine_is_half_the_squared_amplitude() -> None:
    # Parseval: a sine of amplitude A has power A**2 / 2, all inside its band
    t = np.arange(int(60 * FS)) / FS
    x = 3.0 * np.sin(2 * np.pi * 10.25 * t)
    p = band_power(x, FS, {"theta": (4, 8), "alpha": (8, 13), "beta": (13, 30)})
    assert p["alpha"] == pytest.approx(4.5, rel=0.01)
    assert p["theta"] < 1e-3 * p["alpha"]
    assert p["beta"] < 1e-3 * p["alpha"]


def test_band_power_of_white_noise_is_proportional_to_bandwidth() -> None:
    # white noise of variance 1: one-sided PSD 2 / fs, so a band of width B has
    # power 2 B / fs
    rng = np.random.default_rng(0)
    x = rng.standard_normal(int(600 * FS))
    p = band_power(x, FS, {"theta": (4, 8), "beta": (13, 30)})
    assert p["theta"] == pytest.approx(2 * 4 / FS, rel=0.05)
    assert p["beta"] == pytest.approx(2 * 17 / FS, rel=0.05)


def test_band_power_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match=r"'signal'.*two 2 s segments"):
        band_power(np.zeros(100), FS, {"a": (8, 13)})
    x = np.zeros(int(10 * FS))
    with pytest.raises(ValueError, match=r"bands_hz\['a'\]"):
        band_power(x, FS, {"a": (13, 8)})
    x[5] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        band_power(x, FS, {"a": (8, 13)})


def _mu(seconds: float = 60.0, f: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    t = np.arange(int(seconds * FS)) / FS
    phase = 2 * np.pi * f * t
    x = np.cos(phase) + 0.05 * rng.standard_normal(t.size)
    return x, np.angle(np.exp(1j * phase))


def test_triggers_at_the_trough_score_zero_error() -> None:
    x, phase = _mu()
    # every cosine trough (phase pi) after the first 5 s, one every 2 s
    troughs = np.flatnonzero(np.diff(np.sign(np.sin(phase))) < 0)  # sin + to -
    troughs = troughs[(troughs > 5 * FS) & (troughs < x.size - 5 * FS)][::20]
    b = session_biomarkers(
        x,
        FS,
        trigger_samples=troughs,
        estimated_phase_rad=np.full(troughs.size, math.pi),
        peak_hz=10.0,
    )
    assert b.n_triggers == troughs.size
    assert b.true_mean_error_deg is not None
    assert abs(b.true_mean_error_deg) < 10.0
    assert b.true_circular_sd_deg is not None
    assert b.true_circular_sd_deg < 10.0
    assert b.true_within_45 == 1.0
    assert b.estimated_resultant == pytest.approx(1.0)
    assert b.alpha_rel > 0.95
    assert b.mu_peak_hz == pytest.approx(10.0, abs=0.5)
    assert b.trigger_rate_per_min == pytest.approx(troughs.size / 1.0, rel=1e-9)


def test_triggers_at_the_peak_are_half_a_cycle_off() -> None:
    x, phase = _mu()
    peaks = np.flatnonzero(np.diff(np.sign(np.sin(phase))) > 0)  # sin - to +
    peaks = peaks[(peaks > 5 * FS) & (peaks < x.size - 5 * FS)][::20]
    b = session_biomarkers(x, FS, trigger_samples=peaks, peak_hz=10.0)
    assert b.true_mean_error_deg is not None
    assert abs(abs(b.true_mean_error_deg) - 180.0) < 10.0
    assert b.true_within_45 == 0.0
    assert b.estimated_mean_deg is None


def test_no_trigger_no_phase_statistics_and_round_trip() -> None:
    x, _ = _mu(30.0)
    b = session_biomarkers(x, FS)
    assert b.n_triggers == 0
    assert b.true_circular_sd_deg is None
    assert SessionBiomarkers.from_dict(b.to_dict()) == b


def test_session_biomarkers_refuse_bad_input() -> None:
    x, _ = _mu(30.0)
    with pytest.raises(ValueError, match="at least 20 s"):
        session_biomarkers(x[: int(10 * FS)], FS)
    with pytest.raises(ValueError, match="'trigger_samples'"):
        session_biomarkers(x, FS, trigger_samples=[x.size])
    with pytest.raises(ValueError, match="'estimated_phase_rad'"):
        session_biomarkers(x, FS, trigger_samples=[10, 20], estimated_phase_rad=[1.0])
