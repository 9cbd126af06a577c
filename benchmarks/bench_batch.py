"""Batch benchmark: Dask's per-task overhead, scaling on 1 and 2 workers, identity.

Everything runs through ``plptms.batch.run_tasks``. The fixed task is a pure-Python
loop calibrated in this process to take about 1 ms, 10 ms or 100 ms (fixed work,
not a sleep: on a shared machine it slows down with the load, as real work does).

- **Per-task overhead**: the same tasks, one Dask task each (``batch_size=1``), on
  a running ``LocalCluster`` of one worker against the serial run beside it:
  ``(T_dask1 - T_serial) / n``. The cluster is started before the clock starts;
  its start-up is reported on its own line (what ``backend="dask"`` pays per call).
- **Scaling**: the same workload serially and on 1 and 2 workers, efficiency
  ``T_serial / (w T_w)``; a projection to N workers from the measured overhead,
  ``t / (t + o)``, assumes the scheduler keeps up (a projection, not measured).
- **Bit-identical**: a seeded workload (each task draws 1,000 normals) serially and
  on Dask with 2 workers; the SHA-256 of the results must match.
- **Virtual trials**: the shipped example design (2x2, 4 sites, 120 patients,
  4 visits) on 2 Dask workers: wall time, power and its Monte Carlo SE, beside
  the time of one trial run serially (over 20 trials).
- **Method benchmarks**: the threshold-method benchmark (ML-PEST, defaults) over
  simulated subjects, and a blocked permutation test (DL, k = 8, sign flips),
  each serially and on the 2-worker cluster, with the results compared.

Sizes come from the environment (defaults in brackets): ``PLPTMS_BENCH_BATCH_N1MS``
[1000] 1 ms tasks, ``PLPTMS_BENCH_BATCH_N10MS`` [200], ``PLPTMS_BENCH_BATCH_N100MS``
[20], ``PLPTMS_BENCH_VTRIALS`` [200] virtual trials, ``PLPTMS_BENCH_RMT_SUBJECTS``
[1000] simulated subjects (10^5 for the issue's figure: about 20 CPU-minutes),
``PLPTMS_BENCH_PERMUTATIONS`` [1000000] permutations. Run standalone:
``python benchmarks/bench_batch.py``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import time
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from plptms.batch import run_tasks

if TYPE_CHECKING:
    from collections.abc import Callable

SEED = 20240817
N_1MS = int(os.environ.get("PLPTMS_BENCH_BATCH_N1MS", "1000"))
N_10MS = int(os.environ.get("PLPTMS_BENCH_BATCH_N10MS", "200"))
N_100MS = int(os.environ.get("PLPTMS_BENCH_BATCH_N100MS", "20"))
N_VTRIALS = int(os.environ.get("PLPTMS_BENCH_VTRIALS", "200"))
N_RMT = int(os.environ.get("PLPTMS_BENCH_RMT_SUBJECTS", "1000"))
N_PERM = int(os.environ.get("PLPTMS_BENCH_PERMUTATIONS", "1000000"))
#: Virtual trials run serially for the per-trial time beside the Dask run.
N_VTRIALS_SERIAL = 20
N_IDENTITY = 1000
PROJECT_WORKERS = (8, 64, 512)
EXAMPLE = Path(str(files("plptms.trial") / "data" / "example_virtual.yaml"))


def spin(loops: int, rng: np.random.Generator) -> float:
    """A fixed amount of pure-Python work, then one draw from the task's stream."""
    acc = 0.0
    for k in range(loops):
        acc += k * 1e-9
    return acc + float(rng.random())


def normals(_: int, rng: np.random.Generator) -> np.ndarray:
    """The seeded workload of the identity check: 1,000 standard normals."""
    return rng.standard_normal(1000)


def _loops_for(seconds: float) -> int:
    """Loops of :func:`spin` taking about ``seconds`` here (best of 5)."""
    probe = 200_000
    rng = np.random.default_rng(0)
    best = min(_timed(lambda: spin(probe, rng)) for _ in range(5))
    return max(1, round(probe * seconds / best))


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _digest(results: list[Any]) -> str:
    h = hashlib.sha256()
    for r in results:
        h.update(np.asarray(r).tobytes())
    return h.hexdigest()


