"""Motor hotspot search over a grid of coil positions.

The hotspot is the coil position giving the largest MEPs at a fixed, slightly
suprathreshold intensity :footcite:`rossini2015`. Positions lie on a square grid
(1 cm spacing by default) around the grid centre, e.g. C3 or C4; each visited
position receives ``pulses_per_position`` pulses and is summarised by the mean,
SD and number of its MEP amplitudes.

Strategies (:class:`HotspotStrategy`):

``hill_climb`` (default)
    Best-first hill climbing from the centre: the *current* position is the
    visited position with the largest mean MEP; the next position to try is the
    first unvisited of its 8 grid neighbours (order: E, NE, N, NW, W, SW, S, SE).
    The search ends when every neighbour of the current best has been visited,
    i.e. at a local maximum of the mean-MEP map. With a single-peaked map this
    visits far fewer positions than the full grid.
``exhaustive``
    Every grid position, row by row; the best mean wins.

Ties in the mean are broken towards the grid centre, then by visit order.

.. footbibliography::
"""

from __future__ import annotations

import logging
import math
from enum import StrEnum
from typing import TYPE_CHECKING, Self

from pydantic import BaseModel, ConfigDict, model_validator

from ..utils import check_option, check_range, check_type
from . import _constants as C
from ._responder import CoilPosition

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from ._responder import PositionResponder

__all__ = [
    "HotspotGrid",
    "HotspotResult",
    "HotspotStrategy",
    "PositionEvidence",
    "next_hotspot_position",
    "search_hotspot",
]

logger = logging.getLogger(__name__)

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_NUMBER = (int, float)

#: Neighbour offsets in grid steps: E, NE, N, NW, W, SW, S, SE.
_NEIGHBOURS: tuple[tuple[int, int], ...] = (
    (1, 0),
    (1, 1),
    (0, 1),
    (-1, 1),
    (-1, 0),
    (-1, -1),
    (0, -1),
    (1, -1),
)


class HotspotStrategy(StrEnum):
    """How the next coil position is chosen."""

    HILL_CLIMB = "hill_climb"
    EXHAUSTIVE = "exhaustive"


class HotspotGrid(BaseModel):
    """Square grid of coil positions around a scalp landmark.

    Parameters
    ----------
    spacing_cm : float
        Distance between neighbouring positions, cm, in [0.1, 5].
    half_width : int
        Positions on each side of the centre, in [1, 10]: the grid has
        ``(2 half_width + 1)^2`` positions.
    centre_label : str
        Landmark at the centre, e.g. ``"C3"`` or ``"C4"`` (informative only).
    """

    model_config = _FROZEN

    spacing_cm: float = C.HOTSPOT_GRID_SPACING_CM
    half_width: int = C.HOTSPOT_GRID_HALF_WIDTH
    centre_label: str = "C3"

    @model_validator(mode="after")
    def _check(self) -> Self:
        check_range(self.spacing_cm, "spacing_cm", 0.1, 5.0, unit="cm")
        check_range(self.half_width, "half_width", 1, 10)
        return self

    def position(self, i: int, j: int) -> CoilPosition:
        """Coil position of grid index ``(i, j)``.

        Parameters
        ----------
        i, j : int
            Grid steps from the centre along x and y, in [-half_width, half_width].

        Returns
        -------
        position : CoilPosition
            The position, cm from the centre.

        Raises
        ------
        ValueError
            If the index lies outside the grid.
        """
        check_range(i, "i", -self.half_width, self.half_width)
        check_range(j, "j", -self.half_width, self.half_width)
        return CoilPosition(i * self.spacing_cm, j * self.spacing_cm)

    def index(self, position: CoilPosition) -> tuple[int, int]:
        """Grid index of a position on the grid.

        Parameters
        ----------
        position : CoilPosition
            A grid position, cm from the centre.

        Returns
        -------
        index : tuple of int
            ``(i, j)`` grid steps from the centre.

        Raises
        ------
        ValueError
            If the position is not a grid point.
        """
        i = round(position[0] / self.spacing_cm)
        j = round(position[1] / self.spacing_cm)
        on_grid = (
            abs(i) <= self.half_width
            and abs(j) <= self.half_width
            and math.isclose(position[0], i * self.spacing_cm, abs_tol=1e-9)
            and math.isclose(position[1], j * self.spacing_cm, abs_tol=1e-9)
        )
        if not on_grid:
            raise ValueError(
                f"Invalid value for 'position': got {tuple(position)!r}; allowed: a "
                f"point of the grid (multiples of {self.spacing_cm:g} cm within "
                f"+/- {self.half_width * self.spacing_cm:g} cm)."
            )
        return (i, j)

    def positions(self) -> tuple[CoilPosition, ...]:
        """All grid positions, row by row (y descending, x ascending).

        Returns
        -------
        positions : tuple of CoilPosition
            The positions, cm from the centre.
        """
        n = self.half_width
        return tuple(
            self.position(i, j) for j in range(n, -n - 1, -1) for i in range(-n, n + 1)
        )

    def neighbours(self, position: CoilPosition) -> tuple[CoilPosition, ...]:
        """List the up to 8 grid neighbours of a grid position.

        Parameters
        ----------
        position : CoilPosition
            A grid position.

        Returns
        -------
        neighbours : tuple of CoilPosition
            Neighbours inside the grid, in the order E, NE, N, NW, W, SW, S, SE.
        """
        i, j = self.index(position)
        n = self.half_width
        return tuple(
            self.position(i + di, j + dj)
            for di, dj in _NEIGHBOURS
            if abs(i + di) <= n and abs(j + dj) <= n
        )


