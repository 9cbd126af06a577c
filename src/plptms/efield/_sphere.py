r"""The analytic E-field of magnetic dipoles outside a spherically symmetric conductor.

For a magnetic dipole of moment :math:`\mathbf m` at :math:`\mathbf r_0` outside a
sphere whose conductivity depends on the radius only, the induced field at
:math:`\mathbf r` inside is :footcite:`heller1992`

.. math::

    \mathbf E(\mathbf r) = -\frac{\mu_0}{4\pi}\frac{dI}{dt}\,
    \frac{F\,(\mathbf r\times\mathbf m)
    - (\mathbf m\cdot\nabla F)\,(\mathbf r\times\mathbf r_0)}{F^2},

with :math:`\mathbf a = \mathbf r_0 - \mathbf r`, :math:`F = a\,(r_0 a +
\mathbf r_0\cdot\mathbf a)` and :math:`\nabla F = (a^2/r_0 + 2a + 2r_0 +
\mathbf r_0\cdot\mathbf a/a)\,\mathbf r_0 - (a + 2r_0 + \mathbf r_0\cdot
\mathbf a/a)\,\mathbf r`. The field does not depend on the radial conductivity
profile :footcite:`sarvas1987`. It is the formula of SimNIBS's analytic reference
function ``tms_E_field`` (``simnibs/simulation/analytical_solutions.py``, which loops
over dipoles and which SimNIBS's own tests use as the oracle for its FEM solver); the
comparison with SimNIBS in the tests and the benchmark is with that function, not with
SimNIBS's FEM pipeline. Summing over dipoles ``j`` and factoring the cross product,

.. math::

    \mathbf E(\mathbf r) = -\frac{\mu_0}{4\pi}\frac{dI}{dt}\,\mathbf r\times
    \sum_j\Big[\frac{\mathbf m_j}{F_j}
    - \frac{\alpha_j(\mathbf m_j\cdot\mathbf r_{0j})
    - \beta_j(\mathbf m_j\cdot\mathbf r)}{F_j^2}\,\mathbf r_{0j}\Big],

where :math:`\nabla F_j = \alpha_j\mathbf r_{0j} - \beta_j\mathbf r`. The field is
exactly tangential (:math:`\mathbf r\cdot\mathbf E = 0`). Two engines evaluate the
sum:

- ``"numpy"`` (the reference, always available): two matrix products over a
  (points x dipoles) block of scalars, evaluated in cache-sized chunks, no Python loop
  over dipoles;
- ``"numba"`` (optional dependency, ``pip install plptms[numba]``): one fused compiled
  pass per (point, dipole) pair, parallel over points, no large temporary
  (``_sphere_numba``); the same formula, equal to the NumPy engine to rounding.

- ``"cuda"`` (optional, an NVIDIA GPU with Numba's CUDA target): the same fused
  pass on the GPU, one thread per point, dipoles staged through shared memory
  (``_sphere_cuda``); chosen only when asked for.

``"auto"`` (the default of every caller) picks Numba when it is installed and the
call is large enough to gain from it, NumPy otherwise; it never picks the GPU.

.. footbibliography::
"""

from __future__ import annotations

import importlib.util
import logging
from typing import TYPE_CHECKING, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, field_validator

from ..utils import check_finite, check_option, check_range, check_type, soft_import
from ._constants import HEAD_RADIUS_M, MU0_OVER_4PI_T_M_PER_A

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from numpy.typing import ArrayLike, NDArray

__all__ = ["ENGINES", "SphereHead", "as_points", "e_field_sphere", "resolve_engine"]

logger = logging.getLogger(__name__)

#: Engines of :func:`e_field_sphere`.
ENGINES = ("auto", "numpy", "numba", "cuda")

#: Below this many pairs (points x dipoles), "auto" stays with NumPy: the call is
#: sub-millisecond either way, and NumPy spares importing Numba and loading the
#: compiled kernel (about 1 s on the first call of a process, measured on the dev
#: machine) in a one-point dose computation.
_AUTO_NUMBA_MIN_PAIRS = 1 << 16

#: Pairs (points x dipoles) per block: 2**15 doubles = 256 kB per temporary, which
#: keeps the ~10 temporaries in the L2 cache (measured fastest on the dev machine).
_CHUNK_PAIRS = 1 << 15