def _run_spin(loops: int, n: int, backend: str) -> float:
    return _timed(
        lambda: run_tasks(spin, [loops] * n, seed=SEED, backend=backend, batch_size=1)
    )


def run() -> list[str]:
    head = "## Batch runs on Dask: overhead, scaling, identical results"
    if importlib.util.find_spec("distributed") is None:
        return [head, "", "Skipped: `dask[distributed]` is not installed.", ""]
    import distributed

    sizes = [(1e-3, N_1MS), (1e-2, N_10MS), (1e-1, N_100MS)]
    loops = {t: _loops_for(t) for t, _ in sizes}
    serial = {t: _run_spin(loops[t], n, "serial") for t, n in sizes}
    timings: dict[int, dict[float, float]] = {}
    startup: dict[int, float] = {}
    call: dict[int, float] = {}
    digests: dict[str, str] = {}
    digests["serial"] = _digest(
        run_tasks(normals, list(range(N_IDENTITY)), seed=SEED, backend="serial")
    )
    for w in (1, 2):
        t0 = time.perf_counter()
        with distributed.LocalCluster(
            n_workers=w, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster:
            startup[w] = time.perf_counter() - t0
            address = cluster.scheduler_address
            _run_spin(loops[1e-3], 2 * w, address)  # warm-up: workers import plptms
            call[w] = min(_run_spin(1, 1, address) for _ in range(3))
            timings[w] = {t: _run_spin(loops[t], n, address) for t, n in sizes}
            if w == 2:
                digests["dask, 2 workers"] = _digest(
                    run_tasks(
                        normals, list(range(N_IDENTITY)), seed=SEED, backend=address,
                        batch_size=7,
                    )
                )  # fmt: skip
                _virtual_trials(address, 4)  # warm-up: workers import scipy
                study, t_vt = _virtual_trials(address, N_VTRIALS)
                methods = _method_benchmarks(address)
    n_vt_serial = min(N_VTRIALS, N_VTRIALS_SERIAL)
    _virtual_trials("serial", 2)  # warm-up: this process imports scipy
    t_vt_serial = _virtual_trials("serial", n_vt_serial)[1] / n_vt_serial
    t_1ms, n_1ms = sizes[0]
    # the fixed cost of one call (client connection, one trivial task) is not
    # per-task overhead: take it off
    overhead = (timings[1][t_1ms] - call[1] - serial[t_1ms]) / n_1ms
    rows = []
    for t, n in sizes:
        t_task = serial[t] / n
        eff = [serial[t] / (w * timings[w][t]) for w in (1, 2)]
        rows.append(
            f"| {t * 1e3:g} ms ({t_task * 1e3:.2f} ms measured) | {n} | "
            f"{serial[t]:.2f} | {timings[1][t]:.2f} | {eff[0]:.0%} | "
            f"{timings[2][t]:.2f} | {eff[1]:.0%} |"
        )
    proj = ", ".join(
        f"{t * 1e3:g} ms tasks {serial[t] / n / (serial[t] / n + overhead):.0%}"
        for t, n in sizes
    )
    same = len(set(digests.values())) == 1
    s = study.summaries[0]
    return [
        head,
        "",
        "Every figure through `plptms.batch.run_tasks`, one Dask task per task "
        "(`batch_size=1`), on a `LocalCluster` of 1 or 2 single-threaded worker "
        "processes started before the clock. The task is a fixed pure-Python loop "
        "calibrated here to about 1, 10 and 100 ms. Efficiency is "
        "T_serial / (workers x T_dask). A single run each on a shared machine.",
        "",
        "| task | tasks | serial (s) | 1 worker (s) | efficiency | 2 workers (s) | "
        "efficiency |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
        f"- Per-task overhead (1 ms tasks, 1 worker against serial, less the "
        f"{call[1] * 1e3:.0f} ms fixed cost of a call): **{overhead * 1e3:.2f} ms** "
        "(issue 18 reports about 1.8 ms).",
        f'- Cluster start-up (paid once per call by `backend="dask"`): '
        f"{startup[1]:.1f} s with 1 worker, {startup[2]:.1f} s with 2.",
        f"- Projection to N workers at this overhead, **a projection, not "
        f"measured** (the scheduler is assumed to keep up, e.g. at N = "
        f"{', '.join(map(str, PROJECT_WORKERS))}): efficiency t / (t + o) = "
        f"{proj}.",
        f"- Bit-identical: the SHA-256 of {N_IDENTITY:,} seeded tasks (1,000 normals "
        f"each) serially and on 2 Dask workers (batches of 7) "
        f"{'match' if same else '**differ**'} (`{digests['serial'][:16]}...`).",
        f"- Virtual trials: {s.n_trials:,} trials of the example design "
        f"({study.definition_id}, {study.n_patients} patients, 4 sites, 4 visits, "
        f"true effect {s.true_effect:g} points) on 2 Dask workers in "
        f"**{t_vt:.1f} s** ({t_vt / s.n_trials * 1e3:.0f} ms a trial; serially "
        f"{t_vt_serial * 1e3:.0f} ms a trial, so efficiency "
        f"{t_vt_serial * s.n_trials / (2 * t_vt):.0%}); power "
        f"{s.rejection_rate.value:.3f} (Monte Carlo SE {s.rejection_rate.mcse:.3f}), "
        f"bias {s.bias.value:+.3f} ({s.bias.mcse:.3f}), coverage "
        f"{s.coverage.value:.3f} ({s.coverage.mcse:.3f}).",
        *methods,
        "",
    ]


def _method_benchmarks(address: str) -> list[str]:
    """Threshold benchmark and blocked permutation test: serial vs 2 workers."""
    from plptms.meta import meta_analysis
    from plptms.meta._permutation_blocks import blocked_permutation_test
    from plptms.sweeps import threshold_method_benchmark

    def rmt(backend: str) -> Any:
        return threshold_method_benchmark(
            N_RMT, ["ml_pest"], seed=SEED, backend=backend
        )

    threshold_method_benchmark(8, ["ml_pest"], seed=0, backend=address)  # warm-up
    t_rmt = {b: _timed(lambda b=b: rmt(b)) for b in ("serial", address)}
    same_rmt = rmt("serial").records == rmt(address).records
    rng = np.random.default_rng(SEED)
    res = meta_analysis(rng.normal(0.2, 0.3, 8), rng.uniform(0.02, 0.1, 8), method="DL")

    def perm(backend: str) -> Any:
        return blocked_permutation_test(res, n_perm=N_PERM, seed=SEED, backend=backend)

    t_perm = {b: _timed(lambda b=b: perm(b)) for b in ("serial", address)}
    p_s, p_d = perm("serial"), perm(address)
    return [
        f"- Threshold-method benchmark, {N_RMT:,} subjects (ML-PEST, defaults; "
        f"batches of the rule): serial {t_rmt['serial']:.1f} s, 2 Dask workers "
        f"{t_rmt[address]:.1f} s (efficiency "
        f"{t_rmt['serial'] / (2 * t_rmt[address]):.0%}); records "
        f"{'identical' if same_rmt else '**differ**'}.",
        f"- Blocked permutation test, {N_PERM:,} sign flips (DL, k = 8, blocks of "
        f"2^16): serial {t_perm['serial']:.1f} s, 2 Dask workers "
        f"{t_perm[address]:.1f} s; p = {p_s.pvalue:.5f} (Monte Carlo SE "
        f"{p_s.mc_se(p_s.pvalue):.5f}), {'identical' if p_s == p_d else '**differs**'}"
        " on both.",
    ]


def _virtual_trials(backend: str, n: int) -> tuple[Any, float]:
    from plptms.trial._virtual_design import read_virtual_design
    from plptms.trial._virtual_study import run_virtual_trials

    design = read_virtual_design(EXAMPLE)
    t0 = time.perf_counter()
    study = run_virtual_trials(design, n, seed=SEED, backend=backend)
    return study, time.perf_counter() - t0


if __name__ == "__main__":
    print("\n".join(run()))
