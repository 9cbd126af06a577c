"""Coil models as sets of magnetic dipoles built from winding geometry.

Coil frame (the SimNIBS convention :footcite:`saturnino2019`): origin at the centre of
the coil's bottom surface, ``z`` pointing into the head, the figure-of-eight wings
along ``x``; the windings lie at ``z < 0``. A flat spiral of ``N`` turns is modelled
as ``N`` concentric circular loops at the mid-radii of the turns; the area of each
loop is split into small elements, each a magnetic dipole of moment (element area) x
(normal) per ampere :footcite:`thielscher2004`. Concentric loops share their inner
elements, so an element carries the number of loops that enclose it; the winding
height is split into a few stacked planes. With the default current sign the left
wing's (``x < 0``) moments point away from the head, as in the SimNIBS model of the
Magstim 70 mm coil, and at rising current the field under the coil centre points
along the coil's ``+y`` axis.

.. footbibliography::
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..utils import check_option, check_range, check_type
from . import _constants as C
from ._sphere import as_points

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

    from ._pose import CoilPose

__all__ = [
    "STANDARD_COILS",
    "Coil",
    "circular_coil",
    "figure_of_eight_coil",
    "standard_coil",
]

_DEFAULT_ELEMENT_M = 0.004


@dataclass(frozen=True, eq=False)
class Coil:
    """A TMS coil as magnetic dipoles in its own frame.

    Parameters
    ----------
    name : str
        Name of the model.
    positions_m : ndarray, shape (N, 3)
        Dipole positions in the coil frame, m (``z`` into the head).
    moments : ndarray, shape (N, 3)
        Dipole moments per ampere of coil current, A m^2 / A (= m^2); the field
        scales with dI/dt.
    source : str
        Where the geometry comes from.
    verified : bool
        True only if every geometric parameter was checked against its source.
    notes : tuple of str
        One line per parameter: value, source and whether it is verified.
    max_didt_a_per_us : float | None
        dI/dt at 100 % MSO stated with the model (e.g. a ``.ccd`` header), A/us.
    stimulator : str | None
        Stimulator the header refers to.
    brand : str | None
        Manufacturer.
    """

    name: str
    positions_m: NDArray[np.float64]
    moments: NDArray[np.float64]
    source: str = ""
    verified: bool = False
    notes: tuple[str, ...] = ()
    max_didt_a_per_us: float | None = None
    stimulator: str | None = None
    brand: str | None = None

    def __post_init__(self) -> None:
        check_type(self.name, str, "name")
        pos = as_points(self.positions_m, "positions_m").copy()
        mom = as_points(self.moments, "moments").copy()
        if pos.shape != mom.shape:
            raise ValueError(
                f"Invalid value for 'moments': got shape {mom.shape}; allowed: the "
                f"shape of 'positions_m', {pos.shape}."
            )
        if pos.shape[0] == 0:
            raise ValueError(
                "Invalid value for 'positions_m': got 0 dipoles; allowed: at least 1."
            )
        if self.max_didt_a_per_us is not None:
            check_range(
                self.max_didt_a_per_us,
                "max_didt_a_per_us",
                0.0,
                None,
                low_inclusive=False,
                unit="A/us",
            )
        pos.flags.writeable = False
        mom.flags.writeable = False
        object.__setattr__(self, "positions_m", pos)
        object.__setattr__(self, "moments", mom)

    @property
    def n_dipoles(self) -> int:
        """Number of dipoles."""
        return int(self.positions_m.shape[0])

    @property
    def total_moment(self) -> NDArray[np.float64]:
        """Sum of the moments, m^2 (zero for a balanced figure-of-eight)."""
        return np.asarray(self.moments.sum(axis=0), dtype=np.float64)

    def in_head(
        self, pose: CoilPose
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Dipole positions and moments in head coordinates.

        Parameters
        ----------
        pose : CoilPose
            Where the coil is.

        Returns
        -------
        positions_m : ndarray, shape (N, 3)
            Positions, m.
        moments : ndarray, shape (N, 3)
            Moments, m^2.
        """
        rot = pose.rotation
        return self.positions_m @ rot.T + pose.center, self.moments @ rot.T

    def coarsened(self, cell_m: float) -> Coil:
        """Merge the dipoles of each cubic cell into one.

        The moments of a cell are summed and placed at the moment-weighted centroid,
        which keeps the total moment and, for parallel moments, the first moment of
        the distribution; used for the coarse pass of the placement search.

        Parameters
        ----------
        cell_m : float
            Edge of the cells, m, in (0, 0.1].

        Returns
        -------
        coil : Coil
            The coarse model (same name with a suffix).

        Raises
        ------
        ValueError
            If ``cell_m`` is out of range.
        """
        cell = check_range(cell_m, "cell_m", 0.0, 0.1, low_inclusive=False, unit="m")
        keys = np.floor((self.positions_m - self.positions_m.min(axis=0)) / cell)
        _, inverse = np.unique(keys.astype(np.int64), axis=0, return_inverse=True)
        inverse = inverse.ravel()
        n = int(inverse.max()) + 1
        weight = np.linalg.norm(self.moments, axis=1)
        wsum = np.bincount(inverse, weights=weight, minlength=n)
        mom: NDArray[np.float64] = np.stack(
            [
                np.bincount(inverse, weights=self.moments[:, k], minlength=n)
                for k in range(3)
            ],
            axis=1,
        )
        pos: NDArray[np.float64] = np.stack(
            [
                np.bincount(
                    inverse, weights=weight * self.positions_m[:, k], minlength=n
                )
                for k in range(3)
            ],
            axis=1,
        )
        keep = wsum > 0
        pos = pos[keep] / wsum[keep, None]
        return Coil(
            name=f"{self.name} (coarse {cell * 1e3:g} mm)",
            positions_m=pos,
            moments=mom[keep],
            source=self.source,
            verified=self.verified,
            notes=self.notes,
            max_didt_a_per_us=self.max_didt_a_per_us,
            stimulator=self.stimulator,
            brand=self.brand,
        )


