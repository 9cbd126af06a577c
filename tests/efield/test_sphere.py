"""The analytic sphere field: references, an independent solution, symmetries."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plptms.efield import SphereHead, e_field_sphere, e_field_sphere_loop

from .conftest import DATA, random_setup

#: Vectorised vs loop vs SimNIBS: the same formula, so only rounding differs.
RTOL_SAME_FORMULA = 1e-9
#: Independent spectral (Neumann) solution vs the closed form.
RTOL_SPECTRAL = 1e-10
#: Symmetry checks (rounding of sums of ~1e3 terms).
RTOL_SYMMETRY = 1e-10
MU0_4PI = 1e-7


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def test_matches_simnibs_tms_e_field_pinned() -> None:
    ref = json.loads((DATA / "efield_simnibs_tms_E_field.json").read_text())
    e = e_field_sphere(
        ref["dipole_positions_m"],
        ref["dipole_moments"],
        ref["points_m"],
        ref["didt_a_per_s"],
    )
    assert _rel(e, np.asarray(ref["e_field_v_per_m"])) <= RTOL_SAME_FORMULA


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vectorised_equals_loop(seed: int) -> None:
    pos, mom, pts = random_setup(seed, n_dip=40, n_pts=300)
    a = e_field_sphere(pos, mom, pts, 1e6, chunk_pairs=1000)
    b = e_field_sphere_loop(pos, mom, pts, 1e6)
    assert _rel(a, b) <= RTOL_SAME_FORMULA


def test_chunking_does_not_change_result() -> None:
    pos, mom, pts = random_setup(3, n_dip=17, n_pts=101)
    ref = e_field_sphere(pos, mom, pts, 1e6, chunk_pairs=10**9)
    for chunk in (1, 17, 100, 1000):
        assert _rel(e_field_sphere(pos, mom, pts, 1e6, chunk_pairs=chunk), ref) <= 1e-14


def _primary(
    pos: np.ndarray, mom: np.ndarray, pts: np.ndarray, didt: float
) -> np.ndarray:
    """Free-space E = -dA/dt of magnetic dipoles, V/m."""
    e = np.zeros_like(pts)
    for r0, m in zip(pos, mom, strict=True):
        d = pts - r0
        e += np.cross(m, d) / np.linalg.norm(d, axis=1)[:, None] ** 3
    return -MU0_4PI * didt * e


def _spectral_field(
    pos: np.ndarray,
    mom: np.ndarray,
    pts: np.ndarray,
    didt: float,
    radius: float,
    l_max: int = 70,
    n_theta: int = 128,
) -> np.ndarray:
    """Independent solution: E = E_primary - grad(phi), Laplace with Neumann BC.

    The surface charge keeps the normal current zero: d(phi)/dr = E_p . n at r = R.
    phi = sum_l (R/l) (2l+1)/(4 pi) (r/R)^l int g(s) P_l(rhat . s) dOmega, evaluated
    by Gauss-Legendre x trapezoid quadrature of g = E_p . n on the sphere, with the
    exact gradient of the solid harmonics r^l P_l.
    """
    x_gl, w_gl = np.polynomial.legendre.leggauss(n_theta)
    n_phi = 2 * n_theta
    phi = np.arange(n_phi) * 2 * math.pi / n_phi
    ct = np.repeat(x_gl, n_phi)
    st_ = np.sqrt(1 - ct**2)
    ph = np.tile(phi, n_theta)
    s = np.column_stack([st_ * np.cos(ph), st_ * np.sin(ph), ct])
    w = np.repeat(w_gl, n_phi) * (2 * math.pi / n_phi)
    g = np.einsum("ij,ij->i", _primary(pos, mom, radius * s, didt), s)
    out = np.empty_like(pts)
    for k, r in enumerate(pts):
        rn = float(np.linalg.norm(r))
        rhat = r / rn
        x = s @ rhat
        p_prev, p = np.ones_like(x), x.copy()  # P_0, P_1
        dp_prev, dp = np.zeros_like(x), np.ones_like(x)  # P_0', P_1'
        grad = np.zeros(3)
        for ell in range(1, l_max + 1):
            coef = (radius / ell) * (2 * ell + 1) / (4 * math.pi) * radius**-ell
            a = coef * rn ** (ell - 1)
            wg = w * g
            grad += a * (
                ell * np.sum(wg * p) * rhat + (wg * dp) @ (s - x[:, None] * rhat)
            )
            p_next = ((2 * ell + 1) * x * p - ell * p_prev) / (ell + 1)
            dp_next = dp_prev + (2 * ell + 1) * p
            p_prev, p = p, p_next
            dp_prev, dp = dp, dp_next
        out[k] = -grad
    return out + _primary(pos, mom, pts, didt)


def test_against_independent_spectral_solution() -> None:
    radius = 0.085
    pos, mom, pts = random_setup(
        11, n_dip=4, n_pts=6, r_dip=(1.3 * radius, 1.6 * radius)
    )
    pts = pts * (0.8 * radius / 0.08)  # inside 0.8 R
    pts[0] = (1e-3, -2e-3, 0.06)
    ref = _spectral_field(pos, mom, pts, 1e6, radius)
    e = e_field_sphere(pos, mom, pts, 1e6)
    assert _rel(e, ref) <= RTOL_SPECTRAL
    # the surface charges matter: the primary field alone is far off
    assert _rel(_primary(pos, mom, pts, 1e6), ref) > 0.05


def test_radial_dipole_gives_primary_field_only() -> None:
    # Heller & van Hulsteyn (1992), eq. 3.10: no surface charge for a radial source
    pos = np.array([[0.0, 0.03, 0.1]])
    mom = pos / np.linalg.norm(pos) * 2e-4
    _, _, pts = random_setup(5, n_pts=50)
    e = e_field_sphere(pos, mom, pts, 1e6)
    assert _rel(e, _primary(pos, mom, pts, 1e6)) <= RTOL_SAME_FORMULA


@pytest.mark.parametrize("seed", [0, 7])
def test_no_radial_component(seed: int) -> None:
    pos, mom, pts = random_setup(seed, n_dip=30, n_pts=200)
    e = e_field_sphere(pos, mom, pts, 1e6)
    radial = np.einsum("ij,ij->i", e, pts) / np.maximum(
        np.linalg.norm(pts, axis=1), 1e-12
    )
    assert np.max(np.abs(radial)) <= RTOL_SYMMETRY * np.max(np.linalg.norm(e, axis=1))


def test_field_vanishes_at_centre() -> None:
    pos, mom, _ = random_setup(2, n_dip=10)
    e = e_field_sphere(pos, mom, np.zeros(3), 1e6)
    assert np.all(e == 0.0)


def test_linear_in_didt_and_moment() -> None:
    pos, mom, pts = random_setup(4, n_dip=12, n_pts=20)
    e1 = e_field_sphere(pos, mom, pts, 1e6)
    assert _rel(e_field_sphere(pos, mom, pts, 3.7e6), 3.7 * e1) <= RTOL_SYMMETRY
    assert _rel(e_field_sphere(pos, -2.5 * mom, pts, 1e6), -2.5 * e1) <= RTOL_SYMMETRY
    mom2 = np.random.default_rng(9).normal(size=mom.shape) * 1e-4
    e2 = e_field_sphere(pos, mom2, pts, 1e6)
    assert _rel(e_field_sphere(pos, mom + mom2, pts, 1e6), e1 + e2) <= RTOL_SYMMETRY
    # superposition over dipoles
    half = e_field_sphere(pos[:5], mom[:5], pts, 1e6) + e_field_sphere(
        pos[5:], mom[5:], pts, 1e6
    )
    assert _rel(half, e1) <= RTOL_SYMMETRY


def test_rotation_equivariance() -> None:
    pos, mom, pts = random_setup(6, n_dip=15, n_pts=30)
    q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(3, 3)))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    e = e_field_sphere(pos, mom, pts, 1e6)
    e_rot = e_field_sphere(pos @ q.T, mom @ q.T, pts @ q.T, 1e6)
    assert _rel(e_rot, e @ q.T) <= RTOL_SYMMETRY


def test_translation_with_center() -> None:
    pos, mom, pts = random_setup(8, n_dip=9, n_pts=12)
    c = np.array([0.01, -0.02, 0.03])
    e = e_field_sphere(pos + c, mom, pts + c, 1e6, center_m=c)
    assert _rel(e, e_field_sphere(pos, mom, pts, 1e6)) <= RTOL_SYMMETRY


def test_rejects_points_outside_the_dipole_shell() -> None:
    pos, mom, _ = random_setup(1, n_dip=3)
    with pytest.raises(ValueError, match="points_m"):
        e_field_sphere(pos, mom, [[0.0, 0.0, 0.2]], 1e6)


def test_rejects_bad_shapes_and_values() -> None:
    pos, mom, pts = random_setup(1, n_dip=3)
    with pytest.raises(ValueError, match="dipole_moments"):
        e_field_sphere(pos, mom[:2], pts, 1e6)
    with pytest.raises(ValueError, match="dipole_positions_m"):
        e_field_sphere(pos[:, :2], mom, pts, 1e6)
    with pytest.raises(ValueError, match="didt_a_per_s"):
        e_field_sphere(pos, mom, pts, float("nan"))
    with pytest.raises(ValueError, match="points_m"):
        e_field_sphere(pos, mom, [[np.inf, 0, 0]], 1e6)


@settings(max_examples=40, deadline=None)
@given(st.floats(min_value=0.0401, max_value=0.15))
def test_sphere_head_radius_in_range_passes(radius: float) -> None:
    h = SphereHead(scalp_radius_m=radius)
    assert h.scalp_radius_m == radius
    assert SphereHead.model_validate(h.model_dump()) == h  # idempotent


@settings(max_examples=40, deadline=None)
@given(
    st.one_of(
        st.floats(max_value=0.04),
        st.floats(min_value=0.1501, max_value=1e6),
    )
)
def test_sphere_head_radius_out_of_range_raises(radius: float) -> None:
    with pytest.raises(ValueError, match="scalp_radius_m"):
        SphereHead(scalp_radius_m=radius)


def test_sphere_from_circumference() -> None:
    h = SphereHead.from_circumference(56.0)
    assert math.isclose(h.scalp_radius_m, 0.56 / (2 * math.pi), rel_tol=1e-12)
    with pytest.raises(ValueError, match="circumference_cm"):
        SphereHead.from_circumference(-1.0)
