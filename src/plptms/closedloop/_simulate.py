"""Synthetic multichannel EEG with a known mu phase, from neurodsp.

The generator is NeuroDSP :footcite:`cole2019`: an aperiodic 1/f background
(``sim_powerlaw``; aperiodic exponents as in :footcite:`donoghue2020`) and a
bursty mu rhythm built cycle by cycle (``sim_variable_oscillation`` with
``make_is_osc_prob`` bursts), so that the phase of every sample is known.

Geometry (a simulation choice, not a head model): the mu source lies under the
centre electrode (weight 1) and reaches its four neighbours at ``spread`` (0.3);
a far-field 1/f component and a volume-conducted posterior alpha are common to
all channels (with +/-5 % gain differences); each channel adds its own local 1/f
noise and white sensor noise. A Hjorth derivation therefore removes most of the
shared activity and keeps the mu source, as on a real cap.

.. footbibliography::
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..utils import check_range, soft_import
from ._constants import HJORTH_NEIGHBOURS_C3, HJORTH_NEIGHBOURS_C4, SFREQ_HZ

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["PhaseCase", "SimulatedEEG", "simulate_mu_eeg", "simulate_phase_case"]

_HALF_PI = 0.5 * math.pi


@dataclass(frozen=True, slots=True)
class SimulatedEEG:
    """A simulated recording with its ground truth.

    Attributes
    ----------
    data : ndarray of float, shape (n_times, n_channels), uV
        The EEG.
    ch_names : tuple of str
        Channel names (10-10 system).
    sfreq_hz : float, Hz
        Sampling rate.
    center : str
        Electrode above the mu source.
    true_phase_rad : ndarray of float, shape (n_times,), rad
        Generator phase of the mu source, cosine convention (0 = peak, pi =
        trough), in ``[-pi, pi)``; defined everywhere, meaningful where
        :attr:`mu_envelope` is positive.
    mu_envelope : ndarray of float, shape (n_times,), uV
        Amplitude of the mu source under the centre electrode (0 between bursts).
    peak_hz : float, Hz
        Mean mu frequency.
    snr_db : float, dB
        Requested SNR: mu power over all other power in ``peak_hz -/+ 2 Hz`` on the
        Hjorth derivation, over the whole recording.
    """

    data: NDArray[np.float64]
    ch_names: tuple[str, ...]
    sfreq_hz: float
    center: str
    true_phase_rad: NDArray[np.float64]
    mu_envelope: NDArray[np.float64]
    peak_hz: float
    snr_db: float

    @property
    def n_times(self) -> int:
        """Number of samples."""
        return int(self.data.shape[0])

    def channel(self, name: str) -> NDArray[np.float64]:
        """One channel's samples (uV).

        Parameters
        ----------
        name : str
            Channel name.

        Returns
        -------
        samples : ndarray of float, shape (n_times,), uV
            The channel.

        Raises
        ------
        ValueError
            If there is no such channel.
        """
        if name not in self.ch_names:
            raise ValueError(
                f"Invalid value for 'name': got {name!r}; allowed values are "
                f"{', '.join(repr(c) for c in self.ch_names)}."
            )
        return np.asarray(self.data[:, self.ch_names.index(name)], dtype=float)


def _band_power(x: NDArray[np.float64], sfreq_hz: float, lo: float, hi: float) -> float:
    spec = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(x.size, 1.0 / sfreq_hz)
    sel = (freqs >= lo) & (freqs <= hi)
    return float(np.sum(np.abs(spec[sel]) ** 2))


def _mu_source(
    n: int,
    sfreq_hz: float,
    peak_hz: float,
    freq_sd_hz: float,
    enter_burst: float,
    leave_burst: float,
    rng: np.random.Generator,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Unit-amplitude bursty mu, its envelope and its generator phase."""
    periodic = soft_import(
        "neurodsp.sim.periodic", "simulate mu EEG", package="neurodsp"
    )
    make_is_osc_prob = periodic.make_is_osc_prob
    sim_variable_oscillation = periodic.sim_variable_oscillation

    n_cycles = int(np.ceil(n / (sfreq_hz / (peak_hz + 3.0 * freq_sd_hz + 1.0)))) + 2
    # slowly drifting cycle frequency: AR(1), stationary SD = freq_sd_hz
    rho = 0.9
    drift = np.zeros(n_cycles)
    innov = rng.normal(0.0, freq_sd_hz * math.sqrt(1 - rho**2), n_cycles)
    for k in range(1, n_cycles):
        drift[k] = rho * drift[k - 1] + innov[k]
    freqs = np.clip(peak_hz + drift, peak_hz - 3.0, peak_hz + 3.0)
    wave = np.asarray(sim_variable_oscillation(None, sfreq_hz, freqs), dtype=float)
    lengths = np.ceil(sfreq_hz / freqs).astype(int)
    phase = np.concatenate(
        [2.0 * math.pi * np.arange(m) / m - _HALF_PI for m in lengths]
    )
    on = make_is_osc_prob(n_cycles, enter_burst, leave_burst)
    per_burst = rng.lognormal(0.0, 0.3, n_cycles)
    # one gain per burst, so amplitude varies between bursts, not within one
    starts = np.flatnonzero(np.diff(np.concatenate(([0], on.astype(int)))) == 1)
    gain = np.ones(n_cycles)
    for s in starts:
        e = s
        while e < n_cycles and on[e]:
            e += 1
        gain[s:e] = per_burst[s]
    cyc_env = np.repeat(np.where(on, gain, 0.0), lengths)
    smooth = np.hanning(max(3, round(2.0 * sfreq_hz / peak_hz)))
    env = np.convolve(cyc_env, smooth / smooth.sum(), mode="same")
    m = min(n, wave.size, env.size, phase.size)
    if m < n:  # pragma: no cover - n_cycles is chosen with a margin
        raise RuntimeError("mu source shorter than requested")
    ph = (phase[:n] + math.pi) % (2.0 * math.pi) - math.pi
    return wave[:n], env[:n], ph