class PositionEvidence(BaseModel):
    """MEP amplitudes measured at one coil position.

    Parameters
    ----------
    position : CoilPosition
        Coil position, cm from the grid centre.
    amplitudes_uv : tuple of float
        Peak-to-peak amplitudes, uV, in the order delivered.
    """

    model_config = _FROZEN

    position: CoilPosition
    amplitudes_uv: tuple[float, ...]

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.amplitudes_uv:
            raise ValueError(
                "Invalid value for 'amplitudes_uv': got an empty tuple; allowed: at "
                "least one amplitude."
            )
        for a in self.amplitudes_uv:
            check_range(a, "amplitudes_uv", 0.0, None, unit="uV")
        return self

    @property
    def n(self) -> int:
        """Number of pulses."""
        return len(self.amplitudes_uv)

    @property
    def mean_uv(self) -> float:
        """Mean amplitude, uV."""
        return math.fsum(self.amplitudes_uv) / self.n

    @property
    def sd_uv(self) -> float:
        """Sample SD of the amplitudes (ddof 1; 0 for one pulse), uV."""
        if self.n < 2:
            return 0.0
        m = self.mean_uv
        return math.sqrt(
            math.fsum((a - m) ** 2 for a in self.amplitudes_uv) / (self.n - 1)
        )


class HotspotResult(BaseModel):
    """Outcome of a hotspot search.

    Parameters
    ----------
    hotspot : CoilPosition
        Chosen hotspot, cm from the grid centre.
    evidence : tuple of PositionEvidence
        Every visited position, in visit order.
    strategy : HotspotStrategy
        Strategy used.
    grid : HotspotGrid
        The grid searched.
    intensity_pct_mso : float
        Intensity of every pulse, % MSO.
    pulses_per_position : int
        Pulses at each position.
    pulses_used : int
        Total pulses.
    converged : bool
        True when the strategy finished (local maximum reached, or every position
        visited); False when the pulse budget ran out first.
    stop_reason : str
        Why the search stopped.
    """

    model_config = _FROZEN

    hotspot: CoilPosition
    evidence: tuple[PositionEvidence, ...]
    strategy: HotspotStrategy
    grid: HotspotGrid
    intensity_pct_mso: float
    pulses_per_position: int
    pulses_used: int
    converged: bool
    stop_reason: str

    @property
    def hotspot_evidence(self) -> PositionEvidence:
        """Evidence at the chosen hotspot."""
        return next(e for e in self.evidence if e.position == self.hotspot)


def _best(
    grid: HotspotGrid, evidence: Mapping[CoilPosition, Sequence[float]]
) -> CoilPosition:
    """Measured position with the largest mean (ties: nearer the centre, then order)."""
    best: CoilPosition | None = None
    key_best: tuple[float, float] = (-math.inf, -math.inf)
    for pos, amps in evidence.items():
        grid.index(pos)
        mean = math.fsum(amps) / len(amps)
        key = (mean, -math.hypot(pos[0], pos[1]))
        if key > key_best:
            best, key_best = pos, key
    if best is None:  # pragma: no cover - guarded by callers
        raise ValueError("Invalid value for 'evidence': got no measured position.")
    return best


