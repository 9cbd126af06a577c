"""Simulated subjects for testing threshold and hotspot hunts.

Model of one pulse at intensity ``x`` (% MSO) with the coil at distance ``d`` from
the hotspot:

1. **Spatial tuning.** The coil's efficacy falls as a Gaussian of distance, so the
   threshold rises as ``T(d) = T0 exp(d^2 / (2 w^2))`` (a design choice). The pulse
   acts like ``e = x T0 / T(d)`` at the hotspot.
2. **Excitability (input-side) variability.** Each pulse adds Gaussian noise of SD
   ``r T0`` to ``e`` before the recruitment nonlinearity, the first of the two
   variability sources of :footcite:`goetz2014`. An MEP is present when the noisy
   intensity reaches ``T0``, so the probability of an MEP is the cumulative
   Gaussian ``Phi((x - T(d)) / (r T(d)))``: threshold ``T(d)``, relative spread
   ``r`` as in the ML-PEST model :footcite:`awiszus2003`.
3. **Recruitment.** The noise-free MEP follows a Boltzmann sigmoid from the 50 uV
   criterion :footcite:`rossini1994` at threshold to a plateau, half-maximal at
   127.5 % RMT :footcite:`pitcher2015`.
4. **Output-side variability.** The part of a present MEP above the criterion is
   multiplied by a log-normal factor, the second source of :footcite:`goetz2014`.
5. **Background EMG.** A log-normal peak-to-peak noise is added; without an MEP
   the amplitude is that noise alone, capped just below the criterion so that the
   simulated truth (the 50 % point of ``Phi``) holds exactly at 50 uV.

The true threshold of a subject is the intensity at which half of the pulses give
an MEP of at least 50 uV: ``SubjectParameters.threshold_pct_mso`` at the hotspot.
Random draws come from a seeded :class:`numpy.random.Generator` (three standard
normals per pulse), so a run is reproducible from its seed.

.. footbibliography::
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator

from ..utils import check_range, check_type
from . import _constants as C
from ._responder import CoilPosition

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "SimulatedPopulation",
    "SimulatedSubject",
    "SubjectParameters",
    "sample_population",
    "sample_subject_parameters",
]

#: Absent MEPs (noise only) are capped at this fraction of the criterion.
_NOISE_CAP_FRACTION = 0.99

SeedLike = int | np.random.Generator | None


def _rng(seed: SeedLike) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None:
        check_type(seed, int, "seed")
    return np.random.default_rng(seed)


class SubjectParameters(BaseModel):
    """Parameters of one simulated subject.

    Parameters
    ----------
    threshold_pct_mso : float
        True resting motor threshold at the hotspot, % MSO, in (0, 200]. Values
        above 100 model a subject whose threshold the stimulator cannot reach.
    relative_spread : float
        Spread of the MEP probability function divided by the threshold, in
        (0, 1]; default the population median.
    mep_max_uv : float
        Plateau of the recruitment curve, uV; more than twice ``mep_present_uv``.
    si50_pct_rmt : float
        Intensity of the half-maximal MEP, % of the threshold, in (100, 300].
    amplitude_log_sd : float
        SD of the log-normal factor on suprathreshold MEPs, in [0, 3].
    noise_median_uv : float
        Median background EMG peak-to-peak, uV, in [0, 1000].
    noise_log_sd : float
        SD of the logarithm of the background EMG peak-to-peak, in [0, 3].
    hotspot_x_cm, hotspot_y_cm : float
        Position of the hotspot relative to the grid centre, cm, in [-20, 20].
    spatial_width_cm : float
        Width ``w`` of the Gaussian spatial tuning, cm, in (0, 20].
    mep_present_uv : float
        MEP criterion that defines the threshold, uV, in (0, 1000].
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    threshold_pct_mso: float
    relative_spread: float = C.SIM_RELATIVE_SPREAD_MEDIAN
    mep_max_uv: float = C.SIM_MEP_MAX_UV
    si50_pct_rmt: float = C.SIM_SI50_PCT_RMT
    amplitude_log_sd: float = C.SIM_AMPLITUDE_LOG_SD
    noise_median_uv: float = C.SIM_NOISE_MEDIAN_UV
    noise_log_sd: float = C.SIM_NOISE_LOG_SD
    hotspot_x_cm: float = 0.0
    hotspot_y_cm: float = 0.0
    spatial_width_cm: float = C.SIM_SPATIAL_WIDTH_CM
    mep_present_uv: float = C.MEP_PRESENT_UV

    @model_validator(mode="after")
    def _check(self) -> Self:
        check_range(
            self.threshold_pct_mso,
            "threshold_pct_mso",
            0.0,
            200.0,
            low_inclusive=False,
            unit="% MSO",
        )
        check_range(
            self.relative_spread, "relative_spread", 0.0, 1.0, low_inclusive=False
        )
        check_range(
            self.mep_present_uv,
            "mep_present_uv",
            0.0,
            1000.0,
            low_inclusive=False,
            unit="uV",
        )
        check_range(
            self.mep_max_uv,
            "mep_max_uv",
            2.0 * self.mep_present_uv,
            1e5,
            low_inclusive=False,
            unit="uV",
        )
        check_range(
            self.si50_pct_rmt,
            "si50_pct_rmt",
            100.0,
            300.0,
            low_inclusive=False,
            unit="% RMT",
        )
        check_range(self.amplitude_log_sd, "amplitude_log_sd", 0.0, 3.0)
        check_range(self.noise_median_uv, "noise_median_uv", 0.0, 1000.0, unit="uV")
        check_range(self.noise_log_sd, "noise_log_sd", 0.0, 3.0)
        check_range(self.hotspot_x_cm, "hotspot_x_cm", -20.0, 20.0, unit="cm")
        check_range(self.hotspot_y_cm, "hotspot_y_cm", -20.0, 20.0, unit="cm")
        check_range(
            self.spatial_width_cm,
            "spatial_width_cm",
            0.0,
            20.0,
            low_inclusive=False,
            unit="cm",
        )
        return self

    @property
    def hotspot(self) -> CoilPosition:
        """The true hotspot, cm from the grid centre."""
        return CoilPosition(self.hotspot_x_cm, self.hotspot_y_cm)