def simulate_mu_eeg(
    n_seconds: float,
    sfreq_hz: float = SFREQ_HZ,
    *,
    snr_db: float = 5.0,
    peak_hz: float = 10.0,
    freq_sd_hz: float = 0.5,
    enter_burst: float = 0.2,
    leave_burst: float = 0.1,
    center: str = "C3",
    spread: float = 0.3,
    aperiodic_exponent: float = -1.5,
    seed: int | None = None,
) -> SimulatedEEG:
    """Simulate multichannel EEG around C3/C4 with a bursty mu rhythm of known phase.

    Parameters
    ----------
    n_seconds : float, s
        Duration, in [5, 3600] s.
    sfreq_hz : float, Hz
        Sampling rate, in [250, 5000] Hz.
    snr_db : float, dB
        Mu power over the power of everything else in ``peak_hz -/+ 2 Hz`` on the
        Hjorth derivation of ``center``, in [-20, 30] dB.
    peak_hz : float, Hz
        Mean mu frequency, in [8, 13] Hz.
    freq_sd_hz : float, Hz
        SD of the slow cycle-to-cycle frequency drift, in [0, 2] Hz.
    enter_burst, leave_burst : float
        Per-cycle probabilities of a burst starting and ending (neurodsp's
        ``make_is_osc_prob``), in (0, 1].
    center : str
        ``"C3"`` or ``"C4"``: the electrode above the mu source.
    spread : float
        Share of the source seen by each neighbour of ``center``, in [0, 0.9].
    aperiodic_exponent : float
        Exponent of the background 1/f^chi spectra, in [-3, 0] (EEG: about -1 to
        -2 :footcite:`donoghue2020`).
    seed : int | None
        Seed; the same seed gives the same recording. NumPy's global random state,
        which neurodsp uses, is restored afterwards.

    Returns
    -------
    eeg : SimulatedEEG
        Data in uV and ground truth.

    Raises
    ------
    ValueError
        If a parameter is out of range.
    ImportError
        If neurodsp is not installed.
    """
    check_range(n_seconds, "n_seconds", 5.0, 3600.0, unit="s")
    check_range(sfreq_hz, "sfreq_hz", 250.0, 5000.0, unit="Hz")
    check_range(snr_db, "snr_db", -20.0, 30.0, unit="dB")
    check_range(peak_hz, "peak_hz", 8.0, 13.0, unit="Hz")
    check_range(freq_sd_hz, "freq_sd_hz", 0.0, 2.0, unit="Hz")
    check_range(enter_burst, "enter_burst", 0.0, 1.0, low_inclusive=False)
    check_range(leave_burst, "leave_burst", 0.0, 1.0, low_inclusive=False)
    check_range(spread, "spread", 0.0, 0.9)
    check_range(aperiodic_exponent, "aperiodic_exponent", -3.0, 0.0)
    key = center.strip().upper()
    if key not in ("C3", "C4"):
        raise ValueError(
            f"Invalid value for 'center': got {center!r}; allowed values are 'C3', "
            "'C4'."
        )
    sim_powerlaw = soft_import(
        "neurodsp.sim.aperiodic", "simulate mu EEG", package="neurodsp"
    ).sim_powerlaw

    left = ("C3", *HJORTH_NEIGHBOURS_C3)
    right = ("C4", *HJORTH_NEIGHBOURS_C4)
    ch_names = (*left, "Cz", *right)
    n_ch = len(ch_names)
    fs = float(sfreq_hz)
    n = math.ceil(n_seconds * fs)
    rng = np.random.default_rng(seed)
    # neurodsp draws from NumPy's global generator: seed it, then restore it
    state = np.random.get_state()  # noqa: NPY002
    np.random.seed(int(rng.integers(0, 2**31 - 1)))  # noqa: NPY002
    try:
        wave, env, phase = _mu_source(
            n, fs, peak_hz, freq_sd_hz, enter_burst, leave_burst, rng
        )

        def powerlaw(exponent: float) -> NDArray[np.float64]:
            sig = sim_powerlaw(n / fs, fs, exponent=exponent, f_range=(0.5, None))
            return np.asarray(sig, dtype=float)[:n]

        common = powerlaw(aperiodic_exponent)
        local = np.column_stack([powerlaw(aperiodic_exponent) for _ in range(n_ch)])
    finally:
        np.random.set_state(state)  # noqa: NPY002
    # posterior alpha, volume-conducted to every channel (slightly off the mu peak)
    t = np.arange(n) / fs
    alpha_env = 1.0 + 0.5 * np.sin(2.0 * math.pi * 0.1 * t + rng.uniform(0, 6.28))
    alpha = alpha_env * np.sin(
        2.0 * math.pi * (peak_hz + 0.7) * t + rng.uniform(0, 6.28)
    )
    white = rng.normal(0.0, 1.0, (n, n_ch))
    gains = 1.0 + 0.05 * rng.standard_normal(n_ch)
    idx = {name: k for k, name in enumerate(ch_names)}
    src_w = np.zeros(n_ch)
    cluster = left if key == "C3" else right
    src_w[idx[cluster[0]]] = 1.0
    for name in cluster[1:]:
        src_w[idx[name]] = spread
    # background (uV): common far field 10, local 4, alpha 5, white 0.5
    background = (
        np.outer(10.0 * common + 5.0 * alpha, gains) + 4.0 * local + 0.5 * white
    )
    mu = wave * env
    weights = np.concatenate([[1.0], np.full(4, -0.25)])
    picks = [idx[c] for c in cluster]
    mu_h = mu * float(src_w[picks] @ weights)
    bg_h = background[:, picks] @ weights
    lo, hi = peak_hz - 2.0, peak_hz + 2.0
    p_mu = _band_power(mu_h, fs, lo, hi)
    p_bg = _band_power(bg_h, fs, lo, hi)
    scale = math.sqrt(p_bg / p_mu * 10.0 ** (snr_db / 10.0)) if p_mu > 0 else 0.0
    data = background + np.outer(scale * mu, src_w)
    return SimulatedEEG(
        data=np.ascontiguousarray(data),
        ch_names=ch_names,
        sfreq_hz=fs,
        center=cluster[0],
        true_phase_rad=phase,
        mu_envelope=scale * env,
        peak_hz=float(peak_hz),
        snr_db=float(snr_db),
    )


