"""Reading the field at a target from a SimNIBS mesh (synthetic mesh via meshio)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from plptms.efield import read_simnibs_field

meshio = pytest.importorskip("meshio")

RTOL = 1e-12
GM, WM = 2, 1


def _cube_mesh(n: int = 4, half_mm: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    g = np.linspace(-half_mm, half_mm, n + 1)
    xx, yy, zz = np.meshgrid(g, g, g, indexing="ij")
    pts = np.column_stack([xx.ravel(), yy.ravel(), zz.ravel()])

    def idx(i: int, j: int, k: int) -> int:
        return (i * (n + 1) + j) * (n + 1) + k

    corners = [
        (0, 0, 0),
        (1, 0, 0),
        (1, 1, 0),
        (0, 1, 0),
        (0, 0, 1),
        (1, 0, 1),
        (1, 1, 1),
        (0, 1, 1),
    ]
    split = [
        (0, 1, 2, 6),
        (0, 2, 3, 6),
        (0, 3, 7, 6),
        (0, 7, 4, 6),
        (0, 4, 5, 6),
        (0, 5, 1, 6),
    ]
    tets = []
    for i in range(n):
        for j in range(n):
            for k in range(n):
                v = [idx(i + a, j + b, k + c) for a, b, c in corners]
                tets.extend([[v[q] for q in t] for t in split])
    return pts, np.asarray(tets)


@pytest.fixture
def msh(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    # binary, as SimNIBS writes it (meshio 5.3 cannot read back its own ASCII
    # element data)
    pts, tets = _cube_mesh()
    cen = pts[tets].mean(axis=1)
    magn = 100.0 + cen[:, 0]  # V/m, linear in x
    e_vec = np.column_stack([magn, np.zeros_like(magn), np.zeros_like(magn)])
    tag = np.where(cen[:, 2] > 0, GM, WM)
    mesh = meshio.Mesh(
        pts,
        [("tetra", tets)],
        cell_data={
            "magnE": [magn],
            "E": [e_vec],
            "gmsh:physical": [tag],
            "gmsh:geometrical": [tag],
        },
    )
    path = tmp_path / "sub_TMS_1-0001_fig8_scalar.msh"
    meshio.write(path, mesh, file_format="gmsh22", binary=True)
    return path, pts, tets


def _containing(pts: np.ndarray, tets: np.ndarray, p: np.ndarray) -> int:
    for j, t in enumerate(tets):
        v = pts[t]
        lam = np.linalg.solve((v[1:] - v[0]).T, p - v[0])
        if np.all(lam >= -1e-12) and lam.sum() <= 1 + 1e-12:
            return j
    raise AssertionError("no containing tetrahedron")


def test_element_value_at_target(msh: tuple[Path, np.ndarray, np.ndarray]) -> None:
    path, pts, tets = msh
    target = np.array([1.1, 0.3, 2.2])
    r = read_simnibs_field(path, target)
    gm = tets[pts[tets].mean(axis=1)[:, 2] > 0]
    j = _containing(pts, gm, target)
    assert r.inside
    assert r.n_elements == 1
    assert r.tissues == (GM,)
    assert np.isclose(r.value_v_per_m, 100.0 + pts[gm[j]].mean(axis=0)[0], rtol=RTOL)


def test_vector_field_reported_as_magnitude(
    msh: tuple[Path, np.ndarray, np.ndarray],
) -> None:
    path, _, _ = msh
    a = read_simnibs_field(path, (1.1, 0.3, 2.2))
    b = read_simnibs_field(path, (1.1, 0.3, 2.2), field="E")
    assert np.isclose(a.value_v_per_m, b.value_v_per_m, rtol=RTOL)


def test_sphere_mean(msh: tuple[Path, np.ndarray, np.ndarray]) -> None:
    path, pts, tets = msh
    target = np.array([0.0, 0.0, 2.5])
    r = read_simnibs_field(path, target, method="sphere", radius_mm=3.0)
    cen = pts[tets].mean(axis=1)
    sel = (np.linalg.norm(cen - target, axis=1) <= 3.0) & (cen[:, 2] > 0)
    v = pts[tets[sel]]
    vol = np.abs(np.linalg.det(v[:, 1:] - v[:, :1])) / 6
    expected = np.sum(vol * (100.0 + cen[sel, 0])) / vol.sum()
    assert r.n_elements == int(sel.sum())
    assert np.isclose(r.value_v_per_m, expected, rtol=RTOL)


def test_outside_target_uses_nearest(msh: tuple[Path, np.ndarray, np.ndarray]) -> None:
    path, _, _ = msh
    r = read_simnibs_field(path, (0.0, 0.0, 9.0), tissues=None)
    assert not r.inside
    assert r.distance_mm > 3.0


def test_errors(msh: tuple[Path, np.ndarray, np.ndarray]) -> None:
    path, _, _ = msh
    with pytest.raises(ValueError, match="field"):
        read_simnibs_field(path, (0, 0, 1), field="normE")
    with pytest.raises(ValueError, match="tissues"):
        read_simnibs_field(path, (0, 0, 1), tissues=(1002,))
    with pytest.raises(ValueError, match="radius_mm"):
        read_simnibs_field(path, (0, 0, 30), method="sphere", radius_mm=1.0)
    with pytest.raises(ValueError, match="method"):
        read_simnibs_field(path, (0, 0, 1), method="nearest")  # type: ignore[arg-type]
