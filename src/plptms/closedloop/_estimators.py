"""Real-time phase estimators working on a sliding window of one channel.

Two published methods are implemented, each with the parameters of the authors'
code:

* :class:`ARPhaseEstimator`: autoregressive forward prediction ("phastimate")
  :footcite:`zrenner2018,zrenner2020`. The window is demeaned, band-passed with a
  zero-phase FIR filter around the individual peak, its distorted ends are
  trimmed, a Yule-Walker AR model is fitted to what remains and run forward past
  the trimmed edge to "now" (plus a latency horizon), and the phase is the angle of
  the analytic signal of a Hilbert window centred on that time.
* :class:`ETPPhaseEstimator`: educated temporal prediction :footcite:`shirinpour2020`.
  The typical cycle length is learned from a resting recording (:func:`fit_etp`);
  online, the last positive peak of the band-passed window (ignoring the distorted
  end) is found and the phase advances linearly from it at the learned period,
  shifted by a bias learned on held-out resting data.

Both take samples through :meth:`update` and answer :meth:`estimate_now` with a
:class:`PhaseEstimate` ``(phase_rad, amplitude, confidence)``. Phases are in
radians, cosine convention: 0 is the positive peak and pi the trough of the
band-passed signal. Amplitudes are in the unit of the input.

.. footbibliography::
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple, Protocol, runtime_checkable

import numpy as np

from ..utils import check_range
from ._constants import (
    AR_EDGE_S,
    AR_FILTER_ORDER,
    AR_ORDER,
    AR_PASSBAND_HALF_WIDTH_HZ,
    AR_WINDOW_S,
    ETP_EDGE_CYCLES,
    ETP_MAX_IPI_S,
    ETP_PEAK_MARGIN_ONLINE_HZ,
    ETP_PEAK_MARGIN_TRAIN_HZ,
    ETP_VALIDATION_STEP_S,
    ETP_VALIDATION_TRIALS,
    ETP_WINDOW_S,
    HILBERT_WINDOW_S,
    MU_BAND_HZ,
    MU_TROUGH_RAD,
    SFREQ_HZ,
)
from ._errors import SignalQualityError
from ._spectral import bandpass_fir, check_band

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "ARPhaseEstimator",
    "ETPModel",
    "ETPPhaseEstimator",
    "PhaseEstimate",
    "PhaseEstimator",
    "fit_etp",
]

_TWO_PI = 2.0 * math.pi
_NAN_ESTIMATE_REASON = "window not full"


class PhaseEstimate(NamedTuple):
    """One phase estimate.

    Attributes
    ----------
    phase_rad : float, rad
        Phase at "now" plus the estimator's horizon, in ``[-pi, pi)``, cosine
        convention (0 = positive peak, pi = trough).
    amplitude : float
        Envelope of the band-passed signal, in the input's unit.
    confidence : float
        Share of the window's variance inside the estimator's band, in ``[0, 1]``;
        ``0`` when the estimator cannot give a phase.
    """

    phase_rad: float
    amplitude: float
    confidence: float


@runtime_checkable
class PhaseEstimator(Protocol):
    """What the trigger needs from a phase estimator."""

    sfreq_hz: float
    horizon_s: float

    @property
    def ready(self) -> bool:
        """Whether the window is full since the last reset."""
        ...

    @property
    def n_samples(self) -> int:
        """Samples received since construction (a running sample clock)."""
        ...

    def update(self, samples: ArrayLike) -> None:
        """Append new samples (oldest first)."""
        ...

    def estimate_now(self) -> PhaseEstimate:
        """Estimate the phase at the newest sample plus the horizon."""
        ...

    def reset(self) -> None:
        """Forget the window (after a gap in the stream)."""
        ...


class _Window:
    """Fixed-length sliding window with a running sample counter."""

    __slots__ = ("buf", "count", "total")

    def __init__(self, n: int) -> None:
        self.buf = np.zeros(n, dtype=float)
        self.count = 0
        self.total = 0

    def push(self, samples: ArrayLike) -> None:
        x = np.asarray(samples, dtype=float).ravel()
        n = x.size
        if n == 0:
            return
        w = self.buf.size
        if n >= w:
            self.buf[:] = x[-w:]
        else:
            self.buf[:-n] = self.buf[n:]
            self.buf[-n:] = x
        self.count += n
        self.total += n

    @property
    def full(self) -> bool:
        return self.count >= self.buf.size

    def reset(self) -> None:
        self.count = 0


def _check_common(sfreq_hz: float, horizon_s: float) -> None:
    check_range(sfreq_hz, "sfreq_hz", 100.0, 20000.0, unit="Hz")
    check_range(horizon_s, "horizon_s", 0.0, 0.1, unit="s")


def _odd_ext(x: NDArray[np.float64], n: int) -> NDArray[np.float64]:
    left = 2.0 * x[0] - x[n:0:-1]
    right = 2.0 * x[-1] - x[-2 : -n - 2 : -1]
    return np.concatenate((left, x, right))


class _ZeroPhaseFIR:
    """``filtfilt`` of a fixed FIR for a fixed input length, by one FFT product.

    Same result as MATLAB's and SciPy's ``filtfilt`` (odd reflection of
    ``3 (ntaps - 1)`` samples, capped at ``n - 1``): when the reflection is at least
    ``ntaps - 1`` long, the initial-condition transients of the two passes stay in
    the padding, and the two passes equal one convolution with the zero-phase
    kernel ``taps * reversed(taps)``, done here with a precomputed FFT.
    """

    __slots__ = ("kernel_fft", "n", "n_fft", "offset", "pad")

    def __init__(self, taps: NDArray[np.float64], n: int) -> None:
        self.n = n
        self.pad = min(3 * (taps.size - 1), n - 1)
        kernel = np.convolve(taps, taps[::-1])
        n_ext = n + 2 * self.pad
        n_fft = 1
        while n_fft < n_ext + kernel.size - 1:
            n_fft *= 2
        self.n_fft = n_fft
        self.kernel_fft = np.fft.rfft(kernel, n_fft)
        self.offset = taps.size - 1 + self.pad

    def __call__(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        ext = _odd_ext(x, self.pad)
        y = np.fft.irfft(np.fft.rfft(ext, self.n_fft) * self.kernel_fft, self.n_fft)
        return np.asarray(y[self.offset : self.offset + self.n], dtype=float)


def _ar_initial_state(
    den: NDArray[np.float64], past: NDArray[np.float64]
) -> NDArray[np.float64]:
    """``lfiltic([1], den, past)`` for an all-pole filter, vectorised.

    ``past[0]`` is the most recent output. In SciPy's transposed direct form the
    state is ``zi[k] = -sum_i den[k + 1 + i] past[i]``.
    """
    a = den[1:]
    p = a.size
    full = np.correlate(a, past[:p], mode="full")
    return np.asarray(-full[p - 1 :], dtype=float)


def _analytic(x: NDArray[np.float64]) -> NDArray[np.complex128]:
    """Analytic signal by the FFT method (as ``scipy.signal.hilbert``)."""
    n = x.size
    spec = np.fft.fft(x)
    h = np.zeros(n)
    if n % 2 == 0:
        h[0] = h[n // 2] = 1.0
        h[1 : n // 2] = 2.0
    else:
        h[0] = 1.0
        h[1 : (n + 1) // 2] = 2.0
    return np.asarray(np.fft.ifft(spec * h), dtype=complex)


class ARPhaseEstimator:
    """Autoregressive forward prediction of the band-passed signal (phastimate).

    Parameters
    ----------
    sfreq_hz : float, Hz
        Sampling rate of the input (1 kHz in the published systems
        :footcite:`zrenner2018`).
    peak_hz : float, Hz
        Individual mu peak frequency (see
        :func:`~plptms.closedloop.individual_peak_frequency`); the band-pass is
        ``peak_hz -/+ passband_half_width_hz``.
    window_s : float, s
        Sliding window, 500 ms :footcite:`zrenner2018` (searched 400-750 ms
        :footcite:`zrenner2020`).
    edge_s : float, s
        Trimmed at each end of the filtered window, 64 ms (searched 30-120 ms
        :footcite:`zrenner2020`; 32 samples at 500 Hz :footcite:`shirinpour2020`).
    ar_order : int | None
        Yule-Walker model order, 30 at 1 kHz
        :footcite:`zrenner2018,shirinpour2020`. ``None``: the same 30 ms of
        history at ``sfreq_hz`` (at least 4), so that a slower stream (e.g. a
        160 Hz recording) keeps the published time scales.
    filter_order : int | None
        FIR order by the window method, 192 at 1 kHz (searched 100-250
        :footcite:`zrenner2020`; 128 at 500 Hz in :footcite:`shirinpour2020`).
        ``None``: the same 192 ms at ``sfreq_hz`` (at least 8).
    passband_half_width_hz : float, Hz
        Half-width of the pass-band around the peak, 1 Hz :footcite:`zrenner2020`.
    hilbert_window_s : float, s
        Hilbert window centred on the estimated time, 128 ms
        :footcite:`zrenner2020`.
    horizon_s : float, s
        Latency compensation: the phase is estimated this long after the newest
        sample (the loop's measured delay from sample to pulse), in [0, 0.1] s.

    Raises
    ------
    ValueError
        If a parameter is out of range or the window is too short for the edges,
        the AR order and the prediction.

    Notes
    -----
    Per decision: one zero-phase FIR (two ``lfilter`` passes over the padded
    window), the autocorrelation up to lag ``ar_order`` by FFT, a Levinson solve
    (:func:`scipy.linalg.solve_toeplitz`), the forward prediction as the
    zero-input response of the all-pole filter (``lfilter`` with initial
    conditions), and one FFT Hilbert transform of the Hilbert window.

    .. footbibliography::
    """

    def __init__(
        self,
        sfreq_hz: float = SFREQ_HZ,
        peak_hz: float = 10.0,
        *,
        window_s: float = AR_WINDOW_S,
        edge_s: float = AR_EDGE_S,
        ar_order: int | None = None,
        filter_order: int | None = None,
        passband_half_width_hz: float = AR_PASSBAND_HALF_WIDTH_HZ,
        hilbert_window_s: float = HILBERT_WINDOW_S,
        horizon_s: float = 0.0,
    ) -> None:
        _check_common(sfreq_hz, horizon_s)
        check_range(peak_hz, "peak_hz", 1.0, sfreq_hz / 4.0, unit="Hz")
        check_range(window_s, "window_s", 0.1, 5.0, unit="s")
        check_range(edge_s, "edge_s", 0.0, window_s / 4.0, unit="s")
        scale = float(sfreq_hz) / SFREQ_HZ
        if ar_order is None:
            ar_order = max(4, round(AR_ORDER * scale))
        if filter_order is None:
            filter_order = max(8, round(AR_FILTER_ORDER * scale))
        check_range(ar_order, "ar_order", 2, 200)
        check_range(filter_order, "filter_order", 2, 2000)
        check_range(
            passband_half_width_hz,
            "passband_half_width_hz",
            0.0,
            peak_hz,
            low_inclusive=False,
            high_inclusive=False,
            unit="Hz",
        )
        check_range(hilbert_window_s, "hilbert_window_s", 0.016, window_s, unit="s")
        self.sfreq_hz = float(sfreq_hz)
        self.peak_hz = float(peak_hz)
        self.horizon_s = float(horizon_s)
        self.n_window = round(window_s * sfreq_hz)
        self.n_edge = round(edge_s * sfreq_hz)
        self.ar_order = int(ar_order)
        self.n_hilbert = max(8, round(hilbert_window_s * sfreq_hz))
        self.n_horizon = round(horizon_s * sfreq_hz)
        n_fit = self.n_window - 2 * self.n_edge
        if n_fit < 3 * self.ar_order:
            raise ValueError(
                f"Invalid value for 'window_s': got {window_s!r}; the window minus "
                f"two edges leaves {n_fit} samples, fewer than 3 x ar_order = "
                f"{3 * self.ar_order}."
            )
        # predict past the trimmed edge to now + horizon, then half a Hilbert window
        self.n_predict = self.n_edge + self.n_horizon + self.n_hilbert // 2
        self.band_hz = (
            self.peak_hz - passband_half_width_hz,
            self.peak_hz + passband_half_width_hz,
        )
        taps = bandpass_fir(self.sfreq_hz, self.band_hz, int(filter_order))
        self._filter = _ZeroPhaseFIR(taps, self.n_window)
        self._win = _Window(self.n_window)
        n_fft = 1
        while n_fft < 2 * n_fit:
            n_fft *= 2
        self._n_fft = n_fft
        from scipy.linalg import solve_toeplitz  # type: ignore[import-untyped]
        from scipy.signal import lfilter  # type: ignore[import-untyped]

        self._solve_toeplitz = solve_toeplitz
        self._lfilter = lfilter
        self._zeros = np.zeros(self.n_predict)

    @property
    def ready(self) -> bool:
        """Whether the window is full since the last reset."""
        return self._win.full

    @property
    def n_samples(self) -> int:
        """Samples received since construction."""
        return self._win.total

    def update(self, samples: ArrayLike) -> None:
        """Append new samples, oldest first.

        Parameters
        ----------
        samples : array-like of float, shape (n,)
            New samples of the spatially filtered signal.
        """
        self._win.push(samples)

    def reset(self) -> None:
        """Forget the window; :attr:`ready` is ``False`` until it is full again."""
        self._win.reset()

    def predict(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Return the filtered, trimmed window and its forward prediction.

        Returns
        -------
        fitted : ndarray of float
            The band-passed window without its edges (ends ``edge_s`` before now).
        predicted : ndarray of float
            The AR continuation: ``edge_s + horizon_s`` plus half a Hilbert window.

        Raises
        ------
        RuntimeError
            If the window is not full.
        """
        if not self._win.full:
            raise RuntimeError(
                f"The window is not full ({self._win.count} of {self.n_window} "
                "samples): no phase can be estimated yet."
            )
        x = self._win.buf - self._win.buf.mean()
        y = self._filter(x)
        z = y[self.n_edge : self.n_window - self.n_edge]
        p = self.ar_order
        spec = np.fft.rfft(z, self._n_fft)
        r = np.fft.irfft(spec.real**2 + spec.imag**2, self._n_fft)[: p + 1] / z.size
        if r[0] <= 0.0:
            return z, np.zeros(self.n_predict)
        coef = self._solve_toeplitz(r[:p], r[1 : p + 1])
        den = np.concatenate(([1.0], -coef))
        zi = _ar_initial_state(den, z[: -p - 1 : -1])
        pred, _ = self._lfilter([1.0], den, self._zeros, zi=zi)
        return z, np.asarray(pred, dtype=float)

    def estimate_now(self) -> PhaseEstimate:
        """Estimate the phase at the newest sample plus :attr:`horizon_s`.

        Returns
        -------
        estimate : PhaseEstimate
            Phase (rad), amplitude (mean envelope over the Hilbert window, input
            unit) and confidence (share of the trimmed window's variance in the
            band); ``(nan, nan, 0)`` while the window is not full.
        """
        if not self._win.full:
            return PhaseEstimate(math.nan, math.nan, 0.0)
        z, pred = self.predict()
        series = np.concatenate((z, pred))[-self.n_hilbert :]
        analytic = _analytic(series)
        at = self.n_hilbert - self.n_hilbert // 2 - 1
        phase = float(np.angle(analytic[at]))
        amplitude = float(np.mean(np.abs(analytic)))
        raw = self._win.buf[self.n_edge : self.n_window - self.n_edge]
        var_raw = float(np.var(raw))
        conf = 0.0 if var_raw <= 0.0 else min(1.0, float(np.var(z)) / var_raw)
        if not math.isfinite(phase):
            return PhaseEstimate(math.nan, math.nan, 0.0)
        return PhaseEstimate(phase, amplitude, conf)

    def __repr__(self) -> str:
        return (
            f"ARPhaseEstimator(sfreq_hz={self.sfreq_hz:g}, peak_hz={self.peak_hz:g}, "
            f"window={self.n_window}, edge={self.n_edge}, order={self.ar_order}, "
            f"horizon={self.n_horizon} samples)"
        )


# --------------------------------------------------------------------- ETP


@dataclass(frozen=True, slots=True)
class ETPModel:
    """What educated temporal prediction learns from a resting recording.

    Attributes
    ----------
    sfreq_hz : float, Hz
        Sampling rate of the training data.
    band_hz : tuple of float, Hz
        Band of the rhythm (8-13 Hz :footcite:`shirinpour2020`).
    period_s : float, s
        Typical cycle length: geometric mean of the inter-peak intervals not longer
        than ``1/6.7`` s in the training half :footcite:`shirinpour2020`.
    bias_s : float, s
        Shift that makes the mean phase error at the target zero on the validation
        half (Shirinpour et al.'s bias correction).
    target_phase_rad : float, rad
        Phase the bias was learned for.
    n_intervals : int
        Inter-peak intervals used for :attr:`period_s`.
    n_validation : int
        Validation predictions used for :attr:`bias_s`.
    validation_sd_deg : float, deg
        Circular SD of the true phase at the validation predictions.

    Notes
    -----
    .. footbibliography::
    """

    sfreq_hz: float
    band_hz: tuple[float, float]
    period_s: float
    bias_s: float
    target_phase_rad: float
    n_intervals: int
    n_validation: int
    validation_sd_deg: float


def _local_peaks(x: NDArray[np.float64], distance: int) -> NDArray[np.intp]:
    from scipy.signal import find_peaks

    locs, _ = find_peaks(x, distance=max(1, distance))
    return np.asarray(locs, dtype=np.intp)


def _brickwall_analytic(
    x: NDArray[np.float64], sfreq_hz: float, band_hz: tuple[float, float]
) -> NDArray[np.complex128]:
    """Analytic signal of ``x`` band-limited by zeroing FFT bins outside the band.

    FieldTrip's ``'brickwall'`` one-pass filter used online by
    :footcite:`shirinpour2020`; the real part is the band-passed signal.
    """
    n = x.size
    freqs = np.fft.fftfreq(n, d=1.0 / sfreq_hz)
    spec = np.fft.fft(x - x.mean())
    keep = (freqs >= band_hz[0]) & (freqs <= band_hz[1])
    h = np.where(keep, 2.0, 0.0)
    return np.asarray(np.fft.ifft(spec * h), dtype=complex)


def _training_filter(
    x: NDArray[np.float64], sfreq_hz: float, band_hz: tuple[float, float]
) -> NDArray[np.float64]:
    """Two-pass FIR band-pass of the whole recording (FieldTrip's default order)."""
    from scipy.signal import filtfilt

    order = 3 * math.floor(sfreq_hz / band_hz[0])
    taps = bandpass_fir(sfreq_hz, band_hz, order)
    return np.asarray(filtfilt(taps, [1.0], x - x.mean()), dtype=float)


def _etp_online_peak(
    window: NDArray[np.float64],
    sfreq_hz: float,
    band_hz: tuple[float, float],
    n_edge: int,
    distance: int,
) -> tuple[int | None, NDArray[np.complex128]]:
    """Index of the last peak before the edge, and the window's analytic signal."""
    analytic = _brickwall_analytic(window, sfreq_hz, band_hz)
    filt = analytic.real
    locs = _local_peaks(filt[: window.size - n_edge], distance)
    return (int(locs[-1]) if locs.size else None), analytic


def fit_etp(
    baseline: ArrayLike,
    sfreq_hz: float = SFREQ_HZ,
    *,
    band_hz: tuple[float, float] = MU_BAND_HZ,
    target_phase_rad: float = MU_TROUGH_RAD,
    training_share: float = 0.5,
    window_s: float = ETP_WINDOW_S,
    horizon_s: float = 0.0,
    tolerance_rad: float = 0.3,
) -> ETPModel:
    """Learn the typical cycle and the bias of educated temporal prediction.

    Following :footcite:t:`shirinpour2020`: the resting recording is band-passed
    (two-pass FIR); on the first ``training_share`` of it, positive peaks at least
    ``fs/(f_high + 3 Hz)`` apart are found, inter-peak intervals longer than
    ``1/6.7`` s are dropped, and the typical cycle is their geometric mean. On the
    rest, from up to 255 starts 350 ms apart, the online procedure is run sample
    by sample until the predicted phase crosses the target (the decision rule of
    :class:`~plptms.closedloop.PhaseTrigger`), and the true phase (offline Hilbert
    of the whole recording) at that time is read; the bias is the shift that brings
    the circular mean error to zero. The authors instead predict the next target
    time once per window and step the bias by one sample; scoring the rule that
    actually fires removes a 15-20 deg late bias we measured with their scheme.

    Parameters
    ----------
    baseline : array-like of float, shape (n_times,)
        Spatially filtered resting EEG, ideally 180 s :footcite:`shirinpour2020`
        and at least 20 s.
    sfreq_hz : float, Hz
        Sampling rate.
    band_hz : tuple of float, Hz
        Band of the rhythm (default 8-13 Hz).
    target_phase_rad : float, rad
        Target phase the bias is learned for (default pi, the trough).
    training_share : float
        Share of the recording used to learn the period, in [0.2, 0.8].
    window_s : float, s
        Online window, 500 ms :footcite:`shirinpour2020`.
    horizon_s : float, s
        Latency compensation used online, in [0, 0.1] s.
    tolerance_rad : float, rad
        The trigger's phase tolerance (see
        :class:`~plptms.closedloop.TriggerPolicy`), in (0, pi/2].

    Returns
    -------
    model : ETPModel
        The learned period and bias.

    Raises
    ------
    ValueError
        If a parameter is out of range or the recording is too short.
    SignalQualityError
        If too few inter-peak intervals fall in the band to learn a period.

    Notes
    -----
    .. footbibliography::
    """
    _check_common(sfreq_hz, horizon_s)
    check_band(band_hz, sfreq_hz, "band_hz")
    check_range(target_phase_rad, "target_phase_rad", -_TWO_PI, _TWO_PI, unit="rad")
    check_range(training_share, "training_share", 0.2, 0.8)
    check_range(window_s, "window_s", 0.2, 5.0, unit="s")
    check_range(
        tolerance_rad,
        "tolerance_rad",
        0.0,
        math.pi / 2,
        low_inclusive=False,
        unit="rad",
    )
    x = np.asarray(baseline, dtype=float)
    if x.ndim != 1:
        raise ValueError(
            f"Invalid value for 'baseline': got shape {x.shape}; allowed: one "
            "channel, shape (n_times,)."
        )
    if x.size < 20.0 * sfreq_hz:
        raise ValueError(
            f"Invalid value for 'baseline': got {x.size / sfreq_hz:.1f} s; allowed: "
            "at least 20 s of resting EEG (180 s recommended)."
        )
    if not np.all(np.isfinite(x)) or float(np.std(x)) == 0.0:
        raise SignalQualityError(
            "Invalid value for 'baseline': it is flat or contains NaN/inf; no "
            "period can be learned."
        )
    band = (float(band_hz[0]), float(band_hz[1]))
    fs = float(sfreq_hz)
    filt = _training_filter(x, fs, band)
    true_phase = np.angle(_analytic(filt))
    n_train = int(training_share * x.size)
    locs = _local_peaks(
        filt[:n_train], round(fs / (band[1] + ETP_PEAK_MARGIN_TRAIN_HZ))
    )
    ipi = np.diff(locs)
    ipi = ipi[ipi <= round(fs * ETP_MAX_IPI_S)]
    if ipi.size < 10:
        raise SignalQualityError(
            f"Only {ipi.size} inter-peak intervals in the band {band[0]:g}-"
            f"{band[1]:g} Hz in the training data; at least 10 are needed to learn "
            "the period. The signal is too poor for educated temporal prediction."
        )
    period = float(np.exp(np.mean(np.log(ipi))))  # samples
    n_win = round(window_s * fs)
    n_edge = round(fs * ETP_EDGE_CYCLES / (0.5 * (band[0] + band[1])))
    distance = round(fs / (band[1] + ETP_PEAK_MARGIN_ONLINE_HZ))
    n_horizon = round(horizon_s * fs)
    step = round(ETP_VALIDATION_STEP_S * fs)
    n_look = math.ceil(1.2 * period)
    starts = np.arange(
        max(n_train, n_win), x.size - n_look - n_horizon - 1, step, dtype=np.intp
    )[:ETP_VALIDATION_TRIALS]
    # age of the last detected peak at every sample after each start (bias-free)
    ages = np.full((starts.size, n_look), np.nan)
    for i, s0 in enumerate(starts):
        for j in range(n_look):
            t = int(s0) + j
            peak, _ = _etp_online_peak(
                x[t + 1 - n_win : t + 1], fs, band, n_edge, distance
            )
            if peak is not None:
                ages[i, j] = float(n_win - 1 - peak)
    target = float(target_phase_rad)
    bias = 0.0
    errors = np.zeros(0)
    for _ in range(3):
        fire = _first_crossings(ages, period, bias, target, n_horizon, tolerance_rad)
        ok = fire >= 0
        if int(ok.sum()) < 10:
            raise SignalQualityError(
                f"Only {int(ok.sum())} validation predictions reached the target "
                "phase; at least 10 are needed to learn the bias of educated temporal "
                "prediction."
            )
        when = starts[ok] + fire[ok] + n_horizon
        errors = np.angle(np.exp(1j * (true_phase[when] - target)))
        mean_err = float(np.angle(np.mean(np.exp(1j * errors))))
        # true phase past the target: we fired late, so shift the prediction earlier
        bias -= mean_err / _TWO_PI * period
    r = float(np.abs(np.mean(np.exp(1j * errors))))
    sd = math.degrees(math.sqrt(-2.0 * math.log(r))) if r > 0 else math.inf
    return ETPModel(
        sfreq_hz=fs,
        band_hz=band,
        period_s=period / fs,
        bias_s=bias / fs,
        target_phase_rad=target,
        n_intervals=int(ipi.size),
        n_validation=int(errors.size),
        validation_sd_deg=sd,
    )


def _first_crossings(
    ages: NDArray[np.float64],
    period: float,
    bias: float,
    target: float,
    n_horizon: int,
    tolerance: float,
) -> NDArray[np.intp]:
    """First sample of each row at which the ETP phase crosses the target.

    Same rule as :class:`~plptms.closedloop.PhaseTrigger`: the wrapped error goes
    from negative to non-negative, by less than pi, and ends within ``tolerance``.
    Returns -1 where no crossing happens.
    """
    phase = _TWO_PI * (ages + n_horizon - bias) / period
    err = (phase - target + math.pi) % _TWO_PI - math.pi
    prev, cur = err[:, :-1], err[:, 1:]
    hit = (prev < 0.0) & (cur >= 0.0) & (cur - prev < math.pi) & (cur <= tolerance)
    hit &= np.isfinite(prev) & np.isfinite(cur)
    first = np.where(hit.any(axis=1), hit.argmax(axis=1) + 1, -1)
    return np.asarray(first, dtype=np.intp)


class ETPPhaseEstimator:
    """Educated temporal prediction :footcite:`shirinpour2020`.

    Parameters
    ----------
    model : ETPModel
        Period and bias learned by :func:`fit_etp`.
    window_s : float, s
        Online window, 500 ms :footcite:`shirinpour2020`.
    horizon_s : float, s
        Latency compensation, in [0, 0.1] s; should match the ``horizon_s`` given
        to :func:`fit_etp`.

    Raises
    ------
    ValueError
        If a parameter is out of range.

    Notes
    -----
    The phase at ``t`` is ``2 pi (t - t_peak - bias) / period`` with ``t_peak`` the
    last positive peak of the band-passed window at least ``1/(3 f_centre)``
    before its end; peaks closer than ``fs/(f_high + 1 Hz)`` are merged, as in the
    authors' code. The confidence is the share of the window's variance in the band,
    set to 0 when no peak is found or the last one is more than two periods old.

    .. footbibliography::
    """

    def __init__(
        self,
        model: ETPModel,
        *,
        window_s: float = ETP_WINDOW_S,
        horizon_s: float = 0.0,
    ) -> None:
        _check_common(model.sfreq_hz, horizon_s)
        check_range(window_s, "window_s", 0.2, 5.0, unit="s")
        self.model = model
        self.sfreq_hz = model.sfreq_hz
        self.horizon_s = float(horizon_s)
        fs = model.sfreq_hz
        self.n_window = round(window_s * fs)
        centre = 0.5 * (model.band_hz[0] + model.band_hz[1])
        self.n_edge = round(fs * ETP_EDGE_CYCLES / centre)
        self.distance = round(fs / (model.band_hz[1] + ETP_PEAK_MARGIN_ONLINE_HZ))
        self.n_horizon = round(horizon_s * fs)
        self.period = model.period_s * fs
        self.bias = model.bias_s * fs
        self._win = _Window(self.n_window)

    @property
    def ready(self) -> bool:
        """Whether the window is full since the last reset."""
        return self._win.full

    @property
    def n_samples(self) -> int:
        """Samples received since construction."""
        return self._win.total

    def update(self, samples: ArrayLike) -> None:
        """Append new samples, oldest first.

        Parameters
        ----------
        samples : array-like of float, shape (n,)
            New samples of the spatially filtered signal.
        """
        self._win.push(samples)

    def reset(self) -> None:
        """Forget the window; :attr:`ready` is ``False`` until it is full again."""
        self._win.reset()

    def estimate_now(self) -> PhaseEstimate:
        """Estimate the phase at the newest sample plus :attr:`horizon_s`.

        Returns
        -------
        estimate : PhaseEstimate
            Phase (rad), amplitude (mean envelope away from the window ends, input
            unit) and confidence; ``(nan, nan, 0)`` while the window is not full
            or no peak is found.
        """
        if not self._win.full:
            return PhaseEstimate(math.nan, math.nan, 0.0)
        buf = self._win.buf
        peak, analytic = _etp_online_peak(
            buf, self.sfreq_hz, self.model.band_hz, self.n_edge, self.distance
        )
        inner = slice(self.n_edge, self.n_window - self.n_edge)
        amplitude = float(np.mean(np.abs(analytic[inner])))
        if peak is None:
            return PhaseEstimate(math.nan, amplitude, 0.0)
        age = float(self.n_window - 1 - peak)
        phase = _TWO_PI * (age + self.n_horizon - self.bias) / self.period
        phase = (phase + math.pi) % _TWO_PI - math.pi
        var_raw = float(np.var(buf[inner]))
        var_band = float(np.var(analytic.real[inner]))
        conf = 0.0 if var_raw <= 0.0 else min(1.0, var_band / var_raw)
        if age > 2.0 * self.period:
            conf = 0.0
        return PhaseEstimate(phase, amplitude, conf)

    def __repr__(self) -> str:
        return (
            f"ETPPhaseEstimator(period={self.model.period_s * 1e3:.1f} ms, "
            f"bias={self.model.bias_s * 1e3:.1f} ms, window={self.n_window}, "
            f"edge={self.n_edge}, horizon={self.n_horizon} samples)"
        )
