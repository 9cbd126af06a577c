"""What a threshold or hotspot hunt talks to: one pulse in, one MEP amplitude out.

A :class:`Responder` delivers one pulse at an intensity in % of maximum stimulator
output (% MSO) and returns the peak-to-peak MEP amplitude in uV. The simulated
subject implements it now; a real stimulator with EMG will implement it later
through the delivery interface. The hunts never clamp or retry: they only call
``stimulate``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["CoilPosition", "PopulationResponder", "PositionResponder", "Responder"]


class CoilPosition(NamedTuple):
    """Coil position on the scalp relative to the grid centre (e.g. C3 or C4).

    Parameters
    ----------
    x_cm : float
        Medio-lateral offset, cm.
    y_cm : float
        Antero-posterior offset, cm.
    """

    x_cm: float
    y_cm: float


@runtime_checkable
class Responder(Protocol):
    """One pulse at the motor hotspot, one MEP amplitude back."""

    def stimulate(self, intensity_pct_mso: float) -> float:
        """Deliver one pulse and return the MEP.

        Parameters
        ----------
        intensity_pct_mso : float
            Stimulator output, % MSO, in [0, 100].

        Returns
        -------
        amplitude_uv : float
            Peak-to-peak MEP amplitude, uV.
        """
        ...


@runtime_checkable
class PositionResponder(Protocol):
    """One pulse at a coil position, one MEP amplitude back (hotspot search)."""

    def stimulate_at(self, position: CoilPosition, intensity_pct_mso: float) -> float:
        """Deliver one pulse at ``position`` and return the MEP.

        Parameters
        ----------
        position : CoilPosition
            Coil position relative to the grid centre, cm.
        intensity_pct_mso : float
            Stimulator output, % MSO, in [0, 100].

        Returns
        -------
        amplitude_uv : float
            Peak-to-peak MEP amplitude, uV.
        """
        ...


@runtime_checkable
class PopulationResponder(Protocol):
    """Many independent subjects stimulated in lockstep (simulation only)."""

    @property
    def n_subjects(self) -> int:
        """Number of subjects."""
        ...

    def stimulate_subjects(
        self, subjects: NDArray[np.intp], intensity_pct_mso: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Deliver one pulse to each listed subject.

        Parameters
        ----------
        subjects : ndarray of int, shape (n,)
            Subject indices, each at most once.
        intensity_pct_mso : ndarray of float, shape (n,)
            Stimulator output for each, % MSO, in [0, 100].

        Returns
        -------
        amplitude_uv : ndarray of float, shape (n,)
            Peak-to-peak MEP amplitudes, uV.
        """
        ...
