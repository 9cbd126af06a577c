"""Hjorth (small Laplacian) spatial filter centred on C3 or C4.

The derivation is the centre electrode minus the mean of its nearest neighbours
:footcite:`hjorth1975`. It removes what the neighbours share (far-field and
reference activity) and keeps the focal sensorimotor mu rhythm under the centre,
as in the real-time mu studies :footcite:`zrenner2018`.

.. footbibliography::
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..utils import check_type
from ._constants import (
    HJORTH_DIAGONAL_C3,
    HJORTH_DIAGONAL_C4,
    HJORTH_NEIGHBOURS_C3,
    HJORTH_NEIGHBOURS_C4,
)
from ._errors import StreamMismatchError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike, NDArray

__all__ = ["HjorthFilter", "default_neighbours"]

_DEFAULTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "C3": (HJORTH_NEIGHBOURS_C3, HJORTH_DIAGONAL_C3),
    "C4": (HJORTH_NEIGHBOURS_C4, HJORTH_DIAGONAL_C4),
}


def default_neighbours(center: str) -> tuple[tuple[str, ...], ...]:
    """Neighbour sets tried, in order, for a centre electrode.

    Parameters
    ----------
    center : str
        ``"C3"`` or ``"C4"`` (case-insensitive).

    Returns
    -------
    sets : tuple of tuple of str
        The nearest-neighbour set :footcite:`hjorth1975`, then the set used by
        :footcite:t:`zrenner2018`.

    Raises
    ------
    ValueError
        If ``center`` is neither C3 nor C4.
    """
    key = center.strip().upper()
    if key not in _DEFAULTS:
        raise ValueError(
            f"Invalid value for 'center': got {center!r}; allowed values are 'C3', "
            "'C4' (or give 'neighbours' explicitly)."
        )
    return _DEFAULTS[key]


class HjorthFilter:
    """Centre electrode minus the mean of its neighbours.

    Parameters
    ----------
    ch_names : sequence of str
        Channel names of the stream, in stream order (matched case-insensitively).
    center : str
        Centre electrode (default ``"C3"``, the left hand knob).
    neighbours : sequence of str | None
        Neighbours to subtract. ``None`` uses FC3, CP3, C1, C5 for C3 (FC4, CP4,
        C2, C6 for C4) :footcite:`hjorth1975`, or, if one is missing, FC1, FC5,
        CP1, CP5 (FC2, FC6, CP2, CP6) :footcite:`zrenner2018`.

    Raises
    ------
    StreamMismatchError
        If the centre or a neighbour is not in ``ch_names``; the message names
        every missing channel.
    ValueError
        If ``center`` has no default neighbours and none are given, or a
        neighbour repeats or equals the centre.

    Attributes
    ----------
    center : str
        The centre channel as named in the stream.
    neighbours : tuple of str
        The neighbours used, as named in the stream.
    picks : ndarray of int
        Stream indices of the centre then the neighbours.
    weights : ndarray of float
        ``1`` for the centre and ``-1/n`` for each neighbour.

    Notes
    -----
    .. footbibliography::
    """

    def __init__(
        self,
        ch_names: Sequence[str],
        center: str = "C3",
        neighbours: Sequence[str] | None = None,
    ) -> None:
        check_type(center, str, "center")
        names = [str(n) for n in ch_names]
        lookup: dict[str, int] = {}
        for k, name in enumerate(names):
            lookup.setdefault(name.strip().upper(), k)
        if neighbours is None:
            candidates = default_neighbours(center)
        else:
            candidates = (tuple(str(n) for n in neighbours),)
        chosen: tuple[str, ...] | None = None
        missing_by_set: list[list[str]] = []
        for cand in candidates:
            wanted = [center, *cand]
            missing = [n for n in wanted if n.strip().upper() not in lookup]
            if not missing:
                chosen = cand
                break
            missing_by_set.append(missing)
        if chosen is None:
            sets = "; or ".join(
                f"{', '.join(c)} (missing: {', '.join(m)})"
                for c, m in zip(candidates, missing_by_set, strict=True)
            )
            raise StreamMismatchError(
                f"Invalid value for 'ch_names': the Hjorth filter around {center} "
                f"needs {center} and its neighbours {sets}. The stream has "
                f"{len(names)} channels: {', '.join(names) or 'none'}."
            )
        keys = [n.strip().upper() for n in chosen]
        if len(set(keys)) != len(keys) or center.strip().upper() in keys:
            raise ValueError(
                f"Invalid value for 'neighbours': got {list(chosen)!r}; allowed: "
                f"distinct channels other than the centre {center!r}."
            )
        if not keys:
            raise ValueError(
                "Invalid value for 'neighbours': got an empty list; allowed: at least "
                "one channel."
            )
        idx = [lookup[center.strip().upper()], *(lookup[k] for k in keys)]
        self.center: str = names[idx[0]]
        self.neighbours: tuple[str, ...] = tuple(names[i] for i in idx[1:])
        self.picks: NDArray[np.intp] = np.asarray(idx, dtype=np.intp)
        self.weights: NDArray[np.float64] = np.concatenate(
            [[1.0], np.full(len(keys), -1.0 / len(keys))]
        )
        self.n_channels: int = len(names)
        self.ch_names: tuple[str, ...] = tuple(names)

    @property
    def required_channels(self) -> tuple[str, ...]:
        """Channels the filter reads: the centre, then the neighbours."""
        return (self.center, *self.neighbours)

    def apply(self, data: ArrayLike) -> NDArray[np.float64]:
        """Apply the derivation to samples.

        Parameters
        ----------
        data : array-like of float, shape (n_times, n_channels)
            Samples in stream channel order (any unit; the output has the same).

        Returns
        -------
        signal : ndarray of float, shape (n_times,)
            Centre minus the neighbours' mean.

        Raises
        ------
        StreamMismatchError
            If ``data`` does not have ``n_channels`` columns.
        """
        x = np.asarray(data, dtype=float)
        if x.ndim != 2 or x.shape[1] != self.n_channels:
            raise StreamMismatchError(
                f"Invalid value for 'data': got shape {x.shape}; allowed: (n_times, "
                f"{self.n_channels}) in the order {', '.join(self.ch_names)}."
            )
        return np.asarray(x[:, self.picks] @ self.weights, dtype=float)

    def __repr__(self) -> str:
        nb = list(self.neighbours)
        return f"HjorthFilter(center={self.center!r}, neighbours={nb!r})"
