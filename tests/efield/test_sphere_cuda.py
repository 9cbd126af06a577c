"""The CUDA engine of the sphere field.

The kernel runs under Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``: its
threads, shared memory and barriers run on the CPU) in a subprocess on every
machine, and on the GPU itself where one is present. Oracles as for the Numba
engine: SimNIBS's ``tms_E_field`` (pinned values), the NumPy engine (the
reference) and the plain loop over dipoles.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from plptms.efield import e_field_sphere_loop
from plptms.efield._sphere import e_field_sphere

from .conftest import DATA, random_setup

#: The issue's bound: engines agree to 1e-12 of the largest |E|.
RTOL_ENGINES = 1e-12


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def _gpu_present() -> bool:
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return False  # the simulator: covered by the subprocess test
    try:
        from numba import cuda
    except ImportError:
        return False
    try:
        return bool(cuda.is_available())
    except Exception:
        return False


#: Run in a fresh interpreter with the simulator on; prints the relative
#: differences to the NumPy engine for each case (the kernel is slow there:
#: about a thousand Python steps per pair, so the cases are small).
_SIM_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from plptms.efield._sphere import e_field_sphere
    cases = json.loads(sys.argv[1])
    out = []
    for pos, mom, pts in cases:
        e_gpu = e_field_sphere(pos, mom, pts, 1e6, engine="cuda")
        e_np = e_field_sphere(pos, mom, pts, 1e6, engine="numpy")
        out.append([float(np.max(np.abs(e_gpu - e_np)) / np.max(np.abs(e_np))),
                    list(e_gpu.shape)])
    print(json.dumps(out))
    """
)


def test_cuda_kernel_under_simulator_matches_numpy() -> None:
    pytest.importorskip("numba")
    # point counts around the 128-thread block and dipole counts around the
    # 128-dipole tile: one point, a partial block, two blocks; a partial tile
    # and two tiles (the second partial)
    shapes = [(1, 1), (3, 5), (130, 129), (200, 2)]
    cases = []
    for seed, (n_dip, n_pts) in enumerate(shapes):
        pos, mom, pts = random_setup(seed, n_dip=n_dip, n_pts=n_pts)
        cases.append([pos.tolist(), mom.tolist(), pts.tolist()])
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    run = subprocess.run(
        [sys.executable, "-c", _SIM_SCRIPT, json.dumps(cases)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    for (rel, shape), (n_dip, n_pts) in zip(result, shapes, strict=True):
        assert shape == [n_pts, 3]
        assert rel <= RTOL_ENGINES, (n_dip, n_pts, rel)


def test_cuda_engine_without_gpu_is_refused() -> None:
    pytest.importorskip("numba")
    if _gpu_present():
        pytest.skip("a CUDA GPU is present")
    pos, mom, pts = random_setup(0)
    with pytest.raises(ValueError, match=r"'engine'.*'cuda'.*no CUDA GPU"):
        e_field_sphere(pos, mom, pts, 1e6, engine="cuda")


gpu = pytest.mark.skipif(not _gpu_present(), reason="no CUDA GPU on this machine")


@gpu
def test_cuda_matches_simnibs_pinned_on_gpu() -> None:
    ref = json.loads((DATA / "efield_simnibs_tms_E_field.json").read_text())
    e = e_field_sphere(
        ref["dipole_positions_m"],
        ref["dipole_moments"],
        ref["points_m"],
        ref["didt_a_per_s"],
        engine="cuda",
    )
    assert _rel(e, np.asarray(ref["e_field_v_per_m"])) <= RTOL_ENGINES


@gpu
@pytest.mark.parametrize(
    ("seed", "n_dip", "n_pts"),
    [(0, 1, 1), (1, 3, 127), (2, 129, 257), (3, 2544, 10000)],
)
def test_cuda_matches_numpy_and_loop_on_gpu(seed: int, n_dip: int, n_pts: int) -> None:
    pos, mom, pts = random_setup(seed, n_dip=n_dip, n_pts=n_pts)
    e_gpu = e_field_sphere(pos, mom, pts, 1e6, engine="cuda")
    assert _rel(e_gpu, e_field_sphere(pos, mom, pts, 1e6, engine="numpy")) <= (
        RTOL_ENGINES
    )
    if n_dip * n_pts <= 100_000:
        assert _rel(e_gpu, e_field_sphere_loop(pos, mom, pts, 1e6)) <= RTOL_ENGINES
