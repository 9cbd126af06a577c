"""Band-pass design and the individual mu peak frequency.

The individual peak is read from a Welch power spectrum :footcite:`welch1967`
after removing a straight 1/f line fitted in log-log space, as phastimate's
``estimate_SNR.m`` does :footcite:`zrenner2020`; the height of the peak above that
line is the peak signal-to-noise ratio (dB) against which Zrenner et al. report
phase-estimation accuracy.

.. footbibliography::
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..utils import check_range
from ._constants import (
    APERIODIC_FIT_BANDS_HZ,
    MIN_PEAK_SNR_DB,
    MU_BAND_HZ,
    PEAK_MIN_PROMINENCE_DB,
    WELCH_SEGMENT_S,
)
from ._errors import SignalQualityError

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = ["MuPeak", "bandpass_fir", "check_band", "individual_peak_frequency"]

# Spectrum range kept before fitting, Hz (phastimate's estimate_SNR.m keeps 2-45 Hz).
_SPECTRUM_RANGE_HZ = (2.0, 45.0)
# A Welch average of K segments has log-power SD 10 log10(e) / sqrt(K) dB (chi-square
# with 2K degrees of freedom). A peak is accepted only if it rises this many SDs
# above the 1/f line, so that noise alone rarely passes (design choice: about 1 %
# false acceptance over the 11 bins of 8-13 Hz at 0.5 Hz resolution).
_CHANCE_SDS = 3.0


def check_band(band_hz: tuple[float, float], sfreq_hz: float, field: str) -> None:
    """Raise ``ValueError`` unless ``0 < low < high < sfreq_hz / 2``.

    Parameters
    ----------
    band_hz : tuple of float, Hz
        ``(low, high)``.
    sfreq_hz : float, Hz
        Sampling rate.
    field : str
        Name of the field, for the message.

    Raises
    ------
    ValueError
        If the band is not ordered or not inside ``(0, sfreq_hz / 2)`` Hz.
    """
    if len(band_hz) != 2:
        raise ValueError(
            f"Invalid value for {field!r}: got {band_hz!r}; allowed: a (low, high) "
            "pair in Hz."
        )
    low, high = float(band_hz[0]), float(band_hz[1])
    nyq = sfreq_hz / 2.0
    check_range(low, f"{field}[0]", 0.0, nyq, low_inclusive=False, unit="Hz")
    check_range(
        high,
        f"{field}[1]",
        low,
        nyq,
        low_inclusive=False,
        high_inclusive=False,
        unit="Hz",
    )


@functools.lru_cache(maxsize=64)
def _fir(
    sfreq_hz: float, low_hz: float, high_hz: float, order: int
) -> NDArray[np.float64]:
    from scipy.signal import firwin  # type: ignore[import-untyped]

    taps = np.asarray(
        firwin(
            order + 1, [low_hz, high_hz], pass_zero=False, fs=sfreq_hz, window="hamming"
        ),
        dtype=float,
    )
    taps.setflags(write=False)
    return taps


def bandpass_fir(
    sfreq_hz: float, band_hz: tuple[float, float], order: int
) -> NDArray[np.float64]:
    """FIR band-pass taps by the window method (Hamming), cached.

    This is MATLAB's ``designfilt('bandpassfir', 'DesignMethod', 'window')`` used by
    phastimate :footcite:`zrenner2020`.

    Parameters
    ----------
    sfreq_hz : float, Hz
        Sampling rate.
    band_hz : tuple of float, Hz
        Cut-offs ``(low, high)``.
    order : int
        Filter order (taps - 1), at least 2.

    Returns
    -------
    taps : ndarray of float
        ``order + 1`` read-only taps.

    Raises
    ------
    ValueError
        If the band or the order is out of range.
    """
    check_range(sfreq_hz, "sfreq_hz", 0.0, None, low_inclusive=False, unit="Hz")
    check_band(band_hz, sfreq_hz, "band_hz")
    check_range(order, "order", 2, None)
    return _fir(float(sfreq_hz), float(band_hz[0]), float(band_hz[1]), int(order))


@dataclass(frozen=True, slots=True)
class MuPeak:
    """Individual mu peak of a resting recording.

    Attributes
    ----------
    peak_hz : float, Hz
        Frequency of the largest peak above the 1/f fit inside the band.
    snr_db : float, dB
        Height of that peak above the 1/f fit (phastimate's peak SNR).
    band_hz : tuple of float, Hz
        The band searched.
    resolution_hz : float, Hz
        Frequency resolution of the spectrum.
    """

    peak_hz: float
    snr_db: float
    band_hz: tuple[float, float]
    resolution_hz: float


def _aperiodic_corrected(
    signal: NDArray[np.float64], sfreq_hz: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    from scipy.signal import welch

    nper = round(WELCH_SEGMENT_S * sfreq_hz)
    freqs, psd = welch(
        signal - signal.mean(), fs=sfreq_hz, window="hann", nperseg=nper, noverlap=0
    )
    keep = (freqs >= _SPECTRUM_RANGE_HZ[0]) & (freqs <= _SPECTRUM_RANGE_HZ[1])
    freqs, psd = freqs[keep], psd[keep]
    log_p = 10.0 * np.log10(np.maximum(psd, np.finfo(float).tiny))
    fit_mask = np.zeros(freqs.shape, dtype=bool)
    for lo, hi in APERIODIC_FIT_BANDS_HZ:
        fit_mask |= (freqs >= lo) & (freqs <= hi)
    design = np.column_stack([np.ones(fit_mask.sum()), np.log10(freqs[fit_mask])])
    coef, *_ = np.linalg.lstsq(design, log_p[fit_mask], rcond=None)
    corrected = log_p - (coef[0] + coef[1] * np.log10(freqs))
    return freqs, corrected


def individual_peak_frequency(
    signal: ArrayLike,
    sfreq_hz: float,
    *,
    band_hz: tuple[float, float] = MU_BAND_HZ,
    min_snr_db: float | None = None,
) -> MuPeak:
    """Find the individual mu peak frequency of a resting recording.

    Welch spectrum (Hann, 2 s, no overlap) :footcite:`welch1967`; a straight line
    fitted to ``10 log10 PSD`` against ``log10 f`` over 2-7 and 35-45 Hz is
    subtracted; the largest peak with at least 0.5 dB prominence inside
    ``band_hz`` is the individual peak, and its height is the peak SNR
    :footcite:`zrenner2020`.

    Parameters
    ----------
    signal : array-like of float, shape (n_times,)
        Spatially filtered resting EEG (any unit), at least two 2 s segments.
    sfreq_hz : float, Hz
        Sampling rate, at least 100 Hz.
    band_hz : tuple of float, Hz
        Band searched (default 8-13 Hz).
    min_snr_db : float | None, dB
        Smallest peak SNR accepted. ``None``: the larger of 0 dB (a peak below the
        1/f line is no peak :footcite:`zrenner2020`) and three standard deviations
        of the Welch log-power estimate, ``3 x 4.34 / sqrt(K)`` dB for ``K``
        segments, so that a noise fluctuation is not taken for a mu peak.

    Returns
    -------
    peak : MuPeak
        Peak frequency and SNR.

    Raises
    ------
    ValueError
        If the inputs are out of range.
    SignalQualityError
        If there is no peak in the band, or its SNR is below ``min_snr_db``: the
        signal is too poor to estimate the mu phase.
    """
    from scipy.signal import find_peaks

    check_range(sfreq_hz, "sfreq_hz", 100.0, None, unit="Hz")
    check_band(band_hz, sfreq_hz, "band_hz")
    if min_snr_db is not None:
        check_range(min_snr_db, "min_snr_db", unit="dB")
    x = np.asarray(signal, dtype=float)
    if x.ndim != 1:
        raise ValueError(
            f"Invalid value for 'signal': got shape {x.shape}; allowed: one "
            "channel, shape (n_times,)."
        )
    need = 2 * round(WELCH_SEGMENT_S * sfreq_hz)
    if x.size < need:
        raise ValueError(
            f"Invalid value for 'signal': got {x.size} samples; allowed: at least "
            f"{need} samples (two {WELCH_SEGMENT_S:g} s segments)."
        )
    if not np.all(np.isfinite(x)):
        raise SignalQualityError(
            "Invalid value for 'signal': it contains NaN or infinite samples; no "
            "mu peak can be estimated."
        )
    if float(np.std(x)) == 0.0:
        raise SignalQualityError(
            "Invalid value for 'signal': it is flat (zero variance); no mu peak can "
            "be estimated: check the electrodes."
        )
    freqs, corrected = _aperiodic_corrected(x, float(sfreq_hz))
    locs, _ = find_peaks(corrected, prominence=PEAK_MIN_PROMINENCE_DB)
    lo, hi = float(band_hz[0]), float(band_hz[1])
    in_band = [k for k in locs if lo <= freqs[k] <= hi]
    res = float(freqs[1] - freqs[0])
    if not in_band:
        raise SignalQualityError(
            f"No mu peak in [{lo:g}, {hi:g}] Hz rising {PEAK_MIN_PROMINENCE_DB:g} dB "
            "above the 1/f fit: the signal is too poor to estimate the phase "
            "(Zrenner et al., 2020). No triggers will be issued."
        )
    best = max(in_band, key=lambda k: corrected[k])
    snr = float(corrected[best])
    if min_snr_db is None:
        n_seg = x.size // round(WELCH_SEGMENT_S * sfreq_hz)
        chance = _CHANCE_SDS * 10.0 * math.log10(math.e) / math.sqrt(n_seg)
        min_snr_db = max(MIN_PEAK_SNR_DB, chance)
    if snr < min_snr_db:
        raise SignalQualityError(
            f"Invalid value for 'snr_db': got {snr:.1f} dB at {freqs[best]:g} Hz; "
            f"allowed range is [{min_snr_db:g}, inf) dB: the signal is too poor to "
            "estimate the phase. No triggers will be issued."
        )
    return MuPeak(float(freqs[best]), snr, (lo, hi), res)