# ---------------------------------------------------------------------------
# Vectorised model shared by one subject and a population.
# ---------------------------------------------------------------------------


def _threshold_factor(
    dx_cm: NDArray[np.float64], dy_cm: NDArray[np.float64], width_cm: ArrayLike
) -> NDArray[np.float64]:
    """Factor by which the threshold rises away from the hotspot."""
    w = np.asarray(width_cm, dtype=np.float64)
    return np.asarray(np.exp((dx_cm**2 + dy_cm**2) / (2.0 * w**2)), dtype=np.float64)


def _recruitment_uv(
    rel_intensity: NDArray[np.float64],
    mep_max_uv: ArrayLike,
    si50_rel: ArrayLike,
    criterion_uv: ArrayLike,
) -> NDArray[np.float64]:
    """Noise-free MEP at an intensity relative to threshold (1.0 = threshold).

    Boltzmann sigmoid ``M / (1 + exp((s50 - e) / k))`` whose value at threshold is
    the criterion: ``k = (s50 - 1) / ln(M / c - 1)``.
    """
    m = np.asarray(mep_max_uv, dtype=np.float64)
    s50 = np.asarray(si50_rel, dtype=np.float64)
    c = np.asarray(criterion_uv, dtype=np.float64)
    k = (s50 - 1.0) / np.log(m / c - 1.0)
    arg = np.clip((s50 - rel_intensity) / k, -700.0, 700.0)
    return np.asarray(m / (1.0 + np.exp(arg)), dtype=np.float64)