def next_hotspot_position(
    grid: HotspotGrid,
    evidence: Mapping[CoilPosition, Sequence[float]],
    strategy: HotspotStrategy | str = HotspotStrategy.HILL_CLIMB,
) -> CoilPosition | None:
    """Choose the next coil position to try (``None`` when the search is done).

    Parameters
    ----------
    grid : HotspotGrid
        The grid.
    evidence : mapping of CoilPosition to sequence of float
        Amplitudes (uV) measured so far at each visited grid position.
    strategy : HotspotStrategy | str
        ``"hill_climb"`` (best-first from the centre) or ``"exhaustive"``.

    Returns
    -------
    position : CoilPosition | None
        Where to stimulate next; ``None`` when the strategy has finished.

    Raises
    ------
    ValueError
        If the strategy is unknown, a position is off the grid or has no
        amplitudes.
    """
    s = HotspotStrategy(check_option(str(strategy), "strategy", list(HotspotStrategy)))
    for pos, amps in evidence.items():
        grid.index(pos)
        if len(amps) == 0:
            raise ValueError(
                f"Invalid value for 'evidence': got no amplitudes at {tuple(pos)!r}; "
                "allowed: at least one amplitude per visited position."
            )
    if s is HotspotStrategy.EXHAUSTIVE:
        return next((p for p in grid.positions() if p not in evidence), None)
    if not evidence:
        return grid.position(0, 0)
    current = _best(grid, evidence)
    return next((p for p in grid.neighbours(current) if p not in evidence), None)


def search_hotspot(
    responder: PositionResponder,
    *,
    intensity_pct_mso: float,
    grid: HotspotGrid | None = None,
    pulses_per_position: int = C.HOTSPOT_PULSES_PER_POSITION,
    strategy: HotspotStrategy | str = HotspotStrategy.HILL_CLIMB,
    max_pulses: int = C.HOTSPOT_MAX_PULSES,
) -> HotspotResult:
    """Search the motor hotspot with a fixed suprathreshold intensity.

    Parameters
    ----------
    responder : PositionResponder
        Delivers a pulse at a coil position and returns the MEP amplitude (uV).
    intensity_pct_mso : float
        Intensity of every pulse, % MSO, in (0, 100]; slightly suprathreshold.
    grid : HotspotGrid | None
        Grid of positions; default 7 x 7 at 1 cm around C3.
    pulses_per_position : int
        Pulses at each visited position, in [1, 100].
    strategy : HotspotStrategy | str
        ``"hill_climb"`` or ``"exhaustive"``.
    max_pulses : int
        Pulse budget, in [1, 10000]; a search that would exceed it stops.

    Returns
    -------
    result : HotspotResult
        The hotspot and the evidence (mean, SD, n) at every visited position.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If an argument is out of range or the responder returns an invalid
        amplitude.

    References
    ----------
    .. footbibliography::
    """
    g = HotspotGrid() if grid is None else grid
    check_type(g, HotspotGrid, "grid")
    check_type(intensity_pct_mso, _NUMBER, "intensity_pct_mso")
    intensity = check_range(
        intensity_pct_mso,
        "intensity_pct_mso",
        0.0,
        C.MAX_PCT_MSO,
        low_inclusive=False,
        unit="% MSO",
    )
    check_type(pulses_per_position, int, "pulses_per_position")
    check_range(pulses_per_position, "pulses_per_position", 1, 100)
    check_type(max_pulses, int, "max_pulses")
    check_range(max_pulses, "max_pulses", 1, 10_000)
    s = HotspotStrategy(check_option(str(strategy), "strategy", list(HotspotStrategy)))
    if not callable(getattr(responder, "stimulate_at", None)):
        raise TypeError(
            f"Invalid type for 'responder': got {type(responder).__name__}; allowed: "
            "an object with stimulate_at(position, intensity_pct_mso) -> float."
        )
    evidence: dict[CoilPosition, list[float]] = {}
    used = 0
    converged = True
    if s is HotspotStrategy.HILL_CLIMB:
        reason = "local maximum reached"
    else:
        reason = "every grid position visited"
    while (pos := next_hotspot_position(g, evidence, s)) is not None:
        if used + pulses_per_position > max_pulses:
            converged = False
            reason = "pulse budget exhausted before the search finished"
            break
        amps: list[float] = []
        for _ in range(pulses_per_position):
            a = responder.stimulate_at(pos, intensity)
            check_type(a, _NUMBER, "amplitude_uv")
            amps.append(check_range(float(a), "amplitude_uv", 0.0, None, unit="uV"))
        evidence[pos] = amps
        used += pulses_per_position
    if not evidence:
        raise ValueError(
            f"Invalid value for 'max_pulses': got {max_pulses}; allowed: at least "
            f"pulses_per_position ({pulses_per_position})."
        )
    hotspot = _best(g, evidence)
    logger.debug(
        "hotspot search (%s): %d positions, %d pulses, hotspot %s",
        s.value,
        len(evidence),
        used,
        hotspot,
    )
    return HotspotResult(
        hotspot=hotspot,
        evidence=tuple(
            PositionEvidence(position=p, amplitudes_uv=tuple(a))
            for p, a in evidence.items()
        ),
        strategy=s,
        grid=g,
        intensity_pct_mso=intensity,
        pulses_per_position=pulses_per_position,
        pulses_used=used,
        converged=converged,
        stop_reason=reason,
    )