class SphereHead(BaseModel):
    """A spherical head model.

    Parameters
    ----------
    scalp_radius_m : float
        Radius of the scalp sphere, m, in (0.04, 0.15] m; default 0.085 m
        :footcite:`deng2013`.
    center_m : tuple of float
        Centre of the sphere in head coordinates, m.

    Notes
    -----
    Only the centre matters for the field (any radial conductivity profile gives the
    same field :footcite:`sarvas1987`); the radius places the coil on the scalp.

    .. footbibliography::
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    scalp_radius_m: float = HEAD_RADIUS_M
    center_m: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @field_validator("scalp_radius_m")
    @classmethod
    def _check_radius(cls, v: float) -> float:
        return check_range(
            v, "scalp_radius_m", 0.04, 0.15, low_inclusive=False, unit="m"
        )

    @field_validator("center_m")
    @classmethod
    def _check_center(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        for k, c in enumerate(v):
            check_finite(c, f"center_m[{k}]", "m")
        return v

    @classmethod
    def from_circumference(cls, circumference_cm: float) -> Self:
        """Sphere whose great circle has the head circumference.

        Parameters
        ----------
        circumference_cm : float
            Head circumference, cm (e.g. ``HeadMeasurements.circumference_cm``).

        Returns
        -------
        head : SphereHead
            Sphere of radius ``circumference / (2 pi)``.

        Raises
        ------
        ValueError
            If the radius falls outside (0.04, 0.15] m.
        """
        c = check_range(
            circumference_cm,
            "circumference_cm",
            0.0,
            None,
            low_inclusive=False,
            unit="cm",
        )
        return cls(scalp_radius_m=c / 100.0 / (2.0 * np.pi))

    @property
    def center(self) -> NDArray[np.float64]:
        """Centre as an array, m."""
        return np.asarray(self.center_m, dtype=np.float64)


def as_points(
    value: ArrayLike, field: str, *, ndim2: bool = True
) -> NDArray[np.float64]:
    """Return ``value`` as a finite float array of shape (N, 3) (or (3,)).

    Parameters
    ----------
    value : array-like
        Coordinates.
    field : str
        Name used in error messages.
    ndim2 : bool
        If True, a single (3,) vector is promoted to (1, 3); otherwise (3,) is required.

    Returns
    -------
    arr : ndarray of float64
        The coordinates.

    Raises
    ------
    ValueError
        If the shape is wrong or a value is not finite.
    """
    arr = np.asarray(value, dtype=np.float64)
    if ndim2:
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != 3:
            raise ValueError(
                f"Invalid value for {field!r}: got an array of shape {arr.shape}; "
                "allowed: shape (N, 3)."
            )
    elif arr.shape != (3,):
        raise ValueError(
            f"Invalid value for {field!r}: got an array of shape {arr.shape}; "
            "allowed: shape (3,)."
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(
            f"Invalid value for {field!r}: got non-finite coordinates; allowed: finite "
            "numbers."
        )
    return arr


def _check_inputs(
    dipole_positions_m: ArrayLike,
    dipole_moments: ArrayLike,
    points_m: ArrayLike,
    didt_a_per_s: float,
    center_m: Sequence[float] | NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], float]:
    center = as_points(center_m, "center_m", ndim2=False)
    pos = as_points(dipole_positions_m, "dipole_positions_m") - center
    mom = as_points(dipole_moments, "dipole_moments")
    pts = as_points(points_m, "points_m") - center
    if pos.shape != mom.shape:
        raise ValueError(
            f"Invalid value for 'dipole_moments': got shape {mom.shape}; allowed: the "
            f"shape of 'dipole_positions_m', {pos.shape}."
        )
    didt = check_finite(didt_a_per_s, "didt_a_per_s", "A/s")
    if pos.shape[0] and pts.shape[0]:
        r_dip = float(np.sqrt(np.min(np.einsum("ij,ij->i", pos, pos))))
        r_pts = float(np.sqrt(np.max(np.einsum("ij,ij->i", pts, pts))))
        if not r_pts < r_dip:
            raise ValueError(
                f"Invalid value for 'points_m': got a point {r_pts:.6g} m from the "
                f"centre; allowed: every point closer to the centre than every dipole "
                f"(nearest dipole at {r_dip:.6g} m): the formula holds inside the "
                "conductor only."
            )
    return pos, mom, pts, didt


def _accumulate(
    pts: NDArray[np.float64],
    pos: NDArray[np.float64],
    mom: NDArray[np.float64],
    chunk_pairs: int,
    out: NDArray[np.float64],
) -> None:
    """Write ``r x V(r)`` (module docstring) for every point into ``out``.

    Works block by block on (rows x dipoles) scalars held in six buffers allocated
    once and reused (fresh 256 kB temporaries per operation cost more than the
    arithmetic: page faults), about 20 in-place passes and 4 small matrix products
    per block.
    """
    n_dip = pos.shape[0]
    r0sq = np.einsum("ij,ij->i", pos, pos)
    r0 = np.sqrt(r0sq)
    inv_r0 = 1.0 / r0
    two_r0 = 2.0 * r0
    m_dot_r0 = np.einsum("ij,ij->i", mom, pos)
    pos_t = np.ascontiguousarray(pos.T)
    mom_t = np.ascontiguousarray(mom.T)
    rows = min(max(1, int(chunk_pairs) // n_dip), pts.shape[0])
    bufs = [np.empty((rows, n_dip)) for _ in range(6)]
    for start in range(0, pts.shape[0], rows):
        r = pts[start : start + rows]
        n = r.shape[0]
        g, r0a, a, t, f, mr = (buf[:n] for buf in bufs)
        rsq = np.einsum("ij,ij->i", r, r)
        np.matmul(r, pos_t, out=g)  # r . r0
        np.negative(g, out=r0a)
        r0a += r0sq  # r0 . a
        g *= -2.0
        g += rsq[:, None]
        g += r0sq  # a^2
        np.sqrt(g, out=a)
        np.divide(r0a, a, out=t)
        np.multiply(a, r0, out=f)
        f += r0a
        f *= a  # F
        np.divide(1.0, f, out=f)  # 1 / F
        t += a
        t += two_r0  # beta
        g *= inv_r0
        g += a
        g += t  # alpha
        np.matmul(r, mom_t, out=mr)  # m . r
        g *= m_dot_r0
        t *= mr
        g -= t  # alpha (m . r0) - beta (m . r)
        g *= f
        g *= f  # w
        v = out[start : start + n]
        np.matmul(f, mom, out=v)
        v -= g @ pos
    out[:] = np.cross(pts, out)


def _dipole_table(
    pos: NDArray[np.float64], mom: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Return the compiled kernels' per-dipole numbers, shape (9, M), C order.

    Rows: position (3), moment (3), ``r0 = |position|``, ``1 / r0`` and
    ``m . r0``: what the Numba and CUDA kernels read per dipole.
    """
    r0 = np.sqrt(np.einsum("ij,ij->i", pos, pos))
    return np.ascontiguousarray(
        np.vstack([pos.T, mom.T, r0, 1.0 / r0, np.einsum("ij,ij->i", mom, pos)])
    )


