"""Coil poses: where the coil sits and how it is turned."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator

from ..utils import check_finite, check_range
from ._sphere import SphereHead, as_points

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = ["CoilPose", "pose_on_sphere", "tangent_basis"]

_ORTHO_TOL = 1e-6
_Vec3 = tuple[float, float, float]


class CoilPose(BaseModel):
    """Position and orientation of the coil frame in head coordinates.

    Parameters
    ----------
    center_m : tuple of float
        Origin of the coil frame (centre of the coil bottom) in head coordinates, m.
    y_axis : tuple of float
        Coil ``y`` axis in head coordinates (unit vector); at rising current the field
        under a figure-of-eight built by :func:`figure_of_eight_coil` points along it.
    z_axis : tuple of float
        Coil ``z`` axis (unit vector pointing into the head).

    Raises
    ------
    ValueError
        If an axis is not a unit vector or the axes are not orthogonal.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    center_m: _Vec3
    y_axis: _Vec3
    z_axis: _Vec3

    @model_validator(mode="after")
    def _check(self) -> Self:
        for name in ("center_m", "y_axis", "z_axis"):
            for k, c in enumerate(getattr(self, name)):
                check_finite(c, f"{name}[{k}]")
        for name in ("y_axis", "z_axis"):
            norm = math.sqrt(sum(c * c for c in getattr(self, name)))
            if abs(norm - 1.0) > _ORTHO_TOL:
                raise ValueError(
                    f"Invalid value for {name!r}: got a vector of norm {norm:.6g}; "
                    "allowed: a unit vector (norm 1)."
                )
        dot = sum(a * b for a, b in zip(self.y_axis, self.z_axis, strict=True))
        if abs(dot) > _ORTHO_TOL:
            raise ValueError(
                f"Invalid value for 'y_axis': got y . z = {dot:.3g}; allowed: "
                "orthogonal to 'z_axis'."
            )
        return self

    @property
    def center(self) -> NDArray[np.float64]:
        """Origin of the coil frame, m."""
        return np.asarray(self.center_m, dtype=np.float64)

    @property
    def rotation(self) -> NDArray[np.float64]:
        """Rotation matrix whose columns are the coil x, y, z axes in head frame."""
        y = np.asarray(self.y_axis, dtype=np.float64)
        z = np.asarray(self.z_axis, dtype=np.float64)
        return np.column_stack([np.cross(y, z), y, z])


def tangent_basis(
    directions: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return reference tangent vectors for orientation angles on a sphere.

    ``e1`` is the head ``+y`` axis (anterior in RAS/MNI coordinates) projected on the
    tangent plane, or ``+z`` where the direction is within about 1 degree of the y
    axis; ``e2 = u x e1`` so that (e1, e2, u) is right-handed with ``u`` outward.

    Parameters
    ----------
    directions : ndarray, shape (N, 3)
        Outward unit vectors.

    Returns
    -------
    e1, e2 : ndarray, shape (N, 3)
        Unit tangent vectors.
    """
    ref = np.zeros_like(directions)
    ref[:, 1] = 1.0
    near_y = np.abs(directions[:, 1]) > 0.9998
    ref[near_y] = (0.0, 0.0, 1.0)
    e1 = ref - np.einsum("ij,ij->i", ref, directions)[:, None] * directions
    e1 /= np.linalg.norm(e1, axis=1)[:, None]
    e2 = np.cross(directions, e1)
    return e1, e2


def _unit(v: NDArray[np.float64], field: str) -> NDArray[np.float64]:
    norm = float(np.linalg.norm(v))
    if norm == 0.0:
        raise ValueError(
            f"Invalid value for {field!r}: got the zero vector; allowed: a non-zero "
            "direction."
        )
    return v / norm


def pose_on_sphere(
    head: SphereHead,
    direction: ArrayLike,
    angle_deg: float = 0.0,
    *,
    coil_distance_mm: float = 0.0,
) -> CoilPose:
    """Return the pose of a coil lying on the scalp sphere.

    Parameters
    ----------
    head : SphereHead
        The head model.
    direction : array-like, shape (3,)
        Direction from the sphere centre to the scalp point under the coil centre
        (need not be normalised).
    angle_deg : float
        Orientation of the coil ``y`` axis about the outward normal, degrees,
        counter-clockwise seen from outside, from the projected head ``+y`` axis
        (see :func:`tangent_basis`).
    coil_distance_mm : float
        Gap between scalp and coil bottom (hair, cap), mm, in [0, 50].

    Returns
    -------
    pose : CoilPose
        Coil centre at ``center + (R + gap) u``, ``z`` axis ``-u``.

    Raises
    ------
    ValueError
        If the direction is zero or a value is out of range.
    """
    u = _unit(as_points(direction, "direction", ndim2=False), "direction")
    ang = math.radians(check_finite(angle_deg, "angle_deg", "deg"))
    gap = check_range(coil_distance_mm, "coil_distance_mm", 0.0, 50.0, unit="mm")
    e1, e2 = tangent_basis(u[None, :])
    y = math.cos(ang) * e1[0] + math.sin(ang) * e2[0]
    center = head.center + (head.scalp_radius_m + gap * 1e-3) * u
    return CoilPose(
        center_m=(float(center[0]), float(center[1]), float(center[2])),
        y_axis=(float(y[0]), float(y[1]), float(y[2])),
        z_axis=(float(-u[0]), float(-u[1]), float(-u[2])),
    )
