"""Coil placement: the pose over a target that maximises the field there.

Approach (documented for the benchmark). In a spherical head every pose of a coil
lying on the scalp is a rotation of one reference pose, and the field is
rotation-equivariant. In the coil's own axes, with the sphere centre as origin, the
dipoles sit at the *same* positions ``c_j - (0, 0, R + gap)`` for every pose; only the
target moves, to ``q = R_pose^T (target - centre)``. So a search over P positions x O
orientations is one evaluation of :func:`e_field_sphere` for a fixed dipole set at
``P x O`` points ``q`` (built in closed form from a tangent basis: no loop over
poses), and ``|E|`` needs no back-rotation; the normal component is
``E_coil . (R_pose^T n)``.

Cost is (poses x dipoles). Above a budget, the search runs in two passes: a coarse
coil (dipoles merged on a ``coarse_cell_m`` grid, keeping each cell's total moment at
its moment-weighted centroid) ranks every pose, and the ``refine_top`` best are
re-evaluated with the full model, which picks the winner. The test suite checks that
this gives the brute-force optimum. The search is at the scale of the auxiliary
dipole method :footcite:`gomez2021` (about 5,900 positions x 360 orientations).

.. footbibliography::
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..utils import check_option, check_range, check_type
from ._coils import Coil
from ._pose import CoilPose, pose_on_sphere, tangent_basis
from ._sphere import SphereHead, as_points, e_field_sphere

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = ["PlacementResult", "optimise_placement", "placement_grid"]

#: Above this many (pose x dipole) pairs the search uses the coarse + refine passes.
FULL_SEARCH_MAX_PAIRS = 5_000_000
_GOLDEN_ANGLE = math.pi * (3.0 - math.sqrt(5.0))

Objective = Literal["magnitude", "normal"]


@dataclass(frozen=True)
class PlacementResult:
    """The best coil pose over a target.

    Attributes
    ----------
    pose : CoilPose
        The best pose.
    direction : tuple of float
        Outward unit vector of the scalp point under the coil centre.
    angle_deg : float
        Orientation angle (see :func:`~plptms.efield.pose_on_sphere`), degrees.
    e_field_v_per_m : tuple of float
        Field at the target for that pose (full model), head frame, V/m.
    magnitude_v_per_m : float
        Its magnitude, V/m.
    objective : str
        ``"magnitude"`` or ``"normal"``.
    objective_value_v_per_m : float
        The maximised value (``|E|`` or ``E . n``), V/m.
    strategy : str
        ``"full"`` or ``"coarse+refine"``.
    n_positions, n_orientations : int
        Grid size; poses = product.
    n_dipoles_search, n_dipoles_full : int
        Dipoles of the model used to rank all poses and of the full model.
    n_refined : int
        Poses re-evaluated with the full model.
    directions : ndarray, shape (n_positions, 3)
        Candidate scalp directions.
    angles_deg : ndarray, shape (n_orientations,)
        Candidate angles.
    objective_map : ndarray, shape (n_positions, n_orientations)
        Objective of every pose with the search model, V/m.
    """

    pose: CoilPose
    direction: tuple[float, float, float]
    angle_deg: float
    e_field_v_per_m: tuple[float, float, float]
    magnitude_v_per_m: float
    objective: str
    objective_value_v_per_m: float
    strategy: str
    n_positions: int
    n_orientations: int
    n_dipoles_search: int
    n_dipoles_full: int
    n_refined: int
    directions: NDArray[np.float64]
    angles_deg: NDArray[np.float64]
    objective_map: NDArray[np.float64]

    @property
    def n_poses(self) -> int:
        """Number of candidate poses."""
        return self.n_positions * self.n_orientations


def _unit(v: NDArray[np.float64], field: str) -> NDArray[np.float64]:
    norm = float(np.linalg.norm(v))
    if norm == 0.0:
        raise ValueError(
            f"Invalid value for {field!r}: got the zero vector; allowed: a non-zero "
            "vector."
        )
    return v / norm


def placement_grid(
    head: SphereHead,
    target_m: ArrayLike,
    *,
    max_offset_mm: float = 30.0,
    n_positions: int = 500,
    n_orientations: int = 36,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Candidate coil positions and orientations over a target.

    Positions are a Fibonacci spiral (even area density) on the scalp cap within
    ``max_offset_mm`` (geodesic) of the point above the target; orientations are
    evenly spaced over 360 degrees.

    Parameters
    ----------
    head : SphereHead
        The head model.
    target_m : array-like, shape (3,)
        Target, m (not at the centre).
    max_offset_mm : float
        Cap radius along the scalp, mm, in (0, 150].
    n_positions : int
        Positions, in [1, 100000].
    n_orientations : int
        Orientations, in [1, 3600].

    Returns
    -------
    directions : ndarray, shape (n_positions, 3)
        Outward unit vectors of the scalp points.
    angles_deg : ndarray, shape (n_orientations,)
        Angles, degrees.

    Raises
    ------
    ValueError
        If a value is out of range or the target is at the centre.
    """
    target = as_points(target_m, "target_m", ndim2=False)
    offset = check_range(
        max_offset_mm, "max_offset_mm", 0.0, 150.0, low_inclusive=False, unit="mm"
    )
    check_type(n_positions, int, "n_positions")
    check_type(n_orientations, int, "n_orientations")
    check_range(n_positions, "n_positions", 1, 100_000)
    check_range(n_orientations, "n_orientations", 1, 3600)
    u_t = _unit(target - head.center, "target_m")
    theta_max = min(offset * 1e-3 / head.scalp_radius_m, math.pi)
    k = np.arange(n_positions, dtype=np.float64)
    cos_t = 1.0 - (k + 0.5) / n_positions * (1.0 - math.cos(theta_max))
    if n_positions == 1:
        cos_t = np.ones(1)
    sin_t = np.sqrt(np.clip(1.0 - cos_t * cos_t, 0.0, None))
    phi = k * _GOLDEN_ANGLE
    e1, e2 = tangent_basis(u_t[None, :])
    directions = (
        cos_t[:, None] * u_t[None, :]
        + (sin_t * np.cos(phi))[:, None] * e1
        + (sin_t * np.sin(phi))[:, None] * e2
    )
    directions /= np.linalg.norm(directions, axis=1)[:, None]
    angles = np.arange(n_orientations, dtype=np.float64) * (360.0 / n_orientations)
    return directions, angles