def _draw_amplitudes(
    rng: np.random.Generator,
    intensity_pct_mso: NDArray[np.float64],
    threshold_pct_mso: NDArray[np.float64],
    factor: NDArray[np.float64],
    p: _ParamArrays,
    *,
    noise_free: bool,
) -> NDArray[np.float64]:
    """MEP amplitudes (uV) for one pulse per subject."""
    e_rel = intensity_pct_mso / (factor * threshold_pct_mso)
    if noise_free:
        clean = _recruitment_uv(e_rel, p.mep_max_uv, p.si50_rel, p.criterion_uv)
        # Exact step at threshold despite rounding in the sigmoid.
        below = np.nextafter(p.criterion_uv, 0.0)
        return np.asarray(
            np.where(
                e_rel >= 1.0,
                np.maximum(clean, p.criterion_uv),
                np.minimum(clean, below),
            ),
            dtype=np.float64,
        )
    n = intensity_pct_mso.shape[0]
    z = rng.standard_normal((3, n))
    e_noisy = e_rel + p.relative_spread * z[0]
    clean = _recruitment_uv(e_noisy, p.mep_max_uv, p.si50_rel, p.criterion_uv)
    noise = p.noise_median_uv * np.exp(p.noise_log_sd * z[2])
    present = e_noisy >= 1.0
    above = np.maximum(clean - p.criterion_uv, 0.0) * np.exp(p.amplitude_log_sd * z[1])
    amp_present = p.criterion_uv + above + noise
    amp_absent = np.minimum(noise, _NOISE_CAP_FRACTION * p.criterion_uv)
    return np.asarray(np.where(present, amp_present, amp_absent), dtype=np.float64)


class _ParamArrays:
    """Per-subject model parameters as arrays (or scalars) for vectorised draws."""

    def __init__(self, params: Sequence[SubjectParameters]) -> None:
        def arr(name: str) -> NDArray[np.float64]:
            return np.array([getattr(q, name) for q in params], dtype=np.float64)

        self.threshold_pct_mso = arr("threshold_pct_mso")
        self.relative_spread = arr("relative_spread")
        self.mep_max_uv = arr("mep_max_uv")
        self.si50_rel = arr("si50_pct_rmt") / 100.0
        self.amplitude_log_sd = arr("amplitude_log_sd")
        self.noise_median_uv = arr("noise_median_uv")
        self.noise_log_sd = arr("noise_log_sd")
        self.hotspot_x_cm = arr("hotspot_x_cm")
        self.hotspot_y_cm = arr("hotspot_y_cm")
        self.spatial_width_cm = arr("spatial_width_cm")
        self.criterion_uv = arr("mep_present_uv")

    def take(self, idx: NDArray[np.intp]) -> _ParamArrays:
        out = _ParamArrays.__new__(_ParamArrays)
        for name, value in vars(self).items():
            setattr(out, name, value[idx])
        return out


def _check_intensity(value: float) -> float:
    check_type(value, (int, float, np.floating, np.integer), "intensity_pct_mso")
    return check_range(
        float(value), "intensity_pct_mso", 0.0, C.MAX_PCT_MSO, unit="% MSO"
    )