def _disc_union(
    inner_r: float, outer_r: float, turns: int, element_m: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Elements of ``turns`` concentric loops: (xy, area x enclosing loops)."""
    radii = inner_r + (np.arange(turns) + 0.5) * (outer_r - inner_r) / turns
    edges = [0.0]
    for r in radii:
        n_sub = max(1, math.ceil((r - edges[-1]) / element_m - 1e-9))
        edges.extend(np.linspace(edges[-1], r, n_sub + 1)[1:].tolist())
    xy: list[NDArray[np.float64]] = []
    weights: list[NDArray[np.float64]] = []
    for lo, hi in itertools.pairwise(edges):
        count = int(np.sum(radii >= hi - 1e-12))
        if lo == 0.0:
            xy.append(np.zeros((1, 2)))
            weights.append(np.array([math.pi * hi * hi * count]))
            continue
        n_phi = max(6, math.ceil(2.0 * math.pi * 0.5 * (lo + hi) / element_m))
        dphi = 2.0 * math.pi / n_phi
        phi = (np.arange(n_phi) + 0.5) * dphi
        # centroid radius of an annular sector
        rc = (
            (2.0 / 3.0)
            * (hi**3 - lo**3)
            / (hi**2 - lo**2)
            * math.sin(dphi / 2)
            / (dphi / 2)
        )
        xy.append(np.column_stack([rc * np.cos(phi), rc * np.sin(phi)]))
        weights.append(np.full(n_phi, math.pi * (hi * hi - lo * lo) / n_phi * count))
    return np.vstack(xy), np.concatenate(weights)


def _check_winding(
    inner_diameter_m: float,
    outer_diameter_m: float,
    turns: int,
    layers: int,
    winding_height_m: float,
    winding_offset_m: float,
    element_size_m: float,
    height_subdivisions: int,
) -> None:
    check_range(inner_diameter_m, "inner_diameter_m", 0.0, 0.3, unit="m")
    check_range(
        outer_diameter_m,
        "outer_diameter_m",
        inner_diameter_m,
        0.3,
        low_inclusive=False,
        unit="m",
    )
    for value, name in ((turns, "turns"), (layers, "layers")):
        check_type(value, int, name)
        check_range(value, name, 1, 200)
    check_type(height_subdivisions, int, "height_subdivisions")
    check_range(height_subdivisions, "height_subdivisions", 1, 20)
    check_range(winding_height_m, "winding_height_m", 0.0, 0.05, unit="m")
    check_range(
        winding_offset_m,
        "winding_offset_m",
        winding_height_m / 2.0,
        0.1,
        unit="m",
    )
    check_range(element_size_m, "element_size_m", 0.0005, 0.05, unit="m")


def _wing(
    inner_diameter_m: float,
    outer_diameter_m: float,
    turns: int,
    layers: int,
    winding_height_m: float,
    winding_offset_m: float,
    element_size_m: float,
    height_subdivisions: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """One flat spiral wing centred on the z axis: positions (K, 3), weights (K,)."""
    xy, w = _disc_union(
        inner_diameter_m / 2.0, outer_diameter_m / 2.0, turns, element_size_m
    )
    n_planes = layers * height_subdivisions
    heights = (
        winding_offset_m
        + ((np.arange(n_planes) + 0.5) / n_planes - 0.5) * winding_height_m
    )
    pos = np.vstack([np.column_stack([xy, np.full(len(w), -h)]) for h in heights])
    weights = np.tile(w * layers / n_planes, n_planes)
    return pos, weights


def circular_coil(
    inner_diameter_m: float,
    outer_diameter_m: float,
    turns: int,
    *,
    layers: int = 1,
    winding_height_m: float = 0.006,
    winding_offset_m: float = 0.0065,
    element_size_m: float = _DEFAULT_ELEMENT_M,
    height_subdivisions: int = 2,
    name: str = "circular coil",
    source: str = "user geometry",
    verified: bool = False,
    notes: tuple[str, ...] = (),
) -> Coil:
    """Build a flat spiral circular coil.

    Parameters
    ----------
    inner_diameter_m, outer_diameter_m : float
        Inner and outer diameter of the winding, m.
    turns : int
        Turns per layer.
    layers : int
        Stacked winding layers (each with ``turns`` turns).
    winding_height_m : float
        Total height of the winding stack, m.
    winding_offset_m : float
        Height of the winding mid-plane above the coil's bottom surface, m.
    element_size_m : float
        Target edge of the area elements, m.
    height_subdivisions : int
        Dipole planes per layer across the winding height.
    name, source : str
        Model name and geometry source.
    verified : bool
        Whether the geometry was checked against its source.
    notes : tuple of str
        Provenance of each parameter.

    Returns
    -------
    coil : Coil
        Dipoles in the coil frame; moments point away from the head (``-z``).

    Raises
    ------
    ValueError
        If a parameter is out of range (the message names it).
    TypeError
        If ``turns``, ``layers`` or ``height_subdivisions`` is not an int.
    """
    _check_winding(
        inner_diameter_m,
        outer_diameter_m,
        turns,
        layers,
        winding_height_m,
        winding_offset_m,
        element_size_m,
        height_subdivisions,
    )
    pos, w = _wing(
        inner_diameter_m,
        outer_diameter_m,
        turns,
        layers,
        winding_height_m,
        winding_offset_m,
        element_size_m,
        height_subdivisions,
    )
    mom = np.zeros_like(pos)
    mom[:, 2] = -w
    return Coil(name, pos, mom, source=source, verified=verified, notes=notes)


def figure_of_eight_coil(
    inner_diameter_m: float,
    outer_diameter_m: float,
    turns_per_wing: int,
    wing_separation_m: float,
    *,
    layers: int = 1,
    winding_height_m: float = 0.006,
    winding_offset_m: float = 0.0065,
    element_size_m: float = _DEFAULT_ELEMENT_M,
    height_subdivisions: int = 2,
    name: str = "figure-of-eight coil",
    source: str = "user geometry",
    verified: bool = False,
    notes: tuple[str, ...] = (),
) -> Coil:
    """Build a flat figure-of-eight coil: two spiral wings, opposite currents.

    Parameters
    ----------
    inner_diameter_m, outer_diameter_m : float
        Inner and outer diameter of each wing's winding, m.
    turns_per_wing : int
        Turns per wing and layer.
    wing_separation_m : float
        Distance between the wing centres, m (at least the outer diameter).
    layers, winding_height_m, winding_offset_m, element_size_m, height_subdivisions
        As in :func:`circular_coil`.
    name, source, verified, notes
        As in :func:`circular_coil`.

    Returns
    -------
    coil : Coil
        Wings centred at ``x = -+ wing_separation_m / 2``; the left wing's moments
        point away from the head.

    Raises
    ------
    ValueError
        If a parameter is out of range (the message names it).
    TypeError
        If an integer parameter is not an int.
    """
    _check_winding(
        inner_diameter_m,
        outer_diameter_m,
        turns_per_wing,
        layers,
        winding_height_m,
        winding_offset_m,
        element_size_m,
        height_subdivisions,
    )
    check_range(wing_separation_m, "wing_separation_m", outer_diameter_m, 0.5, unit="m")
    pos, w = _wing(
        inner_diameter_m,
        outer_diameter_m,
        turns_per_wing,
        layers,
        winding_height_m,
        winding_offset_m,
        element_size_m,
        height_subdivisions,
    )
    shift = np.array([wing_separation_m / 2.0, 0.0, 0.0])
    positions = np.vstack([pos - shift, pos + shift])
    mom = np.zeros_like(positions)
    mom[:, 2] = np.concatenate([-w, w])
    return Coil(name, positions, mom, source=source, verified=verified, notes=notes)


def _magstim_70mm_fig8(element_size_m: float, height_subdivisions: int) -> Coil:
    notes = (
        "outer diameter 87 mm, inner 56 mm, 9 turns/wing, 6 mm winding height: "
        "Deng et al. 2013 suppl. coil #31 (verified via SimNIBS docs)",
        "wing centre distance 90 mm, winding mid-plane 6.5 mm above the coil bottom: "
        "Thielscher & Kammer 2004 X-ray model as distributed with SimNIBS (verified "
        "in that file)",
        "current sign as in the SimNIBS model; stimulator pairing: Magstim Rapid + "
        "D70 (Drakaki et al. 2022)",
    )
    return figure_of_eight_coil(
        C.MAGSTIM_70MM_FIG8_INNER_DIAMETER_M,
        C.MAGSTIM_70MM_FIG8_OUTER_DIAMETER_M,
        C.MAGSTIM_70MM_FIG8_TURNS_PER_WING,
        C.MAGSTIM_70MM_FIG8_WING_SEPARATION_M,
        winding_height_m=C.MAGSTIM_70MM_FIG8_WINDING_HEIGHT_M,
        winding_offset_m=C.MAGSTIM_70MM_FIG8_WINDING_OFFSET_M,
        element_size_m=element_size_m,
        height_subdivisions=height_subdivisions,
        name="magstim_70mm_fig8",
        source="Deng et al. 2013 (winding); Thielscher & Kammer 2004 (layout)",
        verified=True,
        notes=notes,
    )


def _magstim_70mm_circular(element_size_m: float, height_subdivisions: int) -> Coil:
    notes = (
        "outer diameter 94 mm, inner 40 mm, 15 turns, 6 mm winding height: Deng et "
        "al. 2013 suppl. coil #4 (verified via SimNIBS docs)",
        "winding mid-plane 6.5 mm above the coil bottom: taken from the 70 mm "
        "figure-of-eight casing (TO VERIFY)",
    )
    return circular_coil(
        C.MAGSTIM_70MM_CIRCULAR_INNER_DIAMETER_M,
        C.MAGSTIM_70MM_CIRCULAR_OUTER_DIAMETER_M,
        C.MAGSTIM_70MM_CIRCULAR_TURNS,
        winding_height_m=C.MAGSTIM_70MM_CIRCULAR_WINDING_HEIGHT_M,
        winding_offset_m=C.MAGSTIM_70MM_FIG8_WINDING_OFFSET_M,
        element_size_m=element_size_m,
        height_subdivisions=height_subdivisions,
        name="magstim_70mm_circular",
        source="Deng et al. 2013 (winding)",
        verified=False,
        notes=notes,
    )


def _magventure_butterfly(
    name: str, element_size_m: float, height_subdivisions: int
) -> Coil:
    notes = (
        "outer diameter 75 mm, inner 35 mm, 5 turns x 2 layers per wing: MagVenture "
        "C-B60, Deng et al. 2013 suppl. coil #29 (verified via SimNIBS docs)",
        "11 mm total winding height (interpretation of the 1.75 x 11 mm cross-section, "
        "TO VERIFY)",
        "wing centre distance 80 mm and mid-plane 9.5 mm above the coil bottom: "
        "modelling choices from the Drakaki et al. 2022 dipole grids (TO VERIFY)",
        "wings modelled flat (the B65 has slightly angled wings, TO VERIFY)",
    )
    return figure_of_eight_coil(
        C.MAGVENTURE_CB60_INNER_DIAMETER_M,
        C.MAGVENTURE_CB60_OUTER_DIAMETER_M,
        C.MAGVENTURE_CB60_TURNS_PER_LAYER,
        C.MAGVENTURE_BUTTERFLY_WING_SEPARATION_M,
        layers=C.MAGVENTURE_CB60_LAYERS,
        winding_height_m=C.MAGVENTURE_CB60_WINDING_HEIGHT_M,
        winding_offset_m=C.MAGVENTURE_BUTTERFLY_WINDING_OFFSET_M,
        element_size_m=element_size_m,
        height_subdivisions=height_subdivisions,
        name=name,
        source="Deng et al. 2013 (C-B60 winding); Drakaki et al. 2022 (layout)",
        verified=False,
        notes=notes,
    )


#: Names accepted by :func:`standard_coil`.
STANDARD_COILS: tuple[str, ...] = (
    "magstim_70mm_fig8",
    "magstim_70mm_circular",
    "magventure_c_b60",
    "magventure_b65_class",
)


def standard_coil(
    name: str,
    *,
    element_size_m: float = _DEFAULT_ELEMENT_M,
    height_subdivisions: int = 2,
) -> Coil:
    """Build a coil of a common size from its cited winding geometry.

    Parameters
    ----------
    name : str
        One of :data:`STANDARD_COILS`: ``"magstim_70mm_fig8"`` (Magstim 70 mm
        figure-of-eight, P/N 9925), ``"magstim_70mm_circular"`` (P/N 9762),
        ``"magventure_c_b60"`` and ``"magventure_b65_class"`` (the MagVenture
        butterfly class; the B65 is modelled with the C-B60 winding).
    element_size_m : float
        Target edge of the area elements, m.
    height_subdivisions : int
        Dipole planes per winding layer.

    Returns
    -------
    coil : Coil
        The model; ``coil.notes`` gives each parameter's source and whether it is
        verified, ``coil.verified`` is False if any is not.

    Raises
    ------
    ValueError
        If the name is unknown (with a suggestion) or a size is out of range.
    """
    check_option(name, "name", STANDARD_COILS)
    if name == "magstim_70mm_fig8":
        return _magstim_70mm_fig8(element_size_m, height_subdivisions)
    if name == "magstim_70mm_circular":
        return _magstim_70mm_circular(element_size_m, height_subdivisions)
    return _magventure_butterfly(name, element_size_m, height_subdivisions)


def coil_from_arrays(
    name: str,
    positions_m: ArrayLike,
    moments: ArrayLike,
    *,
    source: str = "user dipoles",
) -> Coil:
    """Build a :class:`Coil` from dipole arrays (convenience for users).

    Parameters
    ----------
    name : str
        Model name.
    positions_m : array-like, shape (N, 3)
        Positions in the coil frame, m.
    moments : array-like, shape (N, 3)
        Moments per ampere, m^2.
    source : str
        Provenance.

    Returns
    -------
    coil : Coil
        The coil.
    """
    return Coil(
        name,
        np.asarray(positions_m, dtype=np.float64),
        np.asarray(moments, dtype=np.float64),
        source=source,
    )
