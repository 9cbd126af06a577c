"""E-field benchmark: sphere-field throughput and coil-placement search time.

Throughput is (dipoles x points) per second of ``plptms.efield.e_field_sphere``
against a plain loop over dipoles in the style of SimNIBS's ``tms_E_field`` (the
committed baseline, ``plptms.efield.e_field_sphere_loop``), and, when a local copy
of SimNIBS's public repository is found, against SimNIBS's own function run side by
side: its ``simnibs/simulation/analytical_solutions.py`` is extracted with ``git show``
into a temporary directory and loaded with importlib (nothing of it is committed).
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
    impls: list[tuple[str, Callable[[], np.ndarray]]] = [
        (
            "plptms `e_field_sphere` (vectorised, chunked)",
            lambda: e_field_sphere(pos, mom, pts, 1e6),
        ),
        (
            "plain loop over dipoles (committed baseline)",
            lambda: e_field_sphere_loop(pos, mom, pts, 1e6),
        ),
    ]
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
        "| implementation | time (s) | M pairs/s | speed-up vs this row | "
        "max rel. diff vs last row |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, t, e in rows:
        lines.append(
            f"| {label} | {t:.3f} | {pairs / t / 1e6:.1f} | {t / t_vec:.1f}x | "
            f"{_rel(e, ref):.1e} |"
        )
    speed = rows[-1][1] / t_vec
    ok = speed >= GOAL_SPEEDUP and all(_rel(e, ref) <= MAX_REL_DIFF for _, _, e in rows)
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