def _to_coil_frame(
    directions: NDArray[np.float64],
    angles_deg: NDArray[np.float64],
    vec: NDArray[np.float64],
) -> NDArray[np.float64]:
    """``R_pose^T vec`` for every pose, shape (P, O, 3), in closed form."""
    e1, e2 = tangent_basis(directions)
    a1 = e1 @ vec
    a2 = e2 @ vec
    a3 = directions @ vec
    ang = np.deg2rad(angles_deg)
    c = np.cos(ang)[None, :]
    s = np.sin(ang)[None, :]
    out = np.empty((directions.shape[0], angles_deg.shape[0], 3))
    # y = c e1 + s e2, z = -u, x = y x z = c e2 - s e1
    out[..., 0] = c * a2[:, None] - s * a1[:, None]
    out[..., 1] = c * a1[:, None] + s * a2[:, None]
    out[..., 2] = -a3[:, None]
    return out


def _objective(
    e: NDArray[np.float64], normal_c: NDArray[np.float64] | None
) -> NDArray[np.float64]:
    if normal_c is None:
        return np.asarray(np.sqrt(np.einsum("ij,ij->i", e, e)), dtype=np.float64)
    return np.asarray(np.einsum("ij,ij->i", e, normal_c), dtype=np.float64)


def optimise_placement(
    coil: Coil,
    target_m: ArrayLike,
    *,
    head: SphereHead | None = None,
    objective: Objective = "magnitude",
    normal: ArrayLike | None = None,
    max_offset_mm: float = 30.0,
    n_positions: int = 500,
    n_orientations: int = 36,
    coil_distance_mm: float = 0.0,
    didt_a_per_s: float = 1e6,
    strategy: Literal["auto", "full", "coarse+refine"] = "auto",
    coarse_cell_m: float = 0.01,
    refine_top: int = 2048,
) -> PlacementResult:
    """Choose the coil position and orientation that maximise the field at a target.

    Parameters
    ----------
    coil : Coil
        The coil (full model).
    target_m : array-like, shape (3,)
        Target inside the head, m.
    head : SphereHead | None
        Head model (default: 85 mm sphere at the origin).
    objective : {"magnitude", "normal"}
        Maximise ``|E|`` or ``E . n`` (signed: the current direction counts).
    normal : array-like, shape (3,) | None
        Cortical normal at the target (required for ``"normal"``). In a sphere the
        radial component is zero, so ``n`` must not be radial.
    max_offset_mm, n_positions, n_orientations
        The pose grid, see :func:`placement_grid`.
    coil_distance_mm : float
        Scalp-coil gap, mm.
    didt_a_per_s : float
        dI/dt for the reported field, A/s (the ranking does not depend on it).
    strategy : {"auto", "full", "coarse+refine"}
        ``"auto"`` uses the full model when poses x dipoles <=
        :data:`FULL_SEARCH_MAX_PAIRS`, else coarse + refine.
    coarse_cell_m : float
        Cell edge of the coarse model, m.
    refine_top : int
        Poses re-evaluated with the full model in the second pass.

    Returns
    -------
    result : PlacementResult
        The best pose, its field and the objective over the grid.

    Raises
    ------
    ValueError
        If an option is unknown, ``normal`` is missing or zero for ``"normal"``, or
        the target is not inside the head.

    .. footbibliography::
    """
    check_type(coil, Coil, "coil")
    hd = SphereHead() if head is None else head
    check_option(objective, "objective", ("magnitude", "normal"))
    check_option(strategy, "strategy", ("auto", "full", "coarse+refine"))
    check_type(refine_top, int, "refine_top")
    check_range(refine_top, "refine_top", 1, 10_000_000)
    gap = check_range(coil_distance_mm, "coil_distance_mm", 0.0, 50.0, unit="mm")
    target = as_points(target_m, "target_m", ndim2=False)
    t = target - hd.center
    if not float(np.linalg.norm(t)) < hd.scalp_radius_m:
        raise ValueError(
            f"Invalid value for 'target_m': got a point {np.linalg.norm(t) * 1e3:.1f} "
            f"mm from the centre; allowed: inside the head "
            f"(< {hd.scalp_radius_m * 1e3:g} mm)."
        )
    n_vec: NDArray[np.float64] | None = None
    if objective == "normal":
        if normal is None:
            raise ValueError(
                "Invalid value for 'normal': got None; allowed: a vector (required "
                "for objective 'normal')."
            )
        n_vec = _unit(as_points(normal, "normal", ndim2=False), "normal")
    directions, angles = placement_grid(
        hd,
        target,
        max_offset_mm=max_offset_mm,
        n_positions=n_positions,
        n_orientations=n_orientations,
    )
    r_c = hd.scalp_radius_m + gap * 1e-3
    shift = np.array([0.0, 0.0, r_c])
    q = _to_coil_frame(directions, angles, t).reshape(-1, 3)
    n_c = (
        None
        if n_vec is None
        else _to_coil_frame(directions, angles, n_vec).reshape(-1, 3)
    )
    n_poses = q.shape[0]
    full = (coil.positions_m - shift, coil.moments)
    use_full = strategy == "full" or (
        strategy == "auto" and n_poses * coil.n_dipoles <= FULL_SEARCH_MAX_PAIRS
    )
    if use_full:
        search_coil = coil
    else:
        search_coil = coil.coarsened(coarse_cell_m)
    e_search = e_field_sphere(
        search_coil.positions_m - shift, search_coil.moments, q, didt_a_per_s
    )
    obj = _objective(e_search, n_c)
    if use_full:
        best = int(np.argmax(obj))
        n_refined = 0
        e_best = e_search[best]
    else:
        k = min(refine_top, n_poses)
        top = np.argpartition(-obj, k - 1)[:k] if k < n_poses else np.arange(n_poses)
        e_top = e_field_sphere(full[0], full[1], q[top], didt_a_per_s)
        obj_top = _objective(e_top, None if n_c is None else n_c[top])
        j = int(np.argmax(obj_top))
        best = int(top[j])
        n_refined = k
        e_best = e_top[j]
    i_pos, i_ori = divmod(best, angles.shape[0])
    pose = pose_on_sphere(
        hd, directions[i_pos], float(angles[i_ori]), coil_distance_mm=gap
    )
    e_head = pose.rotation @ e_best
    value = float(np.linalg.norm(e_head)) if n_vec is None else float(e_head @ n_vec)
    return PlacementResult(
        pose=pose,
        direction=(
            float(directions[i_pos, 0]),
            float(directions[i_pos, 1]),
            float(directions[i_pos, 2]),
        ),
        angle_deg=float(angles[i_ori]),
        e_field_v_per_m=(float(e_head[0]), float(e_head[1]), float(e_head[2])),
        magnitude_v_per_m=float(np.linalg.norm(e_head)),
        objective=objective,
        objective_value_v_per_m=value,
        strategy="full" if use_full else "coarse+refine",
        n_positions=int(directions.shape[0]),
        n_orientations=int(angles.shape[0]),
        n_dipoles_search=search_coil.n_dipoles,
        n_dipoles_full=coil.n_dipoles,
        n_refined=n_refined,
        directions=directions,
        angles_deg=angles,
        objective_map=obj.reshape(directions.shape[0], angles.shape[0]),
    )