def _numba_available() -> bool:
    """Whether Numba can be found (without importing it)."""
    return importlib.util.find_spec("numba") is not None


def _numba_kernel(*, required: bool) -> Callable[..., None] | None:
    """Return the Numba accumulator, or None if Numba fails to import when optional.

    Raises
    ------
    ImportError
        If ``required`` and Numba cannot be imported (with the install command).
    """
    try:
        from ._sphere_numba import accumulate_numba
    except ImportError:
        if required:
            soft_import(
                "numba", "run the 'numba' engine of e_field_sphere", package="numba"
            )
            raise  # numba imports but the kernel module does not: show why
        logger.debug("Numba could not be imported: e_field_sphere uses NumPy.")
        return None
    return accumulate_numba


def _cuda_kernel() -> Callable[..., None]:
    """Return the CUDA accumulator.

    Raises
    ------
    ImportError
        If Numba is not installed (with the install command).
    ValueError
        If no CUDA device can be used.
    """
    soft_import("numba", "run the 'cuda' engine of e_field_sphere", package="numba")
    from ._sphere_cuda import accumulate_cuda, cuda_available

    if not cuda_available():
        raise ValueError(
            "Invalid value for 'engine': got 'cuda', but no CUDA GPU is available "
            "(numba.cuda.is_available() is False); allowed here: 'auto', 'numpy', "
            "'numba'."
        )
    return accumulate_cuda


def resolve_engine(engine: str, n_pairs: int) -> str:
    """Return the engine that computes ``n_pairs`` pairs.

    Parameters
    ----------
    engine : str
        One of ``ENGINES``.
    n_pairs : int
        Points x dipoles of the call.

    Returns
    -------
    engine : str
        ``"numpy"``, ``"numba"`` or ``"cuda"``; ``"auto"`` gives Numba when it is
        installed and ``n_pairs >= _AUTO_NUMBA_MIN_PAIRS``, NumPy otherwise.

    Raises
    ------
    TypeError
        If ``engine`` is not a string.
    ValueError
        If ``engine`` is not one of ``ENGINES``.
    """
    check_type(engine, str, "engine")
    check_option(engine, "engine", ENGINES)
    if engine == "auto":
        use = n_pairs >= _AUTO_NUMBA_MIN_PAIRS and _numba_available()
        return "numba" if use else "numpy"
    return engine


