"""Session biomarkers: band power and mu phase statistics of one session.

For later responder prediction each closed-loop session keeps a few numbers
from its own EEG (the spatially filtered signal the trigger saw):

* theta, alpha and beta band power (IFCN bands :footcite:`babiloni2020`), by
  Welch's method with 2 s Hann segments :footcite:`welch1967`, absolute (in the
  signal's unit squared) and relative to the 4-30 Hz total;
* the individual mu peak and its 1/f-corrected SNR :footcite:`zrenner2020`;
* the phase at the triggers: the estimator's phase (circular mean and resultant
  length) and the ground-truth phase from the whole session recording
  (zero-phase band-pass and Hilbert, :func:`~plptms.closedloop.offline_phase`):
  circular mean error, circular SD and share within +/-45 deg of the target.

.. footbibliography::
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..utils import check_range
from ._circular import circular_mean, phase_accuracy, wrap_phase
from ._constants import (
    ALPHA_BAND_HZ,
    BETA_BAND_HZ,
    MIN_BIOMARKER_S,
    MU_BAND_HZ,
    MU_TROUGH_RAD,
    THETA_BAND_HZ,
    WELCH_SEGMENT_S,
)
from ._errors import SignalQualityError

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = ["SessionBiomarkers", "band_power", "session_biomarkers"]


@dataclass(frozen=True, slots=True)
class SessionBiomarkers:
    """Band power and mu phase statistics of one session.

    Attributes
    ----------
    duration_s : float, s
        Length of the analysed EEG.
    sfreq_hz : float, Hz
        Its sampling rate.
    derivation : str
        What was analysed (e.g. ``"C3 Hjorth"``).
    unit : str
        Unit of the signal (power is in this unit squared).
    theta_power, alpha_power, beta_power : float
        Band power, unit squared (4-8, 8-13, 13-30 Hz).
    theta_rel, alpha_rel, beta_rel : float
        Band power over the 4-30 Hz total, in [0, 1].
    mu_peak_hz : float | None, Hz
        Individual mu peak (``None`` if no peak stands above the 1/f fit).
    mu_snr_db : float | None, dB
        Its height above the 1/f fit.
    n_triggers : int
        Pulses fired in the session.
    trigger_rate_per_min : float
        Pulses per minute of EEG.
    target_phase_deg : float, deg
        Target phase (180 = trough).
    estimated_mean_deg : float | None, deg
        Circular mean of the estimator's phase at the triggers.
    estimated_resultant : float | None
        Its resultant length in [0, 1] (1 = every trigger at the same phase).
    true_mean_error_deg : float | None, deg
        Circular mean of (true phase - target) at the triggers.
    true_circular_sd_deg : float | None, deg
        Circular SD of the true phase at the triggers.
    true_within_45 : float | None
        Share of triggers whose true phase is within +/-45 deg of the target.
    """

    duration_s: float
    sfreq_hz: float
    derivation: str
    unit: str
    theta_power: float
    alpha_power: float
    beta_power: float
    theta_rel: float
    alpha_rel: float
    beta_rel: float
    mu_peak_hz: float | None
    mu_snr_db: float | None
    n_triggers: int
    trigger_rate_per_min: float
    target_phase_deg: float
    estimated_mean_deg: float | None = None
    estimated_resultant: float | None = None
    true_mean_error_deg: float | None = None
    true_circular_sd_deg: float | None = None
    true_within_45: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the values as a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SessionBiomarkers:
        """Rebuild from :meth:`to_dict` output.

        Parameters
        ----------
        values : dict
            As written by :meth:`to_dict`.

        Returns
        -------
        biomarkers : SessionBiomarkers
            The same values.
        """
        return cls(**values)


def band_power(
    signal: ArrayLike, sfreq_hz: float, bands_hz: dict[str, tuple[float, float]]
) -> dict[str, float]:
    """Band power by Welch's method (2 s Hann segments, half overlap).

    Parameters
    ----------
    signal : array-like of float, shape (n_times,)
        One channel, at least two segments long.
    sfreq_hz : float, Hz
        Sampling rate.
    bands_hz : dict of str to (float, float), Hz
        Bands, each ``[low, high)``, below Nyquist.

    Returns
    -------
    power : dict of str to float
        Power in each band, signal unit squared: the one-sided PSD summed over
        the band's bins times the bin width (a sine of amplitude ``A`` inside a
        band gives ``A**2 / 2``).

    Raises
    ------
    ValueError
        If the signal is too short or not finite, or a band is invalid.
    """
    from scipy.signal import welch  # type: ignore[import-untyped]

    fs = check_range(sfreq_hz, "sfreq_hz", 1.0, None, low_inclusive=False, unit="Hz")
    x = np.asarray(signal, dtype=float)
    nper = round(WELCH_SEGMENT_S * fs)
    if x.ndim != 1 or x.size < 2 * nper:
        raise ValueError(
            f"Invalid value for 'signal': got shape {x.shape}; allowed: one channel "
            f"of at least {2 * nper} samples (two {WELCH_SEGMENT_S:g} s segments)."
        )
    if not np.isfinite(x).all():
        raise ValueError(
            "Invalid value for 'signal': it contains non-finite samples; allowed: "
            "finite values only."
        )
    freqs, psd = welch(x, fs=fs, window="hann", nperseg=nper, detrend="constant")
    df = float(freqs[1] - freqs[0])
    out: dict[str, float] = {}
    for name, (lo, hi) in bands_hz.items():
        if not 0.0 <= lo < hi <= fs / 2.0:
            raise ValueError(
                f"Invalid value for 'bands_hz[{name!r}]': got ({lo:g}, {hi:g}) Hz; "
                f"allowed: 0 <= low < high <= {fs / 2.0:g} Hz."
            )
        sel = (freqs >= lo) & (freqs < hi)
        out[name] = float(psd[sel].sum() * df)
    return out


def session_biomarkers(
    signal: ArrayLike,
    sfreq_hz: float,
    *,
    trigger_samples: ArrayLike = (),
    estimated_phase_rad: ArrayLike = (),
    target_phase_rad: float = MU_TROUGH_RAD,
    peak_hz: float | None = None,
    derivation: str = "C3 Hjorth",
    unit: str = "V",
) -> SessionBiomarkers:
    """Compute the biomarkers of one session from its filtered EEG.

    Parameters
    ----------
    signal : array-like of float, shape (n_times,)
        The spatially filtered EEG of the whole session (what the trigger saw),
        at least 20 s.
    sfreq_hz : float, Hz
        Sampling rate.
    trigger_samples : array-like of int
        Sample index (into ``signal``) at which each pulse landed.
    estimated_phase_rad : array-like of float, rad
        The estimator's phase at each trigger (same length, or empty).
    target_phase_rad : float, rad
        Target phase (cosine convention: pi = trough).
    peak_hz : float | None, Hz
        Mu peak for the ground-truth band-pass; default: the session's own peak
        (or, without one, the calibration's must be given).
    derivation : str
        What ``signal`` is, for the record.
    unit : str
        Unit of ``signal``.

    Returns
    -------
    biomarkers : SessionBiomarkers
        Band power, mu peak and trigger phase statistics.

    Raises
    ------
    ValueError
        If the signal is shorter than 20 s or not finite, a trigger index is
        outside the signal, or the phase list does not match the triggers.
    """
    from ._offline import offline_phase
    from ._spectral import individual_peak_frequency

    fs = check_range(sfreq_hz, "sfreq_hz", 1.0, None, low_inclusive=False, unit="Hz")
    x = np.asarray(signal, dtype=float)
    if x.ndim != 1 or x.size < MIN_BIOMARKER_S * fs:
        raise ValueError(
            f"Invalid value for 'signal': got {x.size / fs:.1f} s; allowed: one "
            f"channel of at least {MIN_BIOMARKER_S:g} s."
        )
    idx = np.asarray(trigger_samples, dtype=np.intp).ravel()
    if idx.size and (idx.min() < 0 or idx.max() >= x.size):
        raise ValueError(
            f"Invalid value for 'trigger_samples': got indices in [{idx.min()}, "
            f"{idx.max()}]; allowed range is [0, {x.size - 1}]."
        )
    est = np.asarray(estimated_phase_rad, dtype=float).ravel()
    if est.size not in (0, idx.size):
        raise ValueError(
            f"Invalid value for 'estimated_phase_rad': got {est.size} phases for "
            f"{idx.size} triggers; allowed: one per trigger, or none."
        )
    target = check_range(target_phase_rad, "target_phase_rad", unit="rad")
    bands = {"theta": THETA_BAND_HZ, "alpha": ALPHA_BAND_HZ, "beta": BETA_BAND_HZ}
    power = band_power(x, fs, bands)
    total = sum(power.values())
    rel = {k: (v / total if total > 0 else math.nan) for k, v in power.items()}
    mu_hz: float | None = None
    mu_snr: float | None = None
    try:
        peak = individual_peak_frequency(x, fs, band_hz=MU_BAND_HZ)
        mu_hz, mu_snr = float(peak.peak_hz), float(peak.snr_db)
    except SignalQualityError:
        pass
    est_mean = est_r = None
    if est.size:
        est_mean = math.degrees(circular_mean(est))
        est_r = float(np.abs(np.mean(np.exp(1j * wrap_phase(est)))))
    err_mean = err_sd = within = None
    band_peak = peak_hz if peak_hz is not None else mu_hz
    if idx.size and band_peak is not None:
        truth = offline_phase(x, fs, band_peak).phase_rad[idx]
        acc = phase_accuracy(truth, target)
        err_mean = acc.mean_error_deg
        err_sd = acc.circular_sd_deg
        within = acc.share_within
    duration = x.size / fs
    return SessionBiomarkers(
        duration_s=duration,
        sfreq_hz=fs,
        derivation=derivation,
        unit=unit,
        theta_power=power["theta"],
        alpha_power=power["alpha"],
        beta_power=power["beta"],
        theta_rel=rel["theta"],
        alpha_rel=rel["alpha"],
        beta_rel=rel["beta"],
        mu_peak_hz=mu_hz,
        mu_snr_db=mu_snr,
        n_triggers=int(idx.size),
        trigger_rate_per_min=idx.size / duration * 60.0,
        target_phase_deg=math.degrees(target),
        estimated_mean_deg=est_mean,
        estimated_resultant=est_r,
        true_mean_error_deg=err_mean,
        true_circular_sd_deg=err_sd,
        true_within_45=within,
    )
