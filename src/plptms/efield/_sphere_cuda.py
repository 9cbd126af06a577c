# mypy: disable-error-code="attr-defined, no-untyped-call"
# (numba.cuda has no type information: its device intrinsics are set at run time)
"""CUDA kernel for the sphere field (the ``"cuda"`` engine of e_field_sphere).

Imported only when that engine is used: importing it imports ``numba.cuda``. The
kernel is the GPU twin of the fused CPU kernel in ``_sphere_numba`` (same formula,
same order of operations per pair, ``a = r0 - r`` formed first): one thread per
evaluation point, each summing over every dipole in dipole order. The dipoles are
staged through shared memory in tiles of ``_TILE`` (one tile loaded by the block's
threads together, then read by all of them), so each dipole's nine numbers are read
from global memory once per block rather than once per point.

The CUDA compiler may contract ``x * y + z`` into a fused multiply-add, so the GPU
result can differ from the CPU engines in the last bits (tested to 1e-12 of the
largest ``|E|``, the same tolerance as the Numba engine).

The logic of the kernel is tested on every machine with Numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``, which runs the kernel's threads on the CPU); on a
machine with an NVIDIA GPU the same test runs on the device.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from numba import cuda

from ._sphere import _dipole_table

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["accumulate_cuda", "cuda_available"]

#: Threads per block (points per block) and dipoles per shared-memory tile.
_TILE = 128

#: Dipole parameters per dipole: position (3), moment (3), r0, 1/r0, m . r0.
_N_PAR = 9


@cuda.jit(cache=False)  # type: ignore[misc, unused-ignore]
def _kernel(pts_t, dip, n_dip, out):  # type: ignore[no-untyped-def]  # pragma: no cover
    """Accumulate ``r x V(r)`` for the point of this thread over every dipole."""
    tile = cuda.shared.array(shape=(_N_PAR, _TILE), dtype=np.float64)
    i = cuda.grid(1)
    tx = cuda.threadIdx.x
    n_pts = pts_t.shape[1]
    inside = i < n_pts
    x = pts_t[0, i] if inside else 0.0
    y = pts_t[1, i] if inside else 0.0
    z = pts_t[2, i] if inside else 0.0
    vx = 0.0
    vy = 0.0
    vz = 0.0
    for base in range(0, n_dip, _TILE):
        j_load = base + tx
        if j_load < n_dip:
            for k in range(_N_PAR):
                tile[k, tx] = dip[k, j_load]
        cuda.syncthreads()
        n = min(_TILE, n_dip - base)
        if inside:
            for j in range(n):
                px = tile[0, j]
                py = tile[1, j]
                pz = tile[2, j]
                mx = tile[3, j]
                my = tile[4, j]
                mz = tile[5, j]
                r0 = tile[6, j]
                inv_r0 = tile[7, j]
                m_dot_r0 = tile[8, j]
                ax = px - x  # a = r0 - r, formed first: no cancellation near r0
                ay = py - y
                az = pz - z
                r0a = px * ax + py * ay + pz * az
                a2 = ax * ax + ay * ay + az * az
                a = math.sqrt(a2)
                f = a * (a * r0 + r0a)
                inv_af = 1.0 / (a * f)
                inv_f = a * inv_af
                t = r0a * (f * inv_af)
                beta = a + 2.0 * r0 + t
                alpha = a2 * inv_r0 + a + beta
                m_dot_r = x * mx + y * my + z * mz
                w = (alpha * m_dot_r0 - beta * m_dot_r) * inv_f * inv_f
                vx += mx * inv_f - w * px
                vy += my * inv_f - w * py
                vz += mz * inv_f - w * pz
        cuda.syncthreads()
    if inside:
        out[i, 0] = y * vz - z * vy
        out[i, 1] = z * vx - x * vz
        out[i, 2] = x * vy - y * vx


def cuda_available() -> bool:
    """Whether a CUDA device (or Numba's CUDA simulator) can run the kernel."""
    try:
        return bool(cuda.is_available())
    except Exception:  # a broken driver install: no GPU engine
        return False


def accumulate_cuda(
    pts: NDArray[np.float64],
    pos: NDArray[np.float64],
    mom: NDArray[np.float64],
    out: NDArray[np.float64],
) -> None:
    """Write ``r x V(r)`` for every point into ``out`` (twin of ``accumulate_numba``).

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
    """
    dip = _dipole_table(pos, mom)
    pts_t = np.ascontiguousarray(pts.T)
    d_pts = cuda.to_device(pts_t)
    d_dip = cuda.to_device(dip)
    d_out = cuda.device_array((pts.shape[0], 3), dtype=np.float64)
    blocks = (pts.shape[0] + _TILE - 1) // _TILE
    _kernel[blocks, _TILE](d_pts, d_dip, pos.shape[0], d_out)
    out[:] = d_out.copy_to_host()
