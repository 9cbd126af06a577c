"""E-field benchmark: sphere-field throughput and coil-placement search time.

Throughput is (dipoles x points) per second of ``plptms.efield.e_field_sphere``,
with its two engines side by side on the same inputs: the compiled Numba kernel
(``engine="numba"``, what ``"auto"`` picks when Numba is installed) and the NumPy
reference (``engine="numpy"``); the Numba kernel is warmed up first and its first
call (compilation, or loading Numba's disk cache) is reported apart. Set
PLPTMS_BENCH_NUMBA_COMPILE=1 to also time a cold compilation in a fresh process
(empty cache: about 5-10 s). Both are compared with a plain loop over dipoles in the
style of SimNIBS's ``tms_E_field`` (the committed baseline,
``plptms.efield.e_field_sphere_loop``), and, when a local copy
of SimNIBS's public repository is found, against SimNIBS's own function run side by
side: its ``simnibs/simulation/analytical_solutions.py`` is extracted with ``git show``
into a temporary directory and loaded with importlib (nothing of it is committed):
SimNIBS's analytic reference function, which its own tests use as the oracle of its
FEM solver, not SimNIBS's FEM pipeline.
Set PLPTMS_SIMNIBS_GIT to the git directory of such a copy (default: the fetched
mirror ``/work/.mirror/simnibs+simnibs/repo``). The machine is shared, so each figure
is the best of several repeats.

Coil placement: one target, the Magstim 70 mm figure-of-eight model, 10,000 poses and
the 5,900 x 360 = 2.1 M pose search of Gomez et al. (2021).

Run standalone: ``python benchmarks/bench_efield.py``.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np

from plptms.efield import (
    SphereHead,
    e_field_sphere,
    e_field_sphere_loop,
    optimise_placement,
    pose_on_sphere,
    standard_coil,
)
from plptms.efield._constants import GOMEZ2021_N_ORIENTATIONS, GOMEZ2021_N_POSITIONS

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType

    from plptms.efield import PlacementResult

REPEATS = 3
N_POINTS = 10_000
GOAL_SPEEDUP = 10.0
MAX_REL_DIFF = 1e-9
#: Issue 19: the Numba engine at >= 8x the NumPy engine, <= 1e-12 apart.
GOAL_NUMBA_SPEEDUP = 8.0
MAX_REL_DIFF_ENGINES = 1e-12
COLD_COMPILE = os.environ.get("PLPTMS_BENCH_NUMBA_COMPILE", "") == "1"
SIMNIBS_GIT = os.environ.get("PLPTMS_SIMNIBS_GIT", "/work/.mirror/simnibs+simnibs/repo")
SIMNIBS_FILE = "simnibs/simulation/analytical_solutions.py"
TARGET_M = np.array([0.012, 0.018, 0.066])


def _best(fn: Callable[[], object], repeats: int = REPEATS) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _load_simnibs() -> tuple[ModuleType | None, str]:
    git_dir = Path(SIMNIBS_GIT)
    if not git_dir.exists():
        return None, f"no SimNIBS copy at {git_dir}"
    try:
        commit = subprocess.run(
            ["git", "-C", str(git_dir), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        src = subprocess.run(
            ["git", "-C", str(git_dir), "show", f"HEAD:{SIMNIBS_FILE}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as err:
        return None, f"git show failed: {err}"
    tmp = Path(tempfile.mkdtemp(prefix="simnibs_analytic_"))
    path = tmp / "analytical_solutions.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("simnibs_analytical_solutions", path)
    if spec is None or spec.loader is None:
        return None, "could not load the module"
    mod = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(mod)
    except Exception as err:  # report any import problem, run without it
        return None, f"import failed: {err}"
    return mod, f"SimNIBS commit {commit[:10]}"


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def _cuda_note() -> str | None:
    """``None`` when the CUDA engine can run here, else why not."""
    if importlib.util.find_spec("numba") is None:
        return "Numba is not installed"
    from plptms.efield._sphere_cuda import cuda_available

    if not cuda_available():
        return "no CUDA GPU on this machine (numba.cuda.is_available() is False)"
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return "Numba's CUDA simulator is on (NUMBA_ENABLE_CUDASIM=1): not timed"
    return None


def _numba_first_call(pos: np.ndarray, mom: np.ndarray, pts: np.ndarray) -> str:
    """Warm the Numba kernel up; say how long its first call took (or why none)."""
    if importlib.util.find_spec("numba") is None:
        return "Numba is not installed: the Numba rows are left out."
    import numba

    t0 = time.perf_counter()
    e_field_sphere(pos, mom, pts[:300], 1e6, engine="numba")  # serial kernel
    e_field_sphere(pos, mom, pts, 1e6, engine="numba")  # parallel kernel
    first = time.perf_counter() - t0
    text = (
        f"Numba {numba.__version__}, {numba.get_num_threads()} threads; first calls "
        f"of this process (import, then compile or load from Numba's disk cache): "
        f"{first:.2f} s, not counted below."
    )
    if COLD_COMPILE:
        code = (
            "import time, numpy as np; from plptms.efield._sphere import "
            "e_field_sphere as f; from plptms.efield._sphere_numba import "
            "accumulate_numba as k; p = np.array([[0, 0, 0.1]]); "
            "q = np.zeros((600, 3)); t = time.perf_counter(); "
            "f(p, p, q[:1], 1.0, engine='numba'); "
            "k(q, p, p, np.zeros_like(q), parallel=True); "
            "print(time.perf_counter() - t)"
        )
        with tempfile.TemporaryDirectory() as cache:
            out = subprocess.run(
                [sys.executable, "-c", code],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "NUMBA_CACHE_DIR": cache},
            )
        text += f" Cold compilation (empty cache): {float(out.stdout):.1f} s."
    return text


def _throughput() -> list[str]:
    head = SphereHead()
    coil = standard_coil("magstim_70mm_fig8")
    pose = pose_on_sphere(head, (0.2, 0.3, 1.0), 30.0)
    pos, mom = coil.in_head(pose)
    rng = np.random.default_rng(0)
    u = rng.normal(size=(N_POINTS, 3))
    u /= np.linalg.norm(u, axis=1)[:, None]
    pts = u * 0.075 * rng.uniform(0.3, 1.0, size=(N_POINTS, 1))
    pairs = pos.shape[0] * N_POINTS
    numba_note = _numba_first_call(pos, mom, pts)
    impls: list[tuple[str, Callable[[], np.ndarray]]] = [
        (
            "plptms `e_field_sphere`, NumPy engine (vectorised, chunked)",
            lambda: e_field_sphere(pos, mom, pts, 1e6, engine="numpy"),
        ),
        (
            "plain loop over dipoles (committed baseline)",
            lambda: e_field_sphere_loop(pos, mom, pts, 1e6),
        ),
    ]
    has_numba = importlib.util.find_spec("numba") is not None
    if has_numba:
        impls.insert(
            1,
            (
                "plptms `e_field_sphere`, Numba engine (fused kernel)",
                lambda: e_field_sphere(pos, mom, pts, 1e6, engine="numba"),
            ),
        )
    gpu_note = _cuda_note()
    if gpu_note is None:
        impls.insert(
            2 if has_numba else 1,
            (
                "plptms `e_field_sphere`, CUDA engine (GPU, one thread per point)",
                lambda: e_field_sphere(pos, mom, pts, 1e6, engine="cuda"),
            ),
        )
        e_field_sphere(pos, mom, pts[:10], 1e6, engine="cuda")  # compile first
    simnibs, note = _load_simnibs()
    if simnibs is not None:
        impls.append(
            (
                f"SimNIBS `tms_E_field` ({note})",
                lambda: np.asarray(simnibs.tms_E_field(pos, mom, 1e6, pts)),
            )
        )
    # interleaved repeats: the machine is shared, every implementation sees the
    # same load; the best of the repeats is kept
    times = [float("inf")] * len(impls)
    fields: list[np.ndarray] = [np.empty(0)] * len(impls)
    for _ in range(REPEATS):
        for k, (_, fn) in enumerate(impls):
            t0 = time.perf_counter()
            fields[k] = fn()
            times[k] = min(times[k], time.perf_counter() - t0)
    t_vec = times[0]
    rows = [
        (label, t, e) for (label, _), t, e in zip(impls, times, fields, strict=True)
    ]
    ref = rows[-1][2]
    lines = [
        f"Sphere field: {pos.shape[0]} dipoles (Magstim 70 mm figure-of-eight model) x "
        f"{N_POINTS:,} points = {pairs / 1e6:.1f} M pairs; best of {REPEATS}.",
        "",
        "| implementation | time (s) | M pairs/s | time / NumPy engine's | "
        "max rel. diff vs last row |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, t, e in rows:
        lines.append(
            f"| {label} | {t:.3f} | {pairs / t / 1e6:.1f} | {t / t_vec:.2f}x | "
            f"{_rel(e, ref):.1e} |"
        )
    speed = rows[-1][1] / t_vec
    ok = speed >= GOAL_SPEEDUP and all(_rel(e, ref) <= MAX_REL_DIFF for _, _, e in rows)
    if has_numba:
        ratio = times[0] / times[1]
        diff = _rel(fields[1], fields[0])
        ok_nb = ratio >= GOAL_NUMBA_SPEEDUP and diff <= MAX_REL_DIFF_ENGINES
        lines += [
            "",
            f"Numba vs NumPy engine, same inputs, same run: {ratio:.1f}x "
            f"({pairs / times[1] / 1e6:,.0f} vs {pairs / times[0] / 1e6:,.0f} M "
            f"pairs/s), max relative difference {diff:.1e}. Goal: >= "
            f"{GOAL_NUMBA_SPEEDUP:g}x at <= {MAX_REL_DIFF_ENGINES:g}: "
            f"{'met' if ok_nb else 'NOT met'}. {numba_note}",
        ]
    else:
        lines += ["", numba_note]
    if gpu_note is None:
        k = 2 if has_numba else 1
        lines += [
            "",
            f"CUDA vs NumPy engine, same run: {times[0] / times[k]:.1f}x, max "
            f"relative difference {_rel(fields[k], fields[0]):.1e} (GPU time "
            "includes the transfers to and from the device).",
        ]
    else:
        lines += ["", f"CUDA engine not run: {gpu_note}."]
    lines += [
        "",
        f"Goal: >= {GOAL_SPEEDUP:g}x the loop at relative difference <= "
        f"{MAX_REL_DIFF:g}: {'met' if ok else 'NOT met'} ({speed:.1f}x vs "
        f"{rows[-1][0].split(' (')[0]})."
        + ("" if simnibs is not None else f" SimNIBS not run: {note}."),
    ]
    return lines


def _placement() -> list[str]:
    coil = standard_coil("magstim_70mm_fig8")
    cases = [
        ("10,000 poses (1,000 positions x 10 orientations)", 1000, 10, 1.0),
        (
            f"{GOMEZ2021_N_POSITIONS:,} x {GOMEZ2021_N_ORIENTATIONS} = "
            f"{GOMEZ2021_N_POSITIONS * GOMEZ2021_N_ORIENTATIONS / 1e6:.1f} M poses "
            "(Gomez 2021 scale)",
            GOMEZ2021_N_POSITIONS,
            GOMEZ2021_N_ORIENTATIONS,
            120.0,
        ),
    ]
    lines = [
        "Coil placement for one target (|E|, 30 mm cap), Magstim 70 mm model "
        f"({coil.n_dipoles} dipoles); best of {REPEATS}.",
        "",
        "| search | strategy | dipoles (search / full) | refined | time (s) | "
        "goal (s) | best |E| at 1 A/us (V/m) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for label, n_pos, n_ori, goal in cases:
        t, res = _best(
            lambda n_pos=n_pos, n_ori=n_ori: optimise_placement(
                coil, TARGET_M, n_positions=n_pos, n_orientations=n_ori
            )
        )
        r = cast("PlacementResult", res)
        lines.append(
            f"| {label} | {r.strategy} | {r.n_dipoles_search} / {r.n_dipoles_full} | "
            f"{r.n_refined} | {t:.2f} | {goal:g} | {r.objective_value_v_per_m:.4f} |"
        )
    t_full, full = _best(
        lambda: optimise_placement(
            coil, TARGET_M, n_positions=1000, n_orientations=10, strategy="full"
        ),
        repeats=1,
    )
    lines += [
        "",
        f"Check: the full model on all 10,000 poses ({t_full:.2f} s) finds "
        f"{cast('PlacementResult', full).objective_value_v_per_m:.4f} V/m.",
    ]
    return lines


def run() -> list[str]:
    """Markdown lines with the E-field benchmark results."""
    return ["## E-field", "", *_throughput(), "", *_placement()]


if __name__ == "__main__":
    print("\n".join(run()))