#: The single-channel cases of :func:`simulate_phase_case`: the settings in which
#: :footcite:t:`wodeyar2021` report the state space estimator ahead of band-pass
#: methods (broadband rhythms, phase resets, co-occurring rhythms), and a plain
#: narrowband control. [wodeyar2021]
PHASE_CASES: tuple[str, ...] = ("narrowband", "broadband", "phase_reset", "competing")


@dataclass(frozen=True, slots=True)
class PhaseCase:
    """A one-channel recording with the true phase of its target rhythm.

    Attributes
    ----------
    case : str
        One of :data:`PHASE_CASES`.
    signal : ndarray of float, shape (n_times,)
        Target rhythm (scaled), competitor (``"competing"``) and 1/f noise.
    true_phase_rad : ndarray of float, shape (n_times,), rad
        Generator phase of the target, cosine convention, in ``[-pi, pi)``.
    rhythm : ndarray of float, shape (n_times,)
        The target alone, as added to :attr:`signal`.
    sfreq_hz, peak_hz : float, Hz
        Sampling rate; centre frequency of the target.
    snr_db : float, dB
        Target power over noise power (1/f noise, not the competitor) within
        ``peak_hz -/+ 2 Hz``.
    bandwidth_hz : float, Hz
        Half-power (full) bandwidth of the target: 0 for a sinusoid.
    reset_samples : ndarray of int
        Samples at which the target's phase jumps (``"phase_reset"``).
    reset_jumps_rad : ndarray of float, rad
        The jump at each reset (added to the phase at that sample).
    competitor_hz : float, Hz
        Frequency of the competing rhythm (``nan`` when none).
    """

    case: str
    signal: NDArray[np.float64]
    true_phase_rad: NDArray[np.float64]
    rhythm: NDArray[np.float64]
    sfreq_hz: float
    peak_hz: float
    snr_db: float
    bandwidth_hz: float
    reset_samples: NDArray[np.intp]
    reset_jumps_rad: NDArray[np.float64]
    competitor_hz: float