class SimulatedSubject:
    """A simulated subject: implements ``Responder`` and ``PositionResponder``.

    Parameters
    ----------
    parameters : SubjectParameters
        The subject's true parameters.
    seed : int | numpy.random.Generator | None
        Seed or generator of the pulse-to-pulse randomness.
    noise_free : bool
        If True, every pulse returns the noise-free recruitment curve: an MEP is
        present exactly when the intensity reaches the (position's) threshold.

    Notes
    -----
    See the module docstring for the model. Intensities above 100 % MSO are
    refused, as a stimulator would.
    """

    def __init__(
        self,
        parameters: SubjectParameters,
        *,
        seed: SeedLike = None,
        noise_free: bool = False,
    ) -> None:
        check_type(parameters, SubjectParameters, "parameters")
        check_type(noise_free, bool, "noise_free")
        self._params = parameters
        self._arrays = _ParamArrays([parameters])
        self._rng = _rng(seed)
        self._noise_free = noise_free

    @property
    def parameters(self) -> SubjectParameters:
        """The subject's true parameters."""
        return self._params

    @property
    def true_threshold_pct_mso(self) -> float:
        """True threshold at the hotspot, % MSO."""
        return self._params.threshold_pct_mso

    def threshold_at(self, position: CoilPosition) -> float:
        """Return the true threshold with the coil at ``position``.

        Parameters
        ----------
        position : CoilPosition
            Coil position, cm from the grid centre.

        Returns
        -------
        threshold_pct_mso : float
            Threshold, % MSO (may exceed 100).
        """
        f = _threshold_factor(
            np.array([position[0] - self._params.hotspot_x_cm]),
            np.array([position[1] - self._params.hotspot_y_cm]),
            self._params.spatial_width_cm,
        )
        return float(f[0] * self._params.threshold_pct_mso)

    def mep_probability(
        self, intensity_pct_mso: float, position: CoilPosition | None = None
    ) -> float:
        """Probability of an MEP at or above the criterion.

        Parameters
        ----------
        intensity_pct_mso : float
            Stimulator output, % MSO.
        position : CoilPosition | None
            Coil position; ``None`` means the hotspot.

        Returns
        -------
        probability : float
            ``Phi((x - T) / (r T))``, or a step at ``T`` when noise-free.
        """
        t = (
            self.true_threshold_pct_mso
            if position is None
            else self.threshold_at(position)
        )
        if self._noise_free:
            return 1.0 if intensity_pct_mso >= t else 0.0
        z = (intensity_pct_mso - t) / (self._params.relative_spread * t)
        return 0.5 * math.erfc(-z / math.sqrt(2.0))

    def stimulate(self, intensity_pct_mso: float) -> float:
        """Deliver one pulse at the hotspot.

        Parameters
        ----------
        intensity_pct_mso : float
            Stimulator output, % MSO, in [0, 100].

        Returns
        -------
        amplitude_uv : float
            Peak-to-peak MEP amplitude, uV.

        Raises
        ------
        ValueError
            If the intensity is outside [0, 100] % MSO.
        """
        return self.stimulate_at(self._params.hotspot, intensity_pct_mso)

    def stimulate_at(self, position: CoilPosition, intensity_pct_mso: float) -> float:
        """Deliver one pulse with the coil at ``position``.

        Parameters
        ----------
        position : CoilPosition
            Coil position, cm from the grid centre.
        intensity_pct_mso : float
            Stimulator output, % MSO, in [0, 100].

        Returns
        -------
        amplitude_uv : float
            Peak-to-peak MEP amplitude, uV.

        Raises
        ------
        ValueError
            If the intensity is outside [0, 100] % MSO.
        """
        x = _check_intensity(intensity_pct_mso)
        a = self._arrays
        factor = _threshold_factor(
            np.array([float(position[0])]) - a.hotspot_x_cm,
            np.array([float(position[1])]) - a.hotspot_y_cm,
            a.spatial_width_cm,
        )
        amp = _draw_amplitudes(
            self._rng,
            np.array([x]),
            a.threshold_pct_mso,
            factor,
            a,
            noise_free=self._noise_free,
        )
        return float(amp[0])


