"""Phase estimators scored like for like: evenly spaced moments, with intervals.

:footcite:t:`zrenner2020` score an estimator at evenly spaced moments (2 s epochs
with 75 % overlap in phastimate's ``create_epochs_overlapping.m``: one estimate
every 0.5 s), whatever the amplitude, against the non-causal phase of the whole
recording, and report the circular mean and the circular SD
``sqrt(-2 ln R)`` of the error, with ``R`` the phase-locking value (PLV) of the
errors. :func:`score_evenly` does the same through an estimator's streaming
interface; :func:`phase_error_ci` adds percentile bootstrap intervals
:footcite:`efron1993`, resampling blocks of consecutive moments so that the
serial dependence of neighbouring estimates (a mu burst lasts about a second) is
kept; :func:`paired_sd_difference` compares two estimators scored at the same
moments with the same resamples.

.. footbibliography::
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..utils import check_range
from ._circular import wrap_phase

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

    from ._estimators import PhaseEstimator

__all__ = [
    "PhaseErrorCI",
    "paired_sd_difference",
    "phase_error_ci",
    "score_evenly",
]

#: Spacing of the scored moments, s: phastimate's 2 s epochs with 75 % overlap
#: (Zrenner et al., 2020, ``create_epochs_overlapping.m``). [zrenner2020]
EVEN_STEP_S = 0.5


def score_evenly(
    estimator: PhaseEstimator,
    signal: ArrayLike,
    true_phase_rad: ArrayLike,
    *,
    start: int = 0,
    step_s: float = EVEN_STEP_S,
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """Phase errors of an estimator at evenly spaced moments.

    The signal is pushed through ``estimator.update`` from ``start``; every
    ``step_s`` once the estimator is ready its estimate (for the newest sample
    plus its horizon) is compared with the true phase at that sample.

    Parameters
    ----------
    estimator : PhaseEstimator
        A fresh estimator (AR, ETP or SSPE).
    signal : array-like of float, shape (n_times,)
        The spatially filtered recording.
    true_phase_rad : array-like of float, shape (n_times,), rad
        Ground truth for every sample (e.g. :func:`offline_phase`).
    start : int
        First sample pushed, in [0, n_times).
    step_s : float, s
        Spacing of the moments, in [0.01, 10] s (default 0.5 s).

    Returns
    -------
    samples : ndarray of int
        Index of the sample each estimate is for (newest sample plus horizon).
    errors_rad : ndarray of float, rad
        ``estimate - truth`` wrapped to ``[-pi, pi)``; moments where the
        estimator gave no phase are left out.

    Raises
    ------
    ValueError
        If the arrays differ in length or a parameter is out of range.
    """
    x = np.asarray(signal, dtype=float)
    truth = np.asarray(true_phase_rad, dtype=float)
    if x.ndim != 1 or truth.shape != x.shape:
        raise ValueError(
            f"Invalid value for 'true_phase_rad': got shape {truth.shape}; allowed: "
            f"the signal's shape {x.shape} (one channel)."
        )
    check_range(start, "start", 0, max(0, x.size - 1))
    check_range(step_s, "step_s", 0.01, 10.0, unit="s")
    fs = estimator.sfreq_hz
    step = max(1, round(step_s * fs))
    horizon = round(estimator.horizon_s * fs)
    idx: list[int] = []
    err: list[float] = []
    pos = int(start)
    while pos < x.size:
        stop = min(x.size, pos + step)
        estimator.update(x[pos:stop])
        pos = stop
        if not estimator.ready:
            continue
        at = stop - 1 + horizon
        if at >= x.size:
            break
        phase = estimator.estimate_now().phase_rad
        if math.isfinite(phase):
            idx.append(at)
            err.append(phase - float(truth[at]))
    return np.asarray(idx, dtype=np.intp), wrap_phase(np.asarray(err, dtype=float))


@dataclass(frozen=True, slots=True)
class PhaseErrorCI:
    """Circular summary of phase errors with bootstrap intervals.

    Attributes
    ----------
    n : int
        Errors summarised.
    mean_deg, mean_ci_deg : float, tuple of float, deg
        Circular mean error and its interval.
    sd_deg, sd_ci_deg : float, tuple of float, deg
        Circular SD ``sqrt(-2 ln PLV)`` and its interval.
    plv, plv_ci : float, tuple of float
        Phase-locking value (mean resultant length) and its interval.
    level : float
        Confidence level of the intervals.
    """

    n: int
    mean_deg: float
    mean_ci_deg: tuple[float, float]
    sd_deg: float
    sd_ci_deg: tuple[float, float]
    plv: float
    plv_ci: tuple[float, float]
    level: float


def _resamples(
    n: int, block: int, n_boot: int, rng: np.random.Generator
) -> NDArray[np.intp]:
    """Moving-block bootstrap indices, shape (n_boot, n)."""
    b = min(max(1, block), n)
    n_blocks = math.ceil(n / b)
    starts = rng.integers(0, n - b + 1, size=(n_boot, n_blocks))
    idx = (starts[:, :, None] + np.arange(b)[None, None, :]).reshape(n_boot, -1)
    return np.asarray(idx[:, :n], dtype=np.intp)


def _sd_deg(resultant: NDArray[np.complex128]) -> NDArray[np.float64]:
    r = np.clip(np.abs(resultant), 1e-300, 1.0)
    return np.asarray(np.degrees(np.sqrt(-2.0 * np.log(r))), dtype=float)


def _check_boot(errors: ArrayLike, n_boot: int, level: float, block: int) -> None:
    check_range(n_boot, "n_boot", 100, 100000)
    check_range(level, "level", 0.5, 1.0, high_inclusive=False)
    check_range(block, "block", 1, 1000)
    e = np.asarray(errors, dtype=float)
    if e.ndim != 1 or e.size < 2 or not np.all(np.isfinite(e)):
        raise ValueError(
            f"Invalid value for 'errors': got {e.size} values (shape {e.shape}); "
            "allowed: at least 2 finite phase errors (rad), one dimension."
        )


def phase_error_ci(
    errors_rad: ArrayLike,
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    block: int = 1,
    seed: int = 0,
) -> PhaseErrorCI:
    """Circular mean, circular SD and PLV of phase errors, with bootstrap CIs.

    Parameters
    ----------
    errors_rad : array-like of float, rad
        Phase errors (at least 2, finite).
    n_boot : int
        Bootstrap resamples, in [100, 100000].
    level : float
        Confidence level, in [0.5, 1).
    block : int
        Consecutive errors resampled together (moving-block bootstrap), in
        [1, 1000]; 1 is the ordinary bootstrap (independent triggers).
    seed : int
        Seed of the resampling.

    Returns
    -------
    summary : PhaseErrorCI
        Point estimates and percentile intervals. The interval of the mean is
        taken on the resampled means unwrapped around the point estimate.

    Raises
    ------
    ValueError
        If an argument is out of range.
    """
    _check_boot(errors_rad, n_boot, level, block)
    e = np.asarray(errors_rad, dtype=float)
    z = np.exp(1j * e)
    res = complex(np.mean(z))
    idx = _resamples(e.size, block, n_boot, np.random.default_rng(seed))
    boot = np.mean(z[idx], axis=1)
    q = (100 * (1 - level) / 2, 100 * (1 + level) / 2)
    mean = math.degrees(float(np.angle(res)))
    dev = np.degrees(np.angle(boot * np.exp(-1j * np.angle(res))))
    lo_m, hi_m = (mean + float(v) for v in np.percentile(dev, q))
    sd_b = _sd_deg(boot)
    plv_b = np.abs(boot)
    return PhaseErrorCI(
        n=int(e.size),
        mean_deg=mean,
        mean_ci_deg=(lo_m, hi_m),
        sd_deg=float(_sd_deg(np.asarray([res]))[0]),
        sd_ci_deg=(float(np.percentile(sd_b, q[0])), float(np.percentile(sd_b, q[1]))),
        plv=abs(res),
        plv_ci=(float(np.percentile(plv_b, q[0])), float(np.percentile(plv_b, q[1]))),
        level=float(level),
    )


def paired_sd_difference(
    errors_a_rad: ArrayLike,
    errors_b_rad: ArrayLike,
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    block: int = 1,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Circular SD of ``a`` minus that of ``b``, paired, with a bootstrap CI.

    Parameters
    ----------
    errors_a_rad, errors_b_rad : array-like of float, rad
        Errors of two estimators at the same moments (same length, paired).
    n_boot, level, block, seed
        As in :func:`phase_error_ci`.

    Returns
    -------
    diff_deg, low_deg, high_deg : float, deg
        ``SD(a) - SD(b)`` and its interval; a positive lower bound means ``b`` is
        more precise than ``a`` at this level.

    Raises
    ------
    ValueError
        If the arrays differ in length or an argument is out of range.
    """
    _check_boot(errors_a_rad, n_boot, level, block)
    _check_boot(errors_b_rad, n_boot, level, block)
    a = np.exp(1j * np.asarray(errors_a_rad, dtype=float))
    b = np.exp(1j * np.asarray(errors_b_rad, dtype=float))
    if a.shape != b.shape:
        raise ValueError(
            f"Invalid value for 'errors_b_rad': got {b.size} errors; allowed: as "
            f"many as 'errors_a_rad' ({a.size}), at the same moments."
        )
    idx = _resamples(a.size, block, n_boot, np.random.default_rng(seed))
    d_boot = _sd_deg(np.mean(a[idx], axis=1)) - _sd_deg(np.mean(b[idx], axis=1))
    d = float(_sd_deg(np.asarray([a.mean()]))[0] - _sd_deg(np.asarray([b.mean()]))[0])
    q = (100 * (1 - level) / 2, 100 * (1 + level) / 2)
    return d, float(np.percentile(d_boot, q[0])), float(np.percentile(d_boot, q[1]))