def _powerlaw_noise(
    n: int, sfreq_hz: float, exponent: float, rng: np.random.Generator
) -> NDArray[np.float64]:
    """Unit-variance noise with power spectrum ``f^exponent`` (0 at DC)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / sfreq_hz)
    shape = np.zeros_like(freqs)
    shape[1:] = freqs[1:] ** (exponent / 2.0)
    x = np.fft.irfft(spec * shape, n)
    return np.asarray(x / x.std(), dtype=float)


def _damped_oscillator(
    n: int,
    sfreq_hz: float,
    peak_hz: float,
    bandwidth_hz: float,
    rng: np.random.Generator,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``z_t = a e^{i omega} z_{t-1} + e_t``; returns ``Re z`` and ``arg z``.

    The half-power full width of the spectrum near ``peak_hz`` is
    ``(1 - a) fs / (pi sqrt(a))`` (the Lorentzian of a complex AR(1)), solved
    here for ``a``.
    """
    from scipy.signal import lfilter  # type: ignore[import-untyped]

    # (1 - a) / sqrt(a) = c  ->  sqrt(a) = (-c + sqrt(c^2 + 4)) / 2
    c = math.pi * bandwidth_hz / sfreq_hz
    a = ((-c + math.sqrt(c * c + 4.0)) / 2.0) ** 2
    pole = a * complex(
        math.cos(2 * math.pi * peak_hz / sfreq_hz),
        math.sin(2 * math.pi * peak_hz / sfreq_hz),
    )
    e = rng.standard_normal(n) + 1j * rng.standard_normal(n)
    # start at the stationary distribution: a burn-in of 20 time constants
    burn = min(20 * math.ceil(1.0 / (1.0 - a)), 200000)
    e0 = rng.standard_normal(burn) + 1j * rng.standard_normal(burn)
    z0 = lfilter([1.0], [1.0, -pole], e0)
    z, _ = lfilter([1.0], [1.0, -pole], e, zi=np.array([pole * z0[-1]]))
    return np.asarray(z.real, dtype=float), np.asarray(np.angle(z), dtype=float)