def _check_pulses(
    subjects: ArrayLike, intensity_pct_mso: ArrayLike
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """Return ``(subject indices, intensities)`` of a population's pulses, checked.

    Shared by every simulated population's ``stimulate_subjects``: one intensity
    per subject index, each in [0, 100] % MSO.
    """
    idx = np.asarray(subjects, dtype=np.intp)
    x = np.asarray(intensity_pct_mso, dtype=np.float64)
    if idx.shape != x.shape or idx.ndim != 1:
        raise ValueError(
            f"Invalid value for 'intensity_pct_mso': got shape {x.shape}; "
            f"allowed: one value per subject, shape {idx.shape}."
        )
    bad = ~((x >= 0.0) & (x <= C.MAX_PCT_MSO))
    if bad.any():
        check_range(
            float(x[bad][0]), "intensity_pct_mso", 0.0, C.MAX_PCT_MSO, unit="% MSO"
        )
    return idx, x


class SimulatedPopulation:
    """Many simulated subjects stimulated in lockstep at their hotspots.

    Implements ``PopulationResponder`` for vectorised benchmarks.

    Parameters
    ----------
    parameters : sequence of SubjectParameters
        One entry per subject.
    seed : int | numpy.random.Generator | None
        Seed or generator of the pulse-to-pulse randomness.
    """

    def __init__(
        self, parameters: Sequence[SubjectParameters], *, seed: SeedLike = None
    ) -> None:
        params = list(parameters)
        if not params:
            raise ValueError(
                "Invalid value for 'parameters': got an empty sequence; allowed: "
                "at least one SubjectParameters."
            )
        for q in params:
            check_type(q, SubjectParameters, "parameters")
        self._params = tuple(params)
        self._arrays = _ParamArrays(params)
        self._rng = _rng(seed)

    @property
    def n_subjects(self) -> int:
        """Number of subjects."""
        return len(self._params)

    @property
    def thresholds_pct_mso(self) -> NDArray[np.float64]:
        """True thresholds at the hotspots, % MSO (a copy)."""
        return self._arrays.threshold_pct_mso.copy()

    def subject_parameters(self, index: int) -> SubjectParameters:
        """Parameters of one subject.

        Parameters
        ----------
        index : int
            Subject index.

        Returns
        -------
        parameters : SubjectParameters
            That subject's parameters.
        """
        return self._params[index]

    def stimulate_subjects(
        self, subjects: NDArray[np.intp], intensity_pct_mso: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Deliver one pulse at the hotspot of each listed subject.

        Parameters
        ----------
        subjects : ndarray of int, shape (n,)
            Subject indices.
        intensity_pct_mso : ndarray of float, shape (n,)
            Stimulator output for each, % MSO, in [0, 100].

        Returns
        -------
        amplitude_uv : ndarray of float, shape (n,)
            Peak-to-peak MEP amplitudes, uV.

        Raises
        ------
        ValueError
            If an intensity is outside [0, 100] % MSO or the shapes differ.
        """
        idx, x = _check_pulses(subjects, intensity_pct_mso)
        p = self._arrays.take(idx)
        ones = np.ones_like(x)
        return _draw_amplitudes(
            self._rng, x, p.threshold_pct_mso, ones, p, noise_free=False
        )


def _draw_thresholds(
    rng: np.random.Generator, n: int, mean: float, sd: float, low: float, high: float
) -> NDArray[np.float64]:
    out = rng.normal(mean, sd, n)
    bad = (out < low) | (out > high)
    while bad.any():
        out[bad] = rng.normal(mean, sd, int(bad.sum()))
        bad = (out < low) | (out > high)
    return np.asarray(out, dtype=np.float64)


def _sample_parameters(
    rng: np.random.Generator,
    n: int,
    *,
    rmt_mean_pct_mso: float,
    rmt_sd_pct_mso: float,
    relative_spread_median: float,
) -> list[SubjectParameters]:
    low, high = C.SIM_RMT_RANGE_PCT_MSO
    check_range(rmt_mean_pct_mso, "rmt_mean_pct_mso", low, high, unit="% MSO")
    check_range(rmt_sd_pct_mso, "rmt_sd_pct_mso", 0.0, 50.0, unit="% MSO")
    check_range(
        relative_spread_median,
        "relative_spread_median",
        0.0,
        0.5,
        low_inclusive=False,
    )
    thresholds = _draw_thresholds(rng, n, rmt_mean_pct_mso, rmt_sd_pct_mso, low, high)
    spreads = relative_spread_median * np.exp(
        C.SIM_RELATIVE_SPREAD_LOG_SD * rng.standard_normal(n)
    )
    spreads = np.minimum(spreads, 1.0)
    hot = C.SIM_HOTSPOT_OFFSET_SD_CM * rng.standard_normal((2, n))
    hot = np.clip(hot, -20.0, 20.0)
    return [
        SubjectParameters(
            threshold_pct_mso=float(thresholds[i]),
            relative_spread=float(spreads[i]),
            hotspot_x_cm=float(hot[0, i]),
            hotspot_y_cm=float(hot[1, i]),
        )
        for i in range(n)
    ]


def sample_subject_parameters(
    seed: SeedLike = None,
    *,
    rmt_mean_pct_mso: float = C.SIM_RMT_MEAN_PCT_MSO,
    rmt_sd_pct_mso: float = C.SIM_RMT_SD_PCT_MSO,
    relative_spread_median: float = C.SIM_RELATIVE_SPREAD_MEDIAN,
) -> SubjectParameters:
    """Draw one subject from the simulated population.

    Thresholds are normal (mean 52.6 % MSO :footcite:`silbert2013`, SD 8 % MSO,
    redrawn outside [30, 90] % MSO); relative spreads are log-normal around the
    population median derived from :footcite:`wang2023`; the hotspot lies a normal
    offset (SD 1 cm) from the grid centre.

    Parameters
    ----------
    seed : int | numpy.random.Generator | None
        Seed or generator.
    rmt_mean_pct_mso : float
        Mean threshold, % MSO, in [30, 90].
    rmt_sd_pct_mso : float
        SD of the threshold, % MSO, in [0, 50].
    relative_spread_median : float
        Median relative spread, in (0, 0.5].

    Returns
    -------
    parameters : SubjectParameters
        The drawn subject.

    Raises
    ------
    ValueError
        If a population setting is out of range.

    References
    ----------
    .. footbibliography::
    """
    return _sample_parameters(
        _rng(seed),
        1,
        rmt_mean_pct_mso=rmt_mean_pct_mso,
        rmt_sd_pct_mso=rmt_sd_pct_mso,
        relative_spread_median=relative_spread_median,
    )[0]


def sample_population(
    n_subjects: int,
    *,
    seed: SeedLike = None,
    rmt_mean_pct_mso: float = C.SIM_RMT_MEAN_PCT_MSO,
    rmt_sd_pct_mso: float = C.SIM_RMT_SD_PCT_MSO,
    relative_spread_median: float = C.SIM_RELATIVE_SPREAD_MEDIAN,
) -> SimulatedPopulation:
    """Draw a simulated population (see :func:`sample_subject_parameters`).

    Parameters
    ----------
    n_subjects : int
        Number of subjects, in [1, 1000000].
    seed : int | numpy.random.Generator | None
        Seed or generator for the parameters and then for the pulses.
    rmt_mean_pct_mso : float
        Mean threshold, % MSO, in [30, 90].
    rmt_sd_pct_mso : float
        SD of the threshold, % MSO, in [0, 50].
    relative_spread_median : float
        Median relative spread, in (0, 0.5].

    Returns
    -------
    population : SimulatedPopulation
        The subjects, sharing one generator.

    Raises
    ------
    TypeError
        If ``n_subjects`` is not an integer.
    ValueError
        If a setting is out of range.
    """
    check_type(n_subjects, int, "n_subjects")
    check_range(n_subjects, "n_subjects", 1, 1_000_000)
    rng = _rng(seed)
    params = _sample_parameters(
        rng,
        n_subjects,
        rmt_mean_pct_mso=rmt_mean_pct_mso,
        rmt_sd_pct_mso=rmt_sd_pct_mso,
        relative_spread_median=relative_spread_median,
    )
    return SimulatedPopulation(params, seed=rng)