def e_field_sphere(
    dipole_positions_m: ArrayLike,
    dipole_moments: ArrayLike,
    points_m: ArrayLike,
    didt_a_per_s: float,
    *,
    center_m: Sequence[float] | NDArray[np.float64] = (0.0, 0.0, 0.0),
    chunk_pairs: int = _CHUNK_PAIRS,
    engine: str = "auto",
) -> NDArray[np.float64]:
    """E-field inside a spherically symmetric conductor from external magnetic dipoles.

    Implements the closed form of Heller & van Hulsteyn :footcite:`heller1992`
    (valid for any radial conductivity profile :footcite:`sarvas1987`), vectorised
    over dipoles and points; see the module docstring for the formula and the
    engines.

    Parameters
    ----------
    dipole_positions_m : array-like, shape (M, 3)
        Dipole positions, m; all outside the sphere through the farthest point.
    dipole_moments : array-like, shape (M, 3)
        Dipole moments per ampere of coil current, A m^2 / A (= m^2).
    points_m : array-like, shape (P, 3) or (3,)
        Evaluation points inside the conductor, m.
    didt_a_per_s : float
        Rate of change of the coil current, A/s (e.g. ``1e6`` for 1 A/us).
    center_m : array-like, shape (3,)
        Centre of the sphere, m.
    chunk_pairs : int
        Points x dipoles evaluated per block by the NumPy engine (memory: six
        buffers of this many doubles); the Numba engine needs no such buffer.
    engine : str
        ``"auto"`` (default: Numba when installed, for calls of at least 65,536
        pairs), ``"numpy"`` (the reference) or ``"numba"`` (requires Numba; the
        first call of a process compiles the kernel or loads it from Numba's disk
        cache) or ``"cuda"`` (an NVIDIA GPU through Numba's CUDA target). The
        engines agree to rounding (tested to 1e-12 of the largest ``|E|``).

    Returns
    -------
    e_field : ndarray, shape (P, 3)
        Induced electric field, V/m, at the rising current (sign as SimNIBS).

    Raises
    ------
    TypeError
        If ``engine`` is not a string.
    ValueError
        If shapes differ from (N, 3), a value is not finite, a point is not closer
        to the centre than every dipole, ``engine`` is unknown, or
        ``engine="cuda"`` and no CUDA GPU is available.
    ImportError
        If ``engine="numba"`` or ``"cuda"`` and Numba is not installed (with the
        install command).

    .. footbibliography::
    """
    check_type(engine, str, "engine")
    check_option(engine, "engine", ENGINES)
    pos, mom, pts, didt = _check_inputs(
        dipole_positions_m, dipole_moments, points_m, didt_a_per_s, center_m
    )
    out = np.zeros((pts.shape[0], 3), dtype=np.float64)
    if pos.shape[0] == 0 or pts.shape[0] == 0:
        return out
    kernel = None
    resolved = resolve_engine(engine, pos.shape[0] * pts.shape[0])
    if resolved == "cuda":
        kernel = _cuda_kernel()
    elif resolved == "numba":
        kernel = _numba_kernel(required=engine == "numba")
    if kernel is None:
        _accumulate(pts, pos, mom, chunk_pairs, out)
    else:
        kernel(pts, pos, mom, out)
    out *= -MU0_OVER_4PI_T_M_PER_A * didt
    return out


def e_field_sphere_loop(
    dipole_positions_m: ArrayLike,
    dipole_moments: ArrayLike,
    points_m: ArrayLike,
    didt_a_per_s: float,
    *,
    center_m: Sequence[float] | NDArray[np.float64] = (0.0, 0.0, 0.0),
) -> NDArray[np.float64]:
    """Compute the same field with a plain loop over dipoles (SimNIBS style).

    The same formula as :func:`e_field_sphere`, written term by term as in SimNIBS's
    ``tms_E_field`` with one numpy pass over the points per dipole; the committed
    baseline of the benchmark and an independent check in the tests.

    Parameters
    ----------
    dipole_positions_m, dipole_moments, points_m, didt_a_per_s, center_m
        As in :func:`e_field_sphere`.

    Returns
    -------
    e_field : ndarray, shape (P, 3)
        Induced electric field, V/m.
    """
    pos, mom, pts, didt = _check_inputs(
        dipole_positions_m, dipole_moments, points_m, didt_a_per_s, center_m
    )
    e = np.zeros_like(pts)
    for m, r0 in zip(mom, pos, strict=True):
        a = r0 - pts
        norm_a = np.linalg.norm(a, axis=1)[:, None]
        norm_r0 = float(np.linalg.norm(r0))
        r0_dot_a = (a @ r0)[:, None]
        f = norm_a * (norm_r0 * norm_a + r0_dot_a)
        grad_f = (
            norm_a**2 / norm_r0 + 2.0 * norm_a + 2.0 * norm_r0 + r0_dot_a / norm_a
        ) * r0 - (norm_a + 2.0 * norm_r0 + r0_dot_a / norm_a) * pts
        m_dot_grad = (grad_f @ m)[:, None]
        e += (f * np.cross(pts, m) - np.cross(m_dot_grad * pts, r0)) / f**2
    e *= -MU0_OVER_4PI_T_M_PER_A * didt
    return e
