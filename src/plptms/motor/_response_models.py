"""Simulated populations whose MEP response model is not the one the hunts assume.

The hunts assume an MEP probability ``Phi((x - t) / (r t))`` (ML-PEST fixes
``r = 0.07`` :footcite:`awiszus2003`; Psi puts a prior on it) and a threshold that
stays put from pulse to pulse. :func:`~plptms.motor.sample_population` draws its
subjects from that very family, so accuracy measured there flatters the hunts.
:class:`ResponseModelPopulation` departs from it in four independent ways, one
at a time or together (:footcite:`wang2023` likewise judge hunts against an
independent MEP model):

``shape``
    The psychometric shape of the pulse-to-pulse excitability noise:
    ``"normal"`` (the assumed shape), ``"logistic"`` (the same SD, lighter
    shoulders, heavier tails) or ``"student_t3"`` (Student t with 3 degrees of
    freedom, the same interquartile range as the normal, much heavier tails).
``spread_law``
    ``"proportional"``: the spread is ``r T`` with ``r`` log-normal around the
    population median (as the hunts assume); ``"absolute"``: the spread is a
    log-normal number of % MSO that does not grow with the threshold.
``drift_sd``
    Slow excitability fluctuation: the threshold of pulse ``k`` is
    ``T (1 + d_k)`` with ``d`` an AR(1) process (stationary SD ``drift_sd``,
    pulse-to-pulse correlation ``drift_correlation``). Slow fluctuations are one
    of the variability sources of :footcite:`goetz2019`; the AR(1) form and its
    numbers are plptms choices (not verified).
``output_log_sd``
    Output-side variability of the whole MEP, after the two-source model of
    :footcite:`goetz2014`: the amplitude is ``f(x / T + noise) exp(s z)`` with
    ``f`` the recruitment curve of :mod:`plptms.motor._subject` (``f(1)`` = the
    50 uV criterion) and ``z`` standard normal, so a pulse above threshold may
    still give an MEP below 50 uV. (The default simulated subject scales only
    the part above the criterion.) The value of ``s`` is a plptms choice.

``amplitudes``
    What a pulse with an MEP returns when there is no output noise.
    ``"graded"`` (the default): an amplitude from a recruitment curve that is
    not the amplitude hunt's model (:mod:`plptms.motor._amp_model`): a Hill
    function of the excitation above threshold, ``e - 1`` (``e = (x + noise)
    / T``), ``A = c + (M - c) G H(e - 1)``, ``H(v) = v^n / (v^n + h^n)``, with
    a per-subject plateau ``M`` (log-normal, median 2 mV, log SD 0.5), half
    point ``h`` (log-normal, median 0.3, i.e. half the plateau at 130 % of the
    threshold, the order of the SI50 of 127.5 % RMT of :footcite:`pitcher2015`)
    and exponent ``n`` (log-normal, median 2.5, log SD 0.2), and a
    multiplicative gamma factor ``G`` (mean 1, shape 4, CV 0.5, right-skewed)
    on the part above the criterion. Sigmoid recruitment curves of the MEP
    after :footcite:`devanne1997` (not verified: the abstract only); the Hill
    form, the gamma noise and every number are plptms choices. A pulse
    without an MEP returns background EMG: log-normal, median 10 uV, log SD
    0.3, capped at 25 uV (the default subject's numbers). These draws come
    from their own seeded stream, so which pulses give an MEP (and so every
    yes/no hunt's result) is bit for bit that of ``"constant"``.
    ``"constant"``: 500 uV with an MEP and 5 uV without (the earlier
    behaviour; only the comparison with the criterion carries information).

The true threshold is, as everywhere in plptms, the intensity at which half of
the pulses give an MEP of at least 50 uV. Every shape and the drift are symmetric
about ``T``, so without output noise the truth is ``T`` exactly; with output noise
it is found per subject by bisection on the response probability, itself computed
by Gauss-Hermite quadrature over the input noise (see
:meth:`ResponseModelPopulation.response_probability`).

Thresholds are drawn as in :func:`~plptms.motor.sample_population` (normal, mean
52.6 % MSO :footcite:`silbert2013`, SD 8 % MSO, redrawn outside [30, 90] % MSO).

.. footbibliography::
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..utils import check_option, check_range, check_type
from . import _constants as C
from ._subject import _check_pulses, _draw_thresholds, _recruitment_uv

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["ResponseModelPopulation", "response_cdf"]

Shape = Literal["normal", "logistic", "student_t3"]
Amplitudes = Literal["graded", "constant"]
SpreadLaw = Literal["proportional", "absolute"]

_SHAPES = ("normal", "logistic", "student_t3")
_SPREAD_LAWS = ("proportional", "absolute")
_AMPLITUDES = ("graded", "constant")

#: Median absolute spread for ``spread_law="absolute"``, % MSO: the proportional
#: median 0.0763 x 52.6 % MSO rounded (so the two laws agree at the mean
#: threshold). [simdesign]
ABSOLUTE_SPREAD_MEDIAN_PCT_MSO = 4.0
#: SD of the natural logarithm of the absolute spread (wider than the 0.14 of the
#: proportional law). [simdesign]
ABSOLUTE_SPREAD_LOG_SD = 0.3
#: Amplitude given to a pulse with an MEP when there is no output noise, and to a
#: pulse without one, uV (only the comparison with the criterion matters).
_PRESENT_UV = 500.0
_ABSENT_UV = 5.0
#: Graded amplitudes: plateau M of the Hill recruitment curve, median uV and
#: log SD (a plateau of about 1-5 mV). [simdesign]
GRADED_PLATEAU_MEDIAN_UV = 2000.0
GRADED_PLATEAU_LOG_SD = 0.5
#: Half point h of the Hill curve in excitation above threshold (e - 1): 0.3
#: puts half the plateau at 130 % of the threshold, the order of the SI50 of
#: 127.5 % RMT (Pitcher et al. 2015, abstract). Median and log SD. [pitcher2015]
GRADED_HALF_EXCESS_MEDIAN = 0.3
GRADED_HALF_EXCESS_LOG_SD = 0.25
#: Hill exponent n: median and log SD. [simdesign]
GRADED_HILL_EXPONENT_MEDIAN = 2.5
GRADED_HILL_EXPONENT_LOG_SD = 0.2
#: Shape of the gamma factor (mean 1) on the part above the criterion: CV
#: 1 / sqrt(4) = 0.5. [simdesign]
GRADED_GAMMA_SHAPE = 4.0
#: Background EMG of a pulse without an MEP: log-normal median uV, log SD, cap
#: (as the default simulated subject: 10 uV, 0.3, half the criterion).
_BACKGROUND = (C.SIM_NOISE_MEDIAN_UV, C.SIM_NOISE_LOG_SD, 0.5 * C.MEP_PRESENT_UV)
#: Gauss-Hermite nodes for the response probability with output noise: within
#: 2e-4 of adaptive quadrature (scipy.integrate.quad) for output_log_sd >= 0.25.
_N_QUADRATURE = 64
#: Smallest non-zero output_log_sd (below it 64 nodes resolve the curve poorly).
_MIN_OUTPUT_LOG_SD = 0.25
#: Interquartile-range match of Student t(3) to the standard normal:
#: Phi^-1(0.75) / t3^-1(0.75) = 0.67449 / 0.76489.
_T3_SCALE = 0.6744897501960817 / 0.7648923284043444
#: Logistic scale with unit SD: sqrt(3) / pi.
_LOGISTIC_SCALE = math.sqrt(3.0) / math.pi


def response_cdf(z: NDArray[np.float64], shape: Shape) -> NDArray[np.float64]:
    """Distribution function of the standardised excitability noise.

    Parameters
    ----------
    z : ndarray of float
        Standardised distance above threshold, ``(x - T) / spread``.
    shape : {"normal", "logistic", "student_t3"}
        ``"normal"``: ``Phi(z)``; ``"logistic"``: logistic with unit SD;
        ``"student_t3"``: Student t(3) scaled to the normal's interquartile range
        (closed form of its distribution function).

    Returns
    -------
    p : ndarray of float
        Probability that the noise is below ``z``, i.e. of an MEP at ``z``.

    Raises
    ------
    ValueError
        If ``shape`` is not one of the three.
    """
    check_option(shape, "shape", _SHAPES)
    z = np.asarray(z, dtype=np.float64)
    if shape == "normal":
        return np.asarray(0.5 * _erfc(-z / math.sqrt(2.0)), dtype=np.float64)
    if shape == "logistic":
        u = np.clip(z / _LOGISTIC_SCALE, -700.0, 700.0)
        return np.asarray(1.0 / (1.0 + np.exp(-u)), dtype=np.float64)
    t = z / _T3_SCALE
    return np.asarray(
        0.5
        + (t / (math.sqrt(3.0) * (1.0 + t**2 / 3.0)) + np.arctan(t / math.sqrt(3.0)))
        / math.pi,
        dtype=np.float64,
    )


def _erfc(x: NDArray[np.float64]) -> NDArray[np.float64]:
    from scipy.special import erfc  # type: ignore[import-untyped]

    return np.asarray(erfc(x), dtype=np.float64)


def _draw_noise(rng: np.random.Generator, n: int, shape: str) -> NDArray[np.float64]:
    """Standardised excitability noise with the distribution of ``response_cdf``."""
    if shape == "normal":
        return rng.standard_normal(n)
    if shape == "logistic":
        u = rng.random(n)
        u = np.clip(u, 1e-300, 1.0 - 1e-16)
        return np.asarray(_LOGISTIC_SCALE * np.log(u / (1.0 - u)), dtype=np.float64)
    return np.asarray(_T3_SCALE * rng.standard_t(3, n), dtype=np.float64)


class ResponseModelPopulation:
    """Subjects from an independent response model (a ``PopulationResponder``).

    Parameters
    ----------
    n_subjects : int
        Number of subjects, in [1, 1000000].
    seed : int
        Seed of the subject parameters and then of the pulses.
    shape : {"normal", "logistic", "student_t3"}
        Psychometric shape (see the module docstring).
    spread_law : {"proportional", "absolute"}
        Spread ``r T`` with ``r`` log-normal (median 0.0763, log SD 0.14, as
        :func:`~plptms.motor.sample_population`), or a log-normal absolute spread
        (median 4 % MSO, log SD 0.3) independent of ``T``.
    drift_sd : float
        Stationary SD of the relative threshold drift, in [0, 0.2]; 0 for none.
    drift_correlation : float
        Pulse-to-pulse correlation of the drift, in [0, 1).
    output_log_sd : float
        SD of the log-normal factor on the whole MEP: 0 for none, or in
        [0.25, 2]. Only with ``shape="normal"`` and no drift.
    amplitudes : {"graded", "constant"}
        Without output noise: graded amplitudes from an independent Hill
        recruitment curve with gamma output noise, or the constant 500 / 5 uV
        (module docstring). Presence of an MEP is the same either way.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If an argument is out of range, or output noise is combined with a shape
        other than normal.
    """

    def __init__(
        self,
        n_subjects: int,
        *,
        seed: int,
        shape: Shape = "normal",
        spread_law: SpreadLaw = "proportional",
        drift_sd: float = 0.0,
        drift_correlation: float = 0.95,
        output_log_sd: float = 0.0,
        amplitudes: Amplitudes = "graded",
    ) -> None:
        check_type(n_subjects, int, "n_subjects")
        check_range(n_subjects, "n_subjects", 1, 1_000_000)
        check_type(seed, int, "seed")
        check_option(shape, "shape", _SHAPES)
        check_option(spread_law, "spread_law", _SPREAD_LAWS)
        check_option(amplitudes, "amplitudes", _AMPLITUDES)
        for name, value in (
            ("drift_sd", drift_sd),
            ("drift_correlation", drift_correlation),
            ("output_log_sd", output_log_sd),
        ):
            check_type(value, (int, float), name)
        self.drift_sd = check_range(drift_sd, "drift_sd", 0.0, 0.2)
        self.drift_correlation = check_range(
            drift_correlation, "drift_correlation", 0.0, 1.0, high_inclusive=False
        )
        self.output_log_sd = check_range(output_log_sd, "output_log_sd", 0.0, 2.0)
        if 0.0 < self.output_log_sd < _MIN_OUTPUT_LOG_SD:
            raise ValueError(
                f"Invalid value for 'output_log_sd': got {output_log_sd}; allowed: 0 "
                f"or [{_MIN_OUTPUT_LOG_SD}, 2] (the quadrature needs a smooth curve)."
            )
        if self.output_log_sd > 0.0 and shape != "normal":
            raise ValueError(
                f"Invalid value for 'shape': got {shape!r} with output_log_sd="
                f"{output_log_sd}; allowed: 'normal' when output_log_sd > 0."
            )
        if self.output_log_sd > 0.0 and self.drift_sd > 0.0:
            raise ValueError(
                f"Invalid value for 'drift_sd': got {drift_sd} with output_log_sd="
                f"{output_log_sd}; allowed: 0 when output_log_sd > 0."
            )
        self.shape = shape
        self.spread_law = spread_law
        rng = np.random.default_rng(seed)
        low, high = C.SIM_RMT_RANGE_PCT_MSO
        #: Centre ``T`` of the response curve of each subject, % MSO.
        self.t0 = _draw_thresholds(
            rng, n_subjects, C.SIM_RMT_MEAN_PCT_MSO, C.SIM_RMT_SD_PCT_MSO, low, high
        )
        if spread_law == "proportional":
            r = C.SIM_RELATIVE_SPREAD_MEDIAN * np.exp(
                C.SIM_RELATIVE_SPREAD_LOG_SD * rng.standard_normal(n_subjects)
            )
            self.spread_pct_mso = r * self.t0
        else:
            self.spread_pct_mso = ABSOLUTE_SPREAD_MEDIAN_PCT_MSO * np.exp(
                ABSOLUTE_SPREAD_LOG_SD * rng.standard_normal(n_subjects)
            )
        self.drift = self.drift_sd * rng.standard_normal(n_subjects)
        self._rng = np.random.default_rng(seed + 1)
        self.amplitudes = amplitudes
        # Amplitude parameters and noise: a stream of their own (seeded from
        # seed and a fixed tag), so the presence draws above are untouched.
        self._amp_rng = np.random.default_rng([abs(seed), 0xA3])
        a = self._amp_rng.standard_normal((3, n_subjects))
        #: Plateau M of each subject's Hill recruitment curve, uV.
        self.plateau_uv = GRADED_PLATEAU_MEDIAN_UV * np.exp(
            GRADED_PLATEAU_LOG_SD * a[0]
        )
        #: Half point h of the Hill curve, in excitation above threshold.
        self.half_excess = GRADED_HALF_EXCESS_MEDIAN * np.exp(
            GRADED_HALF_EXCESS_LOG_SD * a[1]
        )
        #: Hill exponent n.
        self.hill_exponent = GRADED_HILL_EXPONENT_MEDIAN * np.exp(
            GRADED_HILL_EXPONENT_LOG_SD * a[2]
        )
        self._truth = (
            self.t0.copy() if self.output_log_sd == 0.0 else self._solve_truth()
        )

    @property
    def n_subjects(self) -> int:
        """Number of subjects."""
        return int(self.t0.size)

    @property
    def thresholds_pct_mso(self) -> NDArray[np.float64]:
        """True thresholds (50 % points of the response probability), % MSO."""
        return self._truth.copy()

    def response_probability(
        self, subjects: NDArray[np.intp], intensity_pct_mso: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Probability of an MEP >= 50 uV, averaged over the drift.

        Without output noise: ``F((x - T) / sd_eff)`` with ``F`` of
        :func:`response_cdf` and, under drift, the drift folded in only for the
        normal shape (``sd_eff^2 = spread^2 + (drift_sd T)^2``); for the other
        shapes with drift it is the drift-free curve (whose 50 % point is the same).
        With output noise (normal shape, no drift): Gauss-Hermite quadrature of
        ``Phi(ln(f(x / T + spread z / T) / 50 uV) / s)`` over ``z``.

        Parameters
        ----------
        subjects : ndarray of int, shape (n,)
            Subject indices.
        intensity_pct_mso : ndarray of float, shape (n,)
            Intensities, % MSO.

        Returns
        -------
        p : ndarray of float, shape (n,)
            Probability of an MEP at or above the criterion.
        """
        idx = np.asarray(subjects, dtype=np.intp)
        x = np.asarray(intensity_pct_mso, dtype=np.float64)
        t0 = self.t0[idx]
        sd = self.spread_pct_mso[idx]
        if self.output_log_sd == 0.0:
            if self.shape == "normal":
                sd = np.sqrt(sd**2 + (self.drift_sd * t0) ** 2)
            return response_cdf((x - t0) / sd, self.shape)
        nodes, weights = np.polynomial.hermite_e.hermegauss(_N_QUADRATURE)
        weights = weights / weights.sum()
        e = (x[:, None] + sd[:, None] * nodes[None, :]) / t0[:, None]
        f = _recruitment_uv(
            e, C.SIM_MEP_MAX_UV, C.SIM_SI50_PCT_RMT / 100.0, C.MEP_PRESENT_UV
        )
        z = np.log(np.maximum(f, 1e-300) / C.MEP_PRESENT_UV) / self.output_log_sd
        p = 0.5 * _erfc(-z / math.sqrt(2.0))
        return np.asarray(p @ weights, dtype=np.float64)

    def _solve_truth(self) -> NDArray[np.float64]:
        """50 % point of the response probability per subject, by bisection."""
        idx = np.arange(self.n_subjects)
        lo = self.t0 * 0.5
        hi = self.t0 * 1.5
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            up = self.response_probability(idx, mid) >= 0.5
            hi = np.where(up, mid, hi)
            lo = np.where(up, lo, mid)
        return np.asarray(0.5 * (lo + hi), dtype=np.float64)

    def stimulate_subjects(
        self, subjects: NDArray[np.intp], intensity_pct_mso: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Deliver one pulse to each listed subject.

        Parameters
        ----------
        subjects : ndarray of int, shape (n,)
            Subject indices, each at most once.
        intensity_pct_mso : ndarray of float, shape (n,)
            Intensities, % MSO, in [0, 100].

        Returns
        -------
        amplitude_uv : ndarray of float, shape (n,)
            MEP amplitudes, uV: the two-source amplitude with output noise, else
            the graded amplitude (or 500 uV) with an MEP and background EMG (or
            5 uV) without.

        Raises
        ------
        ValueError
            If an intensity is outside [0, 100] % MSO or the shapes differ.
        """
        idx, x = _check_pulses(subjects, intensity_pct_mso)
        rng = self._rng
        if self.drift_sd > 0.0:
            rho = self.drift_correlation
            innov = math.sqrt(1.0 - rho**2) * self.drift_sd
            self.drift[idx] = rho * self.drift[idx] + innov * rng.standard_normal(
                idx.size
            )
        t = self.t0[idx] * (1.0 + self.drift[idx])
        noise = self.spread_pct_mso[idx] * _draw_noise(rng, idx.size, self.shape)
        e = (x + noise) / t
        if self.output_log_sd == 0.0:
            present = e >= 1.0
            if self.amplitudes == "constant":
                return np.where(present, _PRESENT_UV, _ABSENT_UV).astype(np.float64)
            return self._graded(idx, e, present)
        f = _recruitment_uv(
            e, C.SIM_MEP_MAX_UV, C.SIM_SI50_PCT_RMT / 100.0, C.MEP_PRESENT_UV
        )
        return np.asarray(
            f * np.exp(self.output_log_sd * rng.standard_normal(idx.size)),
            dtype=np.float64,
        )

    def hill_excess_uv(
        self, subjects: NDArray[np.intp], excess: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Noise-free part of the graded MEP above the criterion, uV.

        ``(M - c) H(v)`` with ``H(v) = v^n / (v^n + h^n)`` and ``v = e - 1 >= 0``
        the excitation above threshold (0 below it).

        Parameters
        ----------
        subjects : ndarray of int, shape (n,)
            Subject indices.
        excess : ndarray of float, shape (n,) or broadcastable
            Excitation above threshold ``e - 1``.

        Returns
        -------
        excess_uv : ndarray of float
            The part above the criterion before the gamma factor, uV.
        """
        idx = np.asarray(subjects, dtype=np.intp)
        v = np.maximum(np.asarray(excess, dtype=np.float64), 0.0)
        n = self.hill_exponent[idx]
        vn = v**n
        hill = vn / (vn + self.half_excess[idx] ** n)
        return np.asarray(
            (self.plateau_uv[idx] - C.MEP_PRESENT_UV) * hill, dtype=np.float64
        )

    def _graded(
        self,
        idx: NDArray[np.intp],
        e: NDArray[np.float64],
        present: NDArray[np.bool_],
    ) -> NDArray[np.float64]:
        """Graded amplitudes from the amplitude stream (presence already fixed)."""
        rng = self._amp_rng
        g = rng.gamma(GRADED_GAMMA_SHAPE, 1.0 / GRADED_GAMMA_SHAPE, idx.size)
        median, log_sd, cap = _BACKGROUND
        bg = np.minimum(median * np.exp(log_sd * rng.standard_normal(idx.size)), cap)
        amp = C.MEP_PRESENT_UV + self.hill_excess_uv(idx, e - 1.0) * g
        return np.asarray(np.where(present, amp, bg), dtype=np.float64)
