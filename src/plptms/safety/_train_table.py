"""Maximum safe single-train duration by frequency and intensity.

The table is that of Wassermann (1998), reproduced in Rossi et al. (2009); only one
cell is verified against a primary source so far (see
:data:`~plptms.safety._constants.TRAIN_TABLE_VERIFIED`). How the engine applies it:

- **Between cells** it never interpolates toward a longer train: it takes the
  stricter of the (up to four) bracketing cells.
- **Monotone envelope.** Every cell's applied limit is the strictest value at the
  same or lower frequency and intensity. The applied limits are therefore monotone
  non-increasing in frequency and in intensity: no cell, verified or not, allows a
  longer train than a cell of lower frequency and intensity. What this does *not*
  do is catch every copying error. An upward error in a cell is cut only down to
  its strictest less-risky neighbour: an error that takes a cell above that
  neighbour is cut back to the neighbour's value, an error that leaves it below is
  not detected at all (for example 10 Hz x 120 % MT printed 4.2 s: a mistyped 4.8 s
  would survive, because the 10 Hz x 110 % cell allows 5 s). This is why a limit
  that rests on an unverified cell gives the status ``unverified``, which sends
  the verdict to physician review, rather than ``passed``.
- **Site readings.** A site may record a physician's reading of a cell from the
  paper (:class:`CellReading`). A reading equal to or stricter than the shipped
  value replaces it and makes the cell verified for that site; a looser reading
  never loosens anything: the shipped value stays in force and the limit is marked
  for review (``conflicts``), so that a physician reconciles the two.
- **Outside the table** toward more risk (above 25 Hz or 220 % MT) there is no
  limit: the caller must refuse unless an override is recorded. Below the table
  (under 1 Hz or 100 % MT) the nearest row or column bounds the train, which is
  conservative because lower frequency and intensity carry less risk.

.. footbibliography::
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from ..utils import check_option, check_range, check_type
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
    "CellReading",
    "TableCell",
    "TrainLimit",
    "check_readings",
    "max_train_duration",
    "max_train_duration_array",
    "monotone_envelope",
    "table_cells",
]

_F = TRAIN_TABLE_FREQUENCIES_HZ
_I = TRAIN_TABLE_INTENSITIES_PCT_MT

# Relative tolerance when comparing a reading's value with the shipped value.
_REL_TOL = 1e-9


class CellReading(BaseModel):
    """A physician's reading of one cell of the train table from the paper.

    Parameters
    ----------
    frequency_hz : float, Hz
        Row of the cell (one of the table's frequencies).
    intensity_pct_mt : float, % MT
        Column of the cell (one of the table's intensities).
    value_s : float, s
        The value read (> 0).
    lower_bound : bool
        Whether the paper prints the value with ``>`` (no adverse effect up to the
        longest duration tested).
    physician : str
        Who read it.
    read_on : datetime.date
        When.
    source : str
        Where it was read.

    Notes
    -----
    Comparing a reading with the shipped cell: the reading is *stricter or equal*
    when its value is shorter, or the same value with a ``>`` flag that is not
    looser (``x`` read where ``>x`` is shipped is stricter: the paper gives ``x`` as
    a maximum rather than as the longest duration tested; ``x`` read as ``x``, or
    ``>x`` as ``>x``, is equal). It is *looser* when its value is longer, or the same
    value read as ``>x`` where ``x`` is shipped.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    frequency_hz: float
    intensity_pct_mt: float
    value_s: float
    lower_bound: bool
    physician: str
    read_on: dt.date
    source: str = "Rossi et al. 2009, Table 4"

    @field_validator("frequency_hz")
    @classmethod
    def _check_frequency(cls, v: float) -> float:
        return float(check_option(float(v), "frequency_hz", _F))

    @field_validator("intensity_pct_mt")
    @classmethod
    def _check_intensity(cls, v: float) -> float:
        return float(check_option(float(v), "intensity_pct_mt", _I))

    @field_validator("value_s")
    @classmethod
    def _check_value(cls, v: float) -> float:
        return check_range(v, "value_s", 0.0, None, low_inclusive=False, unit="s")

    @field_validator("physician", "source")
    @classmethod
    def _check_text(cls, v: str, info: ValidationInfo) -> str:
        if not v.strip():
            raise ValueError(
                f"Invalid value for {info.field_name!r}: got {v!r}; allowed: "
                "non-empty text."
            )
        return v.strip()

    @property
    def cell(self) -> tuple[float, float]:
        """The cell read, ``(frequency_hz, intensity_pct_mt)``."""
        return (self.frequency_hz, self.intensity_pct_mt)

    @property
    def printed(self) -> str:
        """The value as read (e.g. ``>5``)."""
        return f"{'>' if self.lower_bound else ''}{self.value_s:g}"

    def is_looser_than(self, value_s: float, lower_bound: bool) -> bool:
        """Whether this reading is looser than a cell printed ``value_s``.

        Parameters
        ----------
        value_s : float, s
            The shipped value.
        lower_bound : bool
            Whether the shipped value carries ``>``.

        Returns
        -------
        looser : bool
            ``True`` if the value read is longer, or equal but read with ``>``
            where the shipped cell has none.
        """
        if math.isclose(self.value_s, value_s, rel_tol=_REL_TOL):
            return self.lower_bound and not lower_bound
        return self.value_s > value_s


@dataclass(frozen=True, slots=True)
class TableCell:
    """One cell of the train table, as applied for one set of site readings.

    Attributes
    ----------
    frequency_hz, intensity_pct_mt : float
        The cell.
    published_s : float, s
        The shipped value (the table as reproduced in plptms).
    lower_bound : bool
        Whether the shipped value is printed with ``>``.
    verified : bool
        Whether the value in force is verified: shipped as verified, or confirmed
        by a site reading that is not looser.
    applied_s : float, s
        The limit applied: the value in force, then the monotone envelope.
    reading : CellReading | None
        The site's reading of this cell, if any.
    conflict : bool
        Whether the site's reading is looser than the shipped value (the shipped
        value stays in force; a physician must reconcile them).
    """

    frequency_hz: float
    intensity_pct_mt: float
    published_s: float
    lower_bound: bool
    verified: bool
    applied_s: float
    reading: CellReading | None = None
    conflict: bool = False

    @property
    def printed(self) -> str:
        """The shipped cell as printed in the paper (e.g. ``>5``)."""
        return f"{'>' if self.lower_bound else ''}{self.published_s:g}"

    @property
    def label(self) -> str:
        """The cell's coordinates, e.g. ``10 Hz x 120 % MT``."""
        return f"{self.frequency_hz:g} Hz x {self.intensity_pct_mt:g} % MT"


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
        Whether every cell the limit rests on is verified (and none is in conflict
        with a site reading).
    extrapolated : bool
        Whether the frequency or intensity lies below the table, so that the limit
        is the nearest row or column's (conservative, but not measured there).
    unverified_cells : tuple of str
        The cells the limit rests on that are not verified (e.g.
        ``"10 Hz x 120 % MT = 4.2 s"``).
    conflicts : tuple of str
        Cells whose site reading is looser than the shipped value (the shipped
        value is applied; a physician must reconcile them).
    """

    limit_s: float | None
    in_table: bool
    basis: str
    verified: bool
    extrapolated: bool = False
    unverified_cells: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()


def monotone_envelope(values: ArrayLike) -> NDArray[np.float64]:
    """Strictest value at the same or lower row and column of a 2-D table.

    Parameters
    ----------
    values : array-like, shape (n_frequencies, n_intensities)
        Train limits, rows by increasing frequency, columns by increasing
        intensity.

    Returns
    -------
    envelope : ndarray, shape (n_frequencies, n_intensities)
        ``envelope[r, c] = min(values[:r + 1, :c + 1])``: the largest table that is
        at most ``values`` everywhere and monotone non-increasing along both axes.
        An upward error in a cell survives when it stays below the cell's strictest
        less-risky neighbour, and is cut to that neighbour otherwise.

    Raises
    ------
    ValueError
        If ``values`` is not two-dimensional.
    """
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 2:
        raise ValueError(
            f"Invalid value for 'values': got an array of shape {arr.shape}; allowed: "
            "a 2-D table (frequencies x intensities)."
        )
    return np.minimum.accumulate(np.minimum.accumulate(arr, axis=0), axis=1)


def check_readings(readings: object, field: str = "readings") -> None:
    """Raise unless ``readings`` is a tuple of :class:`CellReading`, one per cell.

    Parameters
    ----------
    readings : object
        The readings.
    field : str
        Name of the field, for the message.

    Raises
    ------
    TypeError
        If ``readings`` is not a tuple of :class:`CellReading`.
    ValueError
        If two readings are of the same cell.
    """
    check_type(readings, tuple, field)
    assert isinstance(readings, tuple)
    seen: set[tuple[float, float]] = set()
    for r in readings:
        check_type(r, CellReading, field)
        if r.cell in seen:
            raise ValueError(
                f"Invalid value for {field!r}: got two readings of the cell "
                f"{r.frequency_hz:g} Hz x {r.intensity_pct_mt:g} % MT; allowed: at "
                "most one reading per cell."
            )
        seen.add(r.cell)


@functools.lru_cache(maxsize=64)
def _cells(readings: tuple[CellReading, ...] = ()) -> tuple[tuple[TableCell, ...], ...]:
    by_cell = {r.cell: r for r in readings}
    # the value in force: the shipped one, or a site reading that is not looser
    raw = np.empty((len(_F), len(_I)), dtype=float)
    state: dict[tuple[int, int], tuple[bool, CellReading | None, bool]] = {}
    for r, f in enumerate(_F):
        for c, i in enumerate(_I):
            value, lower = TRAIN_TABLE_S[r][c]
            reading = by_cell.get((f, i))
            shipped_ok = (f, i) in TRAIN_TABLE_VERIFIED
            if reading is None:
                raw[r, c] = value
                state[r, c] = (shipped_ok, None, False)
            elif reading.is_looser_than(float(value), lower):
                raw[r, c] = value
                state[r, c] = (False, reading, True)
            else:
                raw[r, c] = reading.value_s
                state[r, c] = (True, reading, False)
    envelope = monotone_envelope(raw)
    rows = []
    for r, f in enumerate(_F):
        row = []
        for c, i in enumerate(_I):
            value, lower = TRAIN_TABLE_S[r][c]
            verified, reading, conflict = state[r, c]
            row.append(
                TableCell(
                    f,
                    i,
                    float(value),
                    lower,
                    verified,
                    float(envelope[r, c]),
                    reading,
                    conflict,
                )
            )
        rows.append(tuple(row))
    return tuple(rows)


def table_cells(readings: tuple[CellReading, ...] = ()) -> tuple[TableCell, ...]:
    """Return every cell of the train table with its status and applied limit.

    Parameters
    ----------
    readings : tuple of CellReading
        A site's readings of cells from the paper (at most one per cell).

    Returns
    -------
    cells : tuple of TableCell
        Row by row (frequency), column by column (intensity).

    Raises
    ------
    TypeError
        If ``readings`` is not a tuple of :class:`CellReading`.
    ValueError
        If two readings are of the same cell.
    """
    check_readings(readings)
    return tuple(c for row in _cells(readings) for c in row)


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


def _describe(c: TableCell) -> str:
    text = f"{c.label} = {c.printed} s"
    if c.conflict:
        assert c.reading is not None
        return (
            text + f" (site reading {c.reading.printed} s by {c.reading.physician} is "
            "looser: shipped value applied)"
        )
    if c.reading is not None:
        return text + f" (read as {c.reading.printed} s by {c.reading.physician})"
    return text + ("" if c.verified else " (to verify)")


def max_train_duration(
    frequency_hz: float,
    intensity_pct_mt: float,
    readings: tuple[CellReading, ...] = (),
) -> TrainLimit:
    """Longest safe single train at this frequency and intensity.

    Parameters
    ----------
    frequency_hz : float
        Pulse rate within the train, Hz.
    intensity_pct_mt : float
        Intensity in % of the motor threshold.
    readings : tuple of CellReading
        A site's readings of cells from the paper (at most one per cell): a reading
        not looser than the shipped value is used and makes its cell verified; a
        looser one leaves the shipped value in force and marks a conflict.

    Returns
    -------
    limit : TrainLimit
        The limit with the basis it rests on.

    Raises
    ------
    TypeError
        If ``readings`` is not a tuple of :class:`CellReading`.
    ValueError
        If two readings are of the same cell.

    Notes
    -----
    Results are cached (the closed loop asks the same question repeatedly); the
    returned object is immutable. The rule between cells takes the minimum of the
    (up to four) bracketing cells, so it never interpolates toward a longer train.
    Every cell contributes its monotone-envelope value. Table of Wassermann
    (1998), reproduced in Rossi et al. (2009).
    """
    if readings and type(readings) is not tuple:
        check_readings(readings)
    try:
        return _limit(float(frequency_hz), float(intensity_pct_mt), readings)
    except TypeError:  # unhashable readings: say which field is wrong
        check_readings(readings)
        raise


@functools.lru_cache(maxsize=4096)
def _limit(
    frequency_hz: float, intensity_pct_mt: float, readings: tuple[CellReading, ...]
) -> TrainLimit:
    if readings:
        check_readings(readings)
    rows, fpos = _bracket(_F, float(frequency_hz))
    cols, ipos = _bracket(_I, float(intensity_pct_mt))
    cells = _cells(readings)
    if fpos == "above" or ipos == "above":
        what: list[str] = []
        if fpos == "above":
            what.append(f"{frequency_hz:g} Hz is above the table's {_F[-1]:g} Hz")
        if ipos == "above":
            what.append(f"{intensity_pct_mt:g} % MT is above the table's {_I[-1]:g} %")
        return TrainLimit(None, False, "; ".join(what), False)
    used = [cells[r][c] for r in rows for c in cols]
    best = min(used, key=lambda cell: cell.applied_s)
    basis = TRAIN_TABLE_CITATION + ": " + "; ".join(_describe(c) for c in used)
    if len(used) > 1:
        basis += "; the stricter neighbour is used"
    value_in_force = (
        best.reading.value_s
        if best.reading is not None and not best.conflict
        else best.published_s
    )
    if best.applied_s < value_in_force * (1.0 - _REL_TOL):
        basis += (
            f"; {best.label} lowered to {best.applied_s:g} s, the strictest value at "
            "the same or lower frequency and intensity"
        )
    if fpos == "below" or ipos == "below":
        edge: list[str] = []
        if fpos == "below":
            edge.append(f"{frequency_hz:g} Hz is below the {_F[0]:g} Hz row")
        if ipos == "below":
            edge.append(f"{intensity_pct_mt:g} % is below the {_I[0]:g} % MT column")
        basis += "; " + " and ".join(edge) + ", which bounds it conservatively"
    below = fpos == "below" or ipos == "below"
    unverified = tuple(
        f"{c.label} = {c.printed} s" for c in used if not c.verified and not c.conflict
    )
    conflicts = tuple(
        f"{c.label}: shipped {c.printed} s, site reading {c.reading.printed} s "
        f"({c.reading.physician}, {c.reading.read_on.isoformat()})"
        for c in used
        if c.conflict and c.reading is not None
    )
    return TrainLimit(
        best.applied_s,
        True,
        basis,
        all(c.verified for c in used),
        below,
        unverified,
        conflicts,
    )


@functools.lru_cache(maxsize=64)
def _applied_grid(readings: tuple[CellReading, ...] = ()) -> NDArray[np.float64]:
    return np.array([[c.applied_s for c in row] for row in _cells(readings)])


def max_train_duration_array(
    frequency_hz: ArrayLike,
    intensity_pct_mt: ArrayLike,
    readings: tuple[CellReading, ...] = (),
) -> NDArray[np.float64]:
    """Vectorised :func:`max_train_duration` (limits only).

    Parameters
    ----------
    frequency_hz : array-like
        Frequencies, Hz.
    intensity_pct_mt : array-like
        Intensities, % MT (broadcast against ``frequency_hz``).
    readings : tuple of CellReading
        A site's readings of cells (see :func:`max_train_duration`).

    Returns
    -------
    limit_s : ndarray
        Limits in s; ``nan`` where outside the table toward more risk.
    """
    f, i = np.broadcast_arrays(
        np.asarray(frequency_hz, dtype=float), np.asarray(intensity_pct_mt, dtype=float)
    )
    check_readings(readings)
    grid = _applied_grid(readings)
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
