"""Offline ground-truth phase from the whole recording.

Zero-phase band-pass plus Hilbert transform of the full recording, as the
reference against which real-time estimates are scored. Because the "true" phase
depends on the filter, :footcite:t:`zrenner2020` average over a set of equivalent
filters and report their spread; this module does the same with the FIR
(window method, 2-5 cycles long) and Butterworth (orders 4, 8, 12) filters of
phastimate's ``main_script.m``, all with cut-offs at the peak -/+ 1 Hz.

.. footbibliography::
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..utils import check_range
from ._constants import AR_PASSBAND_HALF_WIDTH_HZ
from ._spectral import bandpass_fir

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = ["OfflinePhase", "offline_phase"]

_FIR_CYCLES = (2, 3, 4, 5)
_BUTTER_ORDERS = (4, 8, 12)


@dataclass(frozen=True, slots=True)
class OfflinePhase:
    """Ground-truth phase and amplitude of a whole recording.

    Attributes
    ----------
    phase_rad : ndarray of float, rad
        Circular mean phase across the equivalent filters, cosine convention.
    amplitude : ndarray of float
        Mean envelope across the filters, input unit.
    spread_rad : ndarray of float, rad
        Circular SD of the phase across the filters: how well defined the "true"
        phase is at each sample :footcite:`zrenner2020`.
    """

    phase_rad: NDArray[np.float64]
    amplitude: NDArray[np.float64]
    spread_rad: NDArray[np.float64]


def offline_phase(
    signal: ArrayLike,
    sfreq_hz: float,
    peak_hz: float,
    *,
    half_width_hz: float = AR_PASSBAND_HALF_WIDTH_HZ,
) -> OfflinePhase:
    """Ground-truth phase by zero-phase band-pass and Hilbert transform.

    Parameters
    ----------
    signal : array-like of float, shape (n_times,)
        Whole spatially filtered recording (any unit), longer than the longest
        filter (about six cycles of ``peak_hz``).
    sfreq_hz : float, Hz
        Sampling rate.
    peak_hz : float, Hz
        Individual peak frequency; cut-offs at ``peak_hz -/+ half_width_hz``.
    half_width_hz : float, Hz
        Half-width of the pass-band (1 Hz :footcite:`zrenner2020`).

    Returns
    -------
    truth : OfflinePhase
        Mean phase, amplitude and spread across the equivalent filters.

    Raises
    ------
    ValueError
        If a parameter is out of range or the signal is too short.
    """
    from scipy.signal import (  # type: ignore[import-untyped]
        butter,
        filtfilt,
        hilbert,
        sosfiltfilt,
    )

    check_range(sfreq_hz, "sfreq_hz", 100.0, None, unit="Hz")
    check_range(peak_hz, "peak_hz", 1.0, sfreq_hz / 4.0, unit="Hz")
    check_range(
        half_width_hz,
        "half_width_hz",
        0.0,
        peak_hz,
        low_inclusive=False,
        high_inclusive=False,
        unit="Hz",
    )
    x = np.asarray(signal, dtype=float)
    if x.ndim != 1:
        raise ValueError(
            f"Invalid value for 'signal': got shape {x.shape}; allowed: one "
            "channel, shape (n_times,)."
        )
    band = (peak_hz - half_width_hz, peak_hz + half_width_hz)
    longest = round(max(_FIR_CYCLES) * sfreq_hz / peak_hz)
    if x.size <= 3 * longest + 1:
        raise ValueError(
            f"Invalid value for 'signal': got {x.size} samples; allowed: more than "
            f"{3 * longest + 1} samples for the longest equivalent filter."
        )
    x = x - x.mean()
    analytic: list[NDArray[np.complex128]] = []
    for cycles in _FIR_CYCLES:
        taps = bandpass_fir(sfreq_hz, band, round(cycles * sfreq_hz / peak_hz))
        analytic.append(np.asarray(hilbert(filtfilt(taps, [1.0], x)), dtype=complex))
    for order in _BUTTER_ORDERS:
        # designfilt's bandpass 'FilterOrder' is the total order: N/2 per edge
        sos = butter(order // 2, band, btype="bandpass", fs=sfreq_hz, output="sos")
        analytic.append(np.asarray(hilbert(sosfiltfilt(sos, x)), dtype=complex))
    stack = np.vstack(analytic)
    amp = np.abs(stack)
    unit = stack / np.where(amp > 0, amp, 1.0)
    mean_vec = unit.mean(axis=0)
    r = np.clip(np.abs(mean_vec), 1e-300, 1.0)
    spread = np.sqrt(-2.0 * np.log(r))
    return OfflinePhase(
        phase_rad=np.asarray(np.angle(mean_vec), dtype=float),
        amplitude=np.asarray(amp.mean(axis=0), dtype=float),
        spread_rad=np.asarray(spread, dtype=float),
    )
