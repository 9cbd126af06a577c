"""Circular statistics of phases at trigger time.

The circular standard deviation is ``sqrt(-2 ln R)`` with ``R`` the mean resultant
length :footcite:`berens2009`, the dispersion measure phastimate reports
:footcite:`zrenner2020`. Phases are in radians, cosine convention (0 = positive
peak, pi = trough).

.. footbibliography::
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..utils import check_range

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "PhaseAccuracy",
    "circular_mean",
    "circular_sd",
    "phase_accuracy",
    "wrap_phase",
]

_TWO_PI = 2.0 * math.pi
# Resultant lengths below this are rounding noise of a zero resultant (e.g. four
# phases 90 deg apart give ~1e-17): the SD is reported as infinite.
_R_ZERO = 1e-12


def wrap_phase(phase_rad: ArrayLike) -> NDArray[np.float64]:
    """Wrap phases to ``[-pi, pi)``.

    Parameters
    ----------
    phase_rad : array-like of float, rad
        Phases.

    Returns
    -------
    wrapped : ndarray of float, rad
        The phases in ``[-pi, pi)``.
    """
    x = np.asarray(phase_rad, dtype=float)
    return np.asarray((x + math.pi) % _TWO_PI - math.pi, dtype=float)


def _resultant(phase_rad: ArrayLike, field: str = "phase_rad") -> complex:
    x = np.asarray(phase_rad, dtype=float).ravel()
    if x.size == 0:
        raise ValueError(
            f"Invalid value for {field!r}: got an empty array; allowed: at least "
            "one phase."
        )
    if not np.all(np.isfinite(x)):
        raise ValueError(
            f"Invalid value for {field!r}: got non-finite phases; allowed: finite "
            "numbers (rad)."
        )
    return complex(np.mean(np.exp(1j * x)))


def circular_mean(phase_rad: ArrayLike) -> float:
    """Circular mean of phases.

    Parameters
    ----------
    phase_rad : array-like of float, rad
        Phases (at least one, all finite).

    Returns
    -------
    mean : float, rad
        The circular mean in ``[-pi, pi]``.

    Raises
    ------
    ValueError
        If ``phase_rad`` is empty or not finite.
    """
    return float(np.angle(_resultant(phase_rad)))


def circular_sd(phase_rad: ArrayLike) -> float:
    """Circular standard deviation ``sqrt(-2 ln R)`` :footcite:`berens2009`.

    Parameters
    ----------
    phase_rad : array-like of float, rad
        Phases (at least one, all finite).

    Returns
    -------
    sd : float, rad
        ``0`` for identical phases; ``inf`` when the resultant length is 0.

    Raises
    ------
    ValueError
        If ``phase_rad`` is empty or not finite.
    """
    r = abs(_resultant(phase_rad))
    if r < _R_ZERO:
        return math.inf
    return math.sqrt(max(0.0, -2.0 * math.log(min(r, 1.0))))


@dataclass(frozen=True, slots=True)
class PhaseAccuracy:
    """Accuracy of the true phase at the triggers against the target.

    Attributes
    ----------
    n_triggers : int
        Triggers evaluated.
    mean_error_deg : float, deg
        Circular mean of ``true phase - target``, in ``[-180, 180]``.
    circular_sd_deg : float, deg
        Circular SD ``sqrt(-2 ln R)`` of the true phase at the triggers.
    share_within : float
        Share of triggers whose true phase lies within ``+/- within_deg`` of the
        target, in ``[0, 1]``.
    within_deg : float, deg
        The half-width used for :attr:`share_within`.
    """

    n_triggers: int
    mean_error_deg: float
    circular_sd_deg: float
    share_within: float
    within_deg: float


def phase_accuracy(
    true_phase_rad: ArrayLike, target_rad: float, *, within_deg: float = 45.0
) -> PhaseAccuracy:
    """Summarise the true phase at the triggers against the target phase.

    Parameters
    ----------
    true_phase_rad : array-like of float, rad
        Ground-truth phase at each trigger (at least one).
    target_rad : float, rad
        Target phase (cosine convention: ``pi`` is the trough).
    within_deg : float, deg
        Half-width of the window counted in :attr:`PhaseAccuracy.share_within`,
        in ``(0, 180]`` deg.

    Returns
    -------
    accuracy : PhaseAccuracy
        Mean error, circular SD and share within the window.

    Raises
    ------
    ValueError
        If there is no phase, a phase is not finite, or ``within_deg`` is out of
        range.
    """
    check_range(within_deg, "within_deg", 0.0, 180.0, low_inclusive=False, unit="deg")
    target = check_range(target_rad, "target_rad", unit="rad")
    _resultant(true_phase_rad, "true_phase_rad")
    err = wrap_phase(np.asarray(true_phase_rad, dtype=float) - target)
    return PhaseAccuracy(
        n_triggers=int(err.size),
        mean_error_deg=math.degrees(circular_mean(err)),
        circular_sd_deg=math.degrees(circular_sd(err)),
        share_within=float(np.mean(np.abs(err) <= math.radians(within_deg))),
        within_deg=float(within_deg),
    )
