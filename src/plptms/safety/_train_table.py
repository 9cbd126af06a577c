"""Maximum safe single-train duration by frequency and intensity.

The table is that of Wassermann (1998), reproduced in Rossi et al. (2009). Between
cells the engine never interpolates toward a longer train: it takes the stricter of
the neighbouring cells. A cell that has not been verified against the paper is
replaced by the strictest value at the same or lower frequency and intensity (the
monotone envelope), so that a possible transcription error can only make the limit
shorter, never longer. Outside the table toward more risk (above 25 Hz or 220 % MT)
there is no limit: the caller must refuse unless an override is recorded. Below the
table (under 1 Hz or 100 % MT) the nearest row or column bounds the train, which is
conservative because lower frequency and intensity carry less risk.

.. footbibliography::
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ._constants import (
    TRAIN_TABLE_CITATION,
    TRAIN_TABLE_FREQUENCIES_HZ,
    TRAIN_TABLE_INTENSITIES_PCT_MT,
    TRAIN_TABLE_S,
    TRAIN_TABLE_VERIFIED,
)

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "TrainLimit",
    "max_train_duration",
    "max_train_duration_array",
    "table_cells",
]

_F = TRAIN_TABLE_FREQUENCIES_HZ
_I = TRAIN_TABLE_INTENSITIES_PCT_MT


@dataclass(frozen=True, slots=True)
class TableCell:
    """One cell of the train table."""

    frequency_hz: float
    intensity_pct_mt: float
    published_s: float
    lower_bound: bool
    verified: bool
    applied_s: float

    @property
    def printed(self) -> str:
        """The cell as printed in the paper (e.g. ``>5``)."""
        return f"{'>' if self.lower_bound else ''}{self.published_s:g}"


@dataclass(frozen=True, slots=True)
class TrainLimit:
    """The train-duration limit for one frequency and intensity.

    Attributes
    ----------
    limit_s : float | None
        Longest allowed train in s, ``None`` when outside the table toward more risk.
    in_table : bool
        ``False`` when the frequency or intensity lies above the table.
    basis : str
        How the limit was found (cells used, envelope, edge), for the verdict.
    verified : bool
        Whether every cell the limit rests on is verified.
    extrapolated : bool
        Whether the frequency or intensity lies below the table, so that the limit
        is the nearest row or column's (conservative, but not measured there).
    """

    limit_s: float | None
    in_table: bool
    basis: str
    verified: bool
    extrapolated: bool = False


@functools.cache
def _cells() -> tuple[tuple[TableCell, ...], ...]:
    raw = np.array([[v for v, _ in row] for row in TRAIN_TABLE_S], dtype=float)
    # monotone envelope: strictest value at the same or lower frequency and intensity
    envelope = np.minimum.accumulate(np.minimum.accumulate(raw, axis=0), axis=1)
    rows = []
    for r, f in enumerate(_F):
        row = []
        for c, i in enumerate(_I):
            value, lower = TRAIN_TABLE_S[r][c]
            verified = (f, i) in TRAIN_TABLE_VERIFIED
            applied = float(value) if verified else float(envelope[r, c])
            row.append(TableCell(f, i, float(value), lower, verified, applied))
        rows.append(tuple(row))
    return tuple(rows)


def table_cells() -> tuple[TableCell, ...]:
    """Return every cell of the train table with its status and applied limit.

    Returns
    -------
    cells : tuple of TableCell
        Row by row (frequency), column by column (intensity).
    """
    return tuple(c for row in _cells() for c in row)


def _bracket(values: tuple[float, ...], x: float) -> tuple[list[int], str]:
    """Return the indices of the entries bounding ``x`` and where ``x`` lies."""
    if x <= values[0]:
        return [0], "below" if x < values[0] else "exact"
    j = bisect.bisect_left(values, x)
    if j < len(values) and values[j] == x:
        return [j], "exact"
    if j >= len(values):
        return [], "above"
    return [j - 1, j], "between"


@functools.lru_cache(maxsize=4096)
def max_train_duration(frequency_hz: float, intensity_pct_mt: float) -> TrainLimit:
    """Longest safe single train at this frequency and intensity.

    Parameters
    ----------
    frequency_hz : float
        Pulse rate within the train, Hz.
    intensity_pct_mt : float
        Intensity in % of the motor threshold.

    Returns
    -------
    limit : TrainLimit
        The limit with the basis it rests on.

    Notes
    -----
    Results are cached (the closed loop asks the same question repeatedly); the
    returned object is immutable. The rule between cells takes the minimum of the
    (up to four) bracketing cells, so it never interpolates toward a longer train.
    Unverified cells contribute their monotone-envelope value. Table of Wassermann
    (1998), reproduced in Rossi et al. (2009).
    """
    rows, fpos = _bracket(_F, float(frequency_hz))
    cols, ipos = _bracket(_I, float(intensity_pct_mt))
    if fpos == "above" or ipos == "above":
        what: list[str] = []
        if fpos == "above":
            what.append(f"{frequency_hz:g} Hz is above the table's {_F[-1]:g} Hz")
        if ipos == "above":
            what.append(f"{intensity_pct_mt:g} % MT is above the table's {_I[-1]:g} %")
        return TrainLimit(None, False, "; ".join(what), False)
    cells = _cells()
    used = [cells[r][c] for r in rows for c in cols]
    best = min(used, key=lambda cell: cell.applied_s)
    parts = [
        f"{c.frequency_hz:g} Hz x {c.intensity_pct_mt:g} % MT = {c.printed} s"
        + ("" if c.verified else " (to verify)")
        for c in used
    ]
    basis = TRAIN_TABLE_CITATION + ": " + "; ".join(parts)
    if len(used) > 1:
        basis += "; the stricter neighbour is used"
    if best.applied_s < best.published_s:
        basis += (
            f"; unverified cell lowered to {best.applied_s:g} s, the strictest value "
            "at the same or lower frequency and intensity"
        )
    if fpos == "below" or ipos == "below":
        edge: list[str] = []
        if fpos == "below":
            edge.append(f"{frequency_hz:g} Hz is below the {_F[0]:g} Hz row")
        if ipos == "below":
            edge.append(f"{intensity_pct_mt:g} % is below the {_I[0]:g} % MT column")
        basis += "; " + " and ".join(edge) + ", which bounds it conservatively"
    below = fpos == "below" or ipos == "below"
    return TrainLimit(best.applied_s, True, basis, all(c.verified for c in used), below)


@functools.cache
def _applied_grid() -> NDArray[np.float64]:
    return np.array([[c.applied_s for c in row] for row in _cells()], dtype=float)


def max_train_duration_array(
    frequency_hz: ArrayLike, intensity_pct_mt: ArrayLike
) -> NDArray[np.float64]:
    """Vectorised :func:`max_train_duration` (limits only).

    Parameters
    ----------
    frequency_hz : array-like
        Frequencies, Hz.
    intensity_pct_mt : array-like
        Intensities, % MT (broadcast against ``frequency_hz``).

    Returns
    -------
    limit_s : ndarray
        Limits in s; ``nan`` where outside the table toward more risk.
    """
    f, i = np.broadcast_arrays(
        np.asarray(frequency_hz, dtype=float), np.asarray(intensity_pct_mt, dtype=float)
    )
    grid = _applied_grid()
    fa = np.asarray(_F)
    ia = np.asarray(_I)
    # upper neighbour index (clip below-table values to the first row/column)
    ru = np.clip(np.searchsorted(fa, f, side="left"), 0, len(fa) - 1)
    cu = np.clip(np.searchsorted(ia, i, side="left"), 0, len(ia) - 1)
    rl = np.where(np.isin(f, fa) | (f <= fa[0]), ru, np.maximum(ru - 1, 0))
    cl = np.where(np.isin(i, ia) | (i <= ia[0]), cu, np.maximum(cu - 1, 0))
    out = np.minimum.reduce([grid[rl, cl], grid[rl, cu], grid[ru, cl], grid[ru, cu]])
    outside = (f > fa[-1]) | (i > ia[-1]) | ~np.isfinite(f) | ~np.isfinite(i)
    return np.where(outside, np.nan, out)
