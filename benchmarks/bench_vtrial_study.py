"""Virtual-trial study: a 4-site, 120-patient design, its operating characteristics.

The shipped example design (``plptms/trial/data/example_virtual.yaml``: the 2x2
example trial at 4 sites, 120 patients, 4 post-baseline visits, the definition's
interim look at half the information, one patient randomised a week) run for
``N`` virtual trials at the design's true effect (power) and at 0 (type I
error), through ``plptms.batch.run_tasks`` (``run_virtual_trials``). Reported:
wall time, workers, back-end, and for each effect the rejection rate without and
with the interim look, bias, coverage, the probability of stopping at the look
and the expected sample size, each with its Monte Carlo SE.

Sizes (defaults in brackets): ``--n-trials`` or ``PLPTMS_BENCH_VTRIAL_STUDY_N``
[200] trials per effect (``make bench``); the documented study is
``python benchmarks/bench_vtrial_study.py --n-trials 10000``. ``--backend``
[auto] and ``--workers`` [one per CPU] as for ``plptms trial simulate``.
"""

from __future__ import annotations

import argparse
import os
import time
from importlib.resources import files
from pathlib import Path
from typing import Any

SEED = 20240817
N_TRIALS = int(os.environ.get("PLPTMS_BENCH_VTRIAL_STUDY_N", "200"))
EXAMPLE = Path(str(files("plptms.trial") / "data" / "example_virtual.yaml"))
HEADER = "## Virtual-trial study: a 4-site, 120-patient design"


def _mc(est: Any, fmt: str = ".3f") -> str:
    return f"{est.value:{fmt}} ± {est.mcse:{fmt}}"


def study(
    n_trials: int = N_TRIALS,
    *,
    backend: str = "auto",
    workers: int | None = None,
    design_path: Path = EXAMPLE,
    checkpoint: Path | None = None,
) -> dict[str, Any]:
    """Run the study; return its figures (wall time, workers, the summaries)."""
    from plptms.trial._virtual_design import read_virtual_design
    from plptms.trial._virtual_study import run_virtual_trials

    design = read_virtual_design(design_path)
    n_workers = 1 if backend == "serial" else (workers or os.cpu_count() or 1)
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    result = run_virtual_trials(
        design, n_trials, seed=SEED, backend=backend, n_workers=n_workers,
        effects=[design.true_effect, 0.0], checkpoint=checkpoint,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    return {"study": result, "wall_s": wall, "workers": n_workers,
            "backend": backend, "design": design,
            "load": (load0, os.getloadavg()[0])}  # fmt: skip


def run(
    n_trials: int = N_TRIALS,
    *,
    backend: str = "auto",
    workers: int | None = None,
    checkpoint: Path | None = None,
) -> list[str]:
    """Return the benchmark's section of docs/benchmarks.md."""
    out = study(n_trials, backend=backend, workers=workers, checkpoint=checkpoint)
    res = out["study"]
    design = out["design"]
    looks = design.definition.interim
    rows = []
    for s in res.summaries:
        seq = s.sequential
        what = "type I error" if s.measure == "type_i_error" else "power"
        gs = ("| - | - | - |" if seq is None else
              f"| {_mc(seq.rejection_rate)} | {_mc(seq.looks[0].stop)} | "
              f"{_mc(seq.expected_n_randomised, '.1f')} |")  # fmt: skip
        rows.append(
            f"| {s.true_effect:g} ({what}) | {_mc(s.rejection_rate)} {gs} "
            f"{_mc(s.bias)} | {_mc(s.coverage)} | {s.n_estimable}/{s.n_trials} |"
        )
    n_all = n_trials * len(res.summaries)
    fractions = ", ".join(f"{i.information_fraction:g}" for i in looks) or "none"
    return [
        HEADER,
        "",
        f"The shipped example design ({res.definition_id}: 2x2, "
        f"{len(design.definition.sites)} sites, {res.n_patients} patients, "
        f"{len(design.simulated_visits())} post-baseline visits, interim look(s) at "
        f"{fractions} of the information, one patient every "
        f"{design.recruitment_interval_days} days), {n_trials:,} virtual trials per "
        f"effect through `run_virtual_trials` (`plptms.batch.run_tasks`, back-end "
        f"`{out['backend']}`, {out['workers']} workers), seed {SEED}. Each trial "
        "is analysed at the look and at the end by the engine's group-sequential "
        "code, and once at the end without looks. Estimate ± Monte Carlo SE.",
        "",
        "| true effect | rejection, no looks | rejection, with looks | "
        "stop at look 1 | expected N | bias | coverage | estimable |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
        f"- Wall time: **{out['wall_s']:.1f} s** for {n_all:,} trials "
        f"({out['wall_s'] / n_all * 1e3:.0f} ms a trial on {out['workers']} "
        "workers, start-up included; 1-minute load average "
        f"{out['load'][0]:.1f} at the start and {out['load'][1]:.1f} at the end "
        f"on {os.cpu_count()} CPUs: above the CPU count, the machine was shared "
        "and the wall time is an upper bound).",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-trials", type=int, default=N_TRIALS)
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument(
        "--checkpoint",
        type=Path,
        default=None,
        help="folder for per-batch checkpoints (resume after a kill)",
    )
    args = parser.parse_args()
    lines = run(args.n_trials, backend=args.backend, workers=args.workers,
                checkpoint=args.checkpoint)  # fmt: skip
    print("\n".join(lines))


if __name__ == "__main__":
    main()
