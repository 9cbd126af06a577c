"""Fused Numba kernel for the sphere field (the ``"numba"`` backend of e_field_sphere).

Imported only when that backend is used: importing it imports Numba and defines the
kernel (compiled on the first call, then cached on disk, ``cache=True``).

Same mathematics as the NumPy path of :func:`plptms.efield.e_field_sphere` (see the
module docstring of ``_sphere``), one pass per (point, dipole) pair and no
(points x dipoles) temporary. Points are processed in blocks of ``_BLOCK`` shared out
over threads (``prange``); for each dipole, the innermost loop runs over the points of
the block, whose accumulators are independent, so LLVM vectorises it without
reassociating any sum (``fastmath=False``): every point's sum over dipoles runs in
dipole order, and the result does not depend on the number of threads. Per pair: one
square root and one division (``1 / (a F)`` gives both ``1 / a`` and ``1 / F``). The
kernels use ``error_model="numpy"`` (no ZeroDivisionError branch, which would stop
the vectorisation; ``a F > 0`` for every point inside the dipole shell, checked before
the call).

Accuracy near the dipoles: the kernel forms ``a = r0 - r`` before squaring it, as
SimNIBS's loop does, where the NumPy engine expands ``|a|^2 = r^2 - 2 r.r0 + r0^2``
(so that ``r.r0`` is a matrix product) and loses about ``eps r0^2 / a^2`` of relative
accuracy for a point at distance ``a`` from a dipole: about 1e-10 at 0.1 mm from a
dipole 90 mm from the centre, below 1e-13 beyond 3 mm (tested against an
extended-precision evaluation).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numba
import numpy as np

from ._sphere import _dipole_table

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["accumulate_numba"]

#: Points per block: 3 accumulators + 4 coordinate rows of this many doubles stay in
#: the L1 cache (14 kB at 256).
_BLOCK = 256

#: Below this many pairs (about 1 ms of work) one thread does it all: waking the
#: thread pool costs more, and on a loaded machine a descheduled worker can stall a
#: small parallel call by milliseconds (measured on the shared 2-core dev machine).
_PARALLEL_MIN_PAIRS = 1 << 20


@numba.njit(fastmath=False, cache=True, nogil=True, error_model="numpy")  # type: ignore[misc, unused-ignore]
def _block(
    pts_t: NDArray[np.float64],
    dip: NDArray[np.float64],
    out: NDArray[np.float64],
    b: int,
) -> None:  # pragma: no cover - compiled; run through accumulate_numba
    """Accumulate block ``b`` of ``_BLOCK`` points over every dipole."""
    n_pts = pts_t.shape[1]
    n_dip = dip.shape[1]
    start = b * _BLOCK
    n = min(_BLOCK, n_pts - start)
    x = np.empty(n)
    y = np.empty(n)
    z = np.empty(n)
    vx = np.zeros(n)
    vy = np.zeros(n)
    vz = np.zeros(n)
    for i in range(n):
        x[i] = pts_t[0, start + i]
        y[i] = pts_t[1, start + i]
        z[i] = pts_t[2, start + i]
    for j in range(n_dip):
        px = dip[0, j]
        py = dip[1, j]
        pz = dip[2, j]
        mx = dip[3, j]
        my = dip[4, j]
        mz = dip[5, j]
        r0 = dip[6, j]
        inv_r0 = dip[7, j]
        m_dot_r0 = dip[8, j]
        for i in range(n):
            ax = px - x[i]  # a = r0 - r, formed first: no cancellation near r0
            ay = py - y[i]
            az = pz - z[i]
            r0a = px * ax + py * ay + pz * az  # r0 . a
            a2 = ax * ax + ay * ay + az * az  # |a|^2
            a = math.sqrt(a2)
            f = a * (a * r0 + r0a)  # F
            inv_af = 1.0 / (a * f)
            inv_f = a * inv_af
            t = r0a * (f * inv_af)  # r0 . a / a
            beta = a + 2.0 * r0 + t
            alpha = a2 * inv_r0 + a + beta
            m_dot_r = x[i] * mx + y[i] * my + z[i] * mz
            w = (alpha * m_dot_r0 - beta * m_dot_r) * inv_f * inv_f
            vx[i] += mx * inv_f - w * px
            vy[i] += my * inv_f - w * py
            vz[i] += mz * inv_f - w * pz
    for i in range(n):
        out[start + i, 0] = y[i] * vz[i] - z[i] * vy[i]
        out[start + i, 1] = z[i] * vx[i] - x[i] * vz[i]
        out[start + i, 2] = x[i] * vy[i] - y[i] * vx[i]


@numba.njit(  # type: ignore[misc, unused-ignore]
    parallel=True, fastmath=False, cache=True, nogil=True, error_model="numpy"
)
def _kernel_parallel(
    pts_t: NDArray[np.float64],
    dip: NDArray[np.float64],
    out: NDArray[np.float64],
) -> None:  # pragma: no cover - compiled; run through accumulate_numba
    n_blocks = (pts_t.shape[1] + _BLOCK - 1) // _BLOCK
    for b in numba.prange(n_blocks):
        _block(pts_t, dip, out, b)


@numba.njit(fastmath=False, cache=True, nogil=True, error_model="numpy")  # type: ignore[misc, unused-ignore]
def _kernel_serial(
    pts_t: NDArray[np.float64],
    dip: NDArray[np.float64],
    out: NDArray[np.float64],
) -> None:  # pragma: no cover - compiled; run through accumulate_numba
    n_blocks = (pts_t.shape[1] + _BLOCK - 1) // _BLOCK
    for b in range(n_blocks):
        _block(pts_t, dip, out, b)


def accumulate_numba(
    pts: NDArray[np.float64],
    pos: NDArray[np.float64],
    mom: NDArray[np.float64],
    out: NDArray[np.float64],
    *,
    parallel: bool | None = None,
) -> None:
    """Write ``r x V(r)`` for every point into ``out`` (twin of ``_accumulate``).

    Parameters
    ----------
    pts : ndarray, shape (P, 3)
        Points relative to the centre, m.
    pos : ndarray, shape (M, 3)
        Dipole positions relative to the centre, m.
    mom : ndarray, shape (M, 3)
        Dipole moments, m^2.
    out : ndarray, shape (P, 3)
        Written in place (C-contiguous float64).
    parallel : bool | None
        Share the blocks over Numba's threads; None: when there is more than one
        block and at least ``_PARALLEL_MIN_PAIRS`` pairs. The result is the same
        either way (each point's sum runs in dipole order).
    """
    dip = _dipole_table(pos, mom)
    pts_t = np.ascontiguousarray(pts.T)
    if parallel is None:
        parallel = pts.shape[0] > _BLOCK and pts.shape[0] * pos.shape[0] >= (
            _PARALLEL_MIN_PAIRS
        )
    (_kernel_parallel if parallel else _kernel_serial)(pts_t, dip, out)