def simulate_phase_case(
    case: Literal["narrowband", "broadband", "phase_reset", "competing"],
    n_seconds: float,
    sfreq_hz: float = SFREQ_HZ,
    *,
    snr_db: float = 0.0,
    peak_hz: float = 10.0,
    bandwidth_hz: float = 4.0,
    reset_rate_hz: float = 0.5,
    competitor_offset_hz: float = 2.5,
    competitor_ratio: float = 1.0,
    aperiodic_exponent: float = -1.5,
    seed: int | None = None,
) -> PhaseCase:
    """One channel in which the target's phase is known, for four settings.

    The settings in which :footcite:t:`wodeyar2021` report the state space phase
    estimator ahead of band-pass methods (the parameters below are this
    package's choices; the paper's own were not verified):

    * ``"narrowband"``: a sinusoid at ``peak_hz`` (control);
    * ``"broadband"``: a damped rotating oscillator (the model of
      :footcite:t:`matsuda2017`) whose half-power bandwidth is ``bandwidth_hz``
      (default 4 Hz, twice the +/-1 Hz pass-band of the AR method); true phase
      ``arg z`` of its latent analytic state;
    * ``"phase_reset"``: a sinusoid whose phase jumps at Poisson times (rate
      ``reset_rate_hz``, at least one cycle apart) by a random angle of
      magnitude in [pi/2, pi] and random sign;
    * ``"competing"``: the sinusoid plus a second one ``competitor_offset_hz``
      above, ``competitor_ratio`` times its amplitude.

    Each target has unit amplitude (RMS 1/sqrt(2) for the broadband one) before
    it is scaled to the SNR against 1/f^chi noise.

    Parameters
    ----------
    case : {"narrowband", "broadband", "phase_reset", "competing"}
        The setting.
    n_seconds : float, s
        Duration, in [5, 3600] s.
    sfreq_hz : float, Hz
        Sampling rate, in [250, 5000] Hz.
    snr_db : float, dB
        Target power over noise power in ``peak_hz -/+ 2 Hz``, in [-20, 30] dB.
    peak_hz : float, Hz
        Target frequency, in [4, 30] Hz.
    bandwidth_hz : float, Hz
        Broadband target's half-power width, in [0.1, 10] Hz.
    reset_rate_hz : float, Hz
        Mean rate of phase resets, in (0, 2] Hz.
    competitor_offset_hz : float, Hz
        Competitor above the target, in [1, 10] Hz.
    competitor_ratio : float
        Competitor amplitude over the target's, in [0, 10].
    aperiodic_exponent : float
        Noise spectrum ``f^chi``, in [-3, 0] :footcite:`donoghue2020`.
    seed : int | None
        Seed; the same seed gives the same recording.

    Returns
    -------
    case : PhaseCase
        Signal and ground truth.

    Raises
    ------
    ValueError
        If a parameter is out of range or ``case`` is unknown.

    Notes
    -----
    .. footbibliography::
    """
    if case not in PHASE_CASES:
        raise ValueError(
            f"Invalid value for 'case': got {case!r}; allowed values are "
            f"{', '.join(PHASE_CASES)}."
        )
    check_range(n_seconds, "n_seconds", 5.0, 3600.0, unit="s")
    check_range(sfreq_hz, "sfreq_hz", 250.0, 5000.0, unit="Hz")
    check_range(snr_db, "snr_db", -20.0, 30.0, unit="dB")
    check_range(peak_hz, "peak_hz", 4.0, 30.0, unit="Hz")
    check_range(bandwidth_hz, "bandwidth_hz", 0.1, 10.0, unit="Hz")
    check_range(
        reset_rate_hz, "reset_rate_hz", 0.0, 2.0, low_inclusive=False, unit="Hz"
    )
    check_range(competitor_offset_hz, "competitor_offset_hz", 1.0, 10.0, unit="Hz")
    check_range(competitor_ratio, "competitor_ratio", 0.0, 10.0)
    check_range(aperiodic_exponent, "aperiodic_exponent", -3.0, 0.0)
    fs = float(sfreq_hz)
    n = math.ceil(n_seconds * fs)
    rng = np.random.default_rng(seed)
    omega = 2.0 * math.pi * peak_hz / fs
    resets = np.empty(0, dtype=np.intp)
    jumps = np.empty(0, dtype=float)
    competitor = np.zeros(n)
    comp_hz = math.nan
    width = 0.0
    if case == "broadband":
        rhythm, phase = _damped_oscillator(n, fs, peak_hz, bandwidth_hz, rng)
        width = float(bandwidth_hz)
    else:
        increments = np.full(n, omega)
        increments[0] = rng.uniform(-math.pi, math.pi)
        if case == "phase_reset":
            gaps = rng.exponential(
                fs / reset_rate_hz, size=int(3 * n_seconds * reset_rate_hz) + 10
            )
            gaps = np.maximum(gaps, fs / peak_hz)
            resets = np.cumsum(gaps).astype(np.intp)
            resets = resets[resets < n]
            jumps = rng.uniform(0.5 * math.pi, math.pi, resets.size) * rng.choice(
                [-1.0, 1.0], resets.size
            )
            increments[resets] += jumps
        phase = np.cumsum(increments)
        rhythm = np.cos(phase)
        if case == "competing":
            comp_hz = float(peak_hz + competitor_offset_hz)
            t = np.arange(n) / fs
            competitor = competitor_ratio * np.cos(
                2.0 * math.pi * comp_hz * t + rng.uniform(-math.pi, math.pi)
            )
    noise = _powerlaw_noise(n, fs, aperiodic_exponent, rng)
    lo, hi = peak_hz - 2.0, peak_hz + 2.0
    scale = math.sqrt(
        _band_power(noise, fs, lo, hi)
        / _band_power(rhythm, fs, lo, hi)
        * 10.0 ** (snr_db / 10.0)
    )
    return PhaseCase(
        case=case,
        signal=np.ascontiguousarray(scale * (rhythm + competitor) + noise),
        true_phase_rad=np.asarray(
            (phase + math.pi) % (2.0 * math.pi) - math.pi, dtype=float
        ),
        rhythm=scale * rhythm,
        sfreq_hz=fs,
        peak_hz=float(peak_hz),
        snr_db=float(snr_db),
        bandwidth_hz=width,
        reset_samples=resets,
        reset_jumps_rad=jumps,
        competitor_hz=comp_hz,
    )
