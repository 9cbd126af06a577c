"""Read the field at a target from a SimNIBS realistic-head simulation (``.msh``).

SimNIBS writes Gmsh meshes (format 2.2) in mm with the field as element data
(``magnE`` in V/m, the vector ``E``) and the tissue in the ``gmsh:physical`` tag
(grey matter volume = 2) :footcite:`saturnino2019`. The mesh is read with meshio,
imported only here, with an install hint if it is missing.

.. footbibliography::
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..utils import check_option, check_range
from ._sphere import as_points

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence
    from types import ModuleType

    from numpy.typing import ArrayLike, NDArray

__all__ = ["SimnibsFieldAtTarget", "read_simnibs_field"]

#: SimNIBS tissue tag of the grey-matter volume.
SIMNIBS_GM_TAG = 2
_K_NEAREST = 32


def _soft_import(name: str) -> ModuleType:
    from ..utils import soft_import

    return soft_import(name, "read SimNIBS meshes (read_simnibs_field)")


class SimnibsFieldAtTarget(BaseModel):
    """The field at a target read from a SimNIBS mesh.

    Attributes
    ----------
    field : str
        Element-data field read (``magnE``, or ``E`` reported as its magnitude).
    value_v_per_m : float
        Field at the target, V/m.
    method : str
        ``"element"`` (the tetrahedron containing the target, or the nearest one) or
        ``"sphere"`` (volume-weighted mean within ``radius_mm``).
    target_mm : tuple of float
        Target, mesh coordinates, mm.
    element_index : int
        Index (among the selected tetrahedra) of the element used (``"element"``) or
        nearest to the target (``"sphere"``).
    inside : bool
        Whether the target lies inside that element.
    distance_mm : float
        Distance from the target to that element's centroid, mm.
    n_elements : int
        Elements averaged.
    tissues : tuple of int
        Tissue tags considered (empty: all).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str
    value_v_per_m: float
    method: str
    target_mm: tuple[float, float, float]
    element_index: int
    inside: bool
    distance_mm: float
    n_elements: int
    tissues: tuple[int, ...]


def _barycentric_inside(
    nodes: NDArray[np.float64], tets: NDArray[np.int64], p: NDArray[np.float64]
) -> NDArray[np.bool_]:
    v = nodes[tets]  # (K, 4, 3)
    t = np.transpose(v[:, 1:] - v[:, :1], (0, 2, 1))  # (K, 3, 3)
    rhs = p[None, :] - v[:, 0]
    ok = np.abs(np.linalg.det(t)) > 0
    lam = np.full((tets.shape[0], 3), -1.0)
    if np.any(ok):
        lam[ok] = np.linalg.solve(t[ok], rhs[ok][..., None])[..., 0]
    tol = -1e-9
    return np.asarray(
        np.all(lam >= tol, axis=1) & (lam.sum(axis=1) <= 1.0 - tol), dtype=np.bool_
    )


