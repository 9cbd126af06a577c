"""Individual mu peak and band-pass design."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from plptms.closedloop import (
    SignalQualityError,
    bandpass_fir,
    individual_peak_frequency,
)
from plptms.closedloop._spectral import check_band

FS = 1000.0


def test_peak_of_sinusoid_in_noise() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(60_000) / FS
    x = np.cumsum(rng.standard_normal(t.size)) * 0.05 + 2.0 * np.sin(2 * np.pi * 11 * t)
    peak = individual_peak_frequency(x, FS)
    assert peak.peak_hz == pytest.approx(11.0, abs=peak.resolution_hz)
    assert peak.snr_db > 10.0
    assert peak.resolution_hz == pytest.approx(0.5)


def test_no_peak_is_too_poor() -> None:
    rng = np.random.default_rng(1)
    with pytest.raises(SignalQualityError, match="too poor"):
        individual_peak_frequency(np.cumsum(rng.standard_normal(60_000)), FS)


def test_flat_and_nan_refused() -> None:
    with pytest.raises(SignalQualityError, match="flat"):
        individual_peak_frequency(np.zeros(10_000), FS)
    x = np.ones(10_000)
    x[3] = np.nan
    with pytest.raises(SignalQualityError, match="NaN"):
        individual_peak_frequency(x, FS)


def test_min_snr_refuses_weak_peak() -> None:
    rng = np.random.default_rng(2)
    t = np.arange(60_000) / FS
    x = rng.standard_normal(t.size) + 0.3 * np.sin(2 * np.pi * 10 * t)
    with pytest.raises(SignalQualityError, match="snr_db"):
        individual_peak_frequency(x, FS, min_snr_db=30.0)


def test_short_signal_refused() -> None:
    with pytest.raises(ValueError, match="at least 4000 samples"):
        individual_peak_frequency(np.ones(100), FS)


def test_bandpass_is_cached_and_read_only() -> None:
    a = bandpass_fir(FS, (9.0, 11.0), 192)
    assert a is bandpass_fir(FS, (9.0, 11.0), 192)
    assert a.size == 193
    with pytest.raises(ValueError, match="read-only"):
        a[0] = 1.0


@given(st.floats(0.1, 100.0), st.floats(0.1, 100.0))
def test_check_band_property(lo: float, width: float) -> None:
    hi = lo + width
    if hi < 250.0:
        check_band((lo, hi), 500.0, "band_hz")
    else:
        with pytest.raises(ValueError, match=r"band_hz\[1\]"):
            check_band((lo, hi), 500.0, "band_hz")
    with pytest.raises(ValueError, match=r"band_hz\[1\]"):
        check_band((hi, lo), 500.0, "band_hz")