def read_simnibs_field(
    path: str | os.PathLike[str],
    target_mm: ArrayLike,
    *,
    field: str = "magnE",
    tissues: Sequence[int] | None = (SIMNIBS_GM_TAG,),
    method: Literal["element", "sphere"] = "element",
    radius_mm: float = 2.0,
) -> SimnibsFieldAtTarget:
    """Report the field at a target from a SimNIBS simulation mesh.

    Parameters
    ----------
    path : str | path-like
        A SimNIBS result mesh (``*_TMS_*.msh``) or any Gmsh mesh with element data.
    target_mm : array-like, shape (3,)
        Target in the mesh's coordinates (SimNIBS subject space), mm.
    field : str
        Element-data field: ``"magnE"`` (V/m) or a vector field such as ``"E"``
        (its magnitude is reported).
    tissues : sequence of int | None
        Tissue tags (``gmsh:physical``) to consider; default grey matter (2);
        ``None`` for all tetrahedra.
    method : {"element", "sphere"}
        ``"element"``: the value of the tetrahedron containing the target (the
        nearest one if none does); ``"sphere"``: the volume-weighted mean over the
        tetrahedra whose centroid lies within ``radius_mm``.
    radius_mm : float
        Radius for ``"sphere"``, mm, in (0, 50].

    Returns
    -------
    result : SimnibsFieldAtTarget
        The value and how it was obtained.

    Raises
    ------
    ImportError
        If meshio is not installed (with an install hint).
    ValueError
        If the field or tissue is absent, the method unknown, or no element lies
        within ``radius_mm``.
    """
    check_option(method, "method", ("element", "sphere"))
    radius = check_range(
        radius_mm, "radius_mm", 0.0, 50.0, low_inclusive=False, unit="mm"
    )
    target = as_points(target_mm, "target_mm", ndim2=False)
    meshio = _soft_import("meshio")
    spatial = importlib.import_module("scipy.spatial")
    mesh = meshio.read(str(path))
    if field not in mesh.cell_data:
        raise ValueError(
            f"Invalid value for 'field': got {field!r}; allowed values are "
            + ", ".join(repr(k) for k in mesh.cell_data if not k.startswith("gmsh:"))
            + "."
        )
    nodes = np.asarray(mesh.points, dtype=np.float64)
    tag_data = mesh.cell_data.get("gmsh:physical")
    tets_l: list[NDArray[np.int64]] = []
    vals_l: list[NDArray[np.float64]] = []
    tags_l: list[NDArray[np.int64]] = []
    for i, block in enumerate(mesh.cells):
        if block.type != "tetra":
            continue
        data = np.asarray(mesh.cell_data[field][i], dtype=np.float64)
        if data.ndim == 2 and data.shape[1] == 3:
            data = np.linalg.norm(data, axis=1)
        data = data.reshape(-1)
        tets_l.append(np.asarray(block.data, dtype=np.int64))
        vals_l.append(data)
        tag = (
            np.asarray(tag_data[i], dtype=np.int64).reshape(-1)
            if tag_data is not None
            else np.zeros(len(data), dtype=np.int64)
        )
        tags_l.append(tag)
    if not tets_l:
        raise ValueError(
            "Invalid value for 'path': the mesh has no tetrahedra; allowed: a SimNIBS "
            "volume mesh."
        )
    tets = np.vstack(tets_l)
    vals = np.concatenate(vals_l)
    tags = np.concatenate(tags_l)
    wanted: tuple[int, ...] = ()
    if tissues is not None:
        wanted = tuple(int(t) for t in tissues)
        keep = np.isin(tags, wanted)
        if not np.any(keep):
            raise ValueError(
                f"Invalid value for 'tissues': got {list(wanted)}; allowed: tags "
                f"present in the mesh, {sorted(set(tags.tolist()))}."
            )
        tets, vals = tets[keep], vals[keep]
    centroids = nodes[tets].mean(axis=1)
    tree = spatial.cKDTree(centroids)
    k = min(_K_NEAREST, len(tets))
    dist, idx = tree.query(target, k=k)
    dist = np.atleast_1d(dist)
    idx = np.atleast_1d(idx)
    inside = _barycentric_inside(nodes, tets[idx], target)
    j = int(idx[int(np.argmax(inside))]) if np.any(inside) else int(idx[0])
    d_j = float(np.linalg.norm(centroids[j] - target))
    tvec = (float(target[0]), float(target[1]), float(target[2]))
    if method == "element":
        return SimnibsFieldAtTarget(
            field=field,
            value_v_per_m=float(vals[j]),
            method=method,
            target_mm=tvec,
            element_index=j,
            inside=bool(np.any(inside)),
            distance_mm=d_j,
            n_elements=1,
            tissues=wanted,
        )
    near = np.asarray(tree.query_ball_point(target, r=radius), dtype=np.int64)
    if near.size == 0:
        raise ValueError(
            f"Invalid value for 'radius_mm': got {radius_mm!r}; no element centroid "
            f"lies within it (nearest at {float(dist[0]):.2f} mm); allowed: a larger "
            "radius."
        )
    v = nodes[tets[near]]
    vol = np.abs(np.linalg.det(np.transpose(v[:, 1:] - v[:, :1], (0, 2, 1)))) / 6.0
    mean = float(np.sum(vol * vals[near]) / np.sum(vol))
    return SimnibsFieldAtTarget(
        field=field,
        value_v_per_m=mean,
        method=method,
        target_mm=tvec,
        element_index=j,
        inside=bool(np.any(inside)),
        distance_mm=d_j,
        n_elements=int(near.size),
        tissues=wanted,
    )
