"""Sweep commands: ``dose sweep`` and ``threshold compare`` (plptms.sweeps).

Registered on the existing E-field (``dose``) and motor-threshold (``threshold``)
apps; each parses options, calls one plptms.sweeps function and renders a table
or JSON.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ._dose import CoilOpt, StimOpt, _fail, dose_app
from ._motor import threshold_app

if TYPE_CHECKING:
    from ..sweeps import SweepTarget

BackendOpt = Annotated[
    str,
    typer.Option(
        "--backend",
        help="serial, processes, dask, auto, or a Dask scheduler tcp://host:port.",
    ),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option("--workers", help="Local worker processes (default: one per CPU)."),
]
BatchOpt = Annotated[
    int | None, typer.Option("--batch-size", help="Tasks per batch (default: rule).")
]
CheckpointOpt = Annotated[
    Path | None,
    typer.Option("--checkpoint", help="Directory of finished batches (resumable)."),
]
ProgressOpt = Annotated[bool, typer.Option("--progress", help="Progress bar.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _target(text: str) -> SweepTarget:
    """Parse ``NAME`` or ``NAME:TILT_DEG[:AZIMUTH_DEG]``."""
    from ..sweeps import SweepTarget

    name, *rest = text.split(":")
    if len(rest) > 2:
        raise ValueError(
            f"Invalid value for '--target': got {text!r}; allowed: NAME or "
            "NAME:TILT_DEG[:AZIMUTH_DEG]."
        )
    try:
        numbers = [float(v) for v in rest]
    except ValueError:
        raise ValueError(
            f"Invalid value for '--target': got {text!r}; allowed: NAME or "
            "NAME:TILT_DEG[:AZIMUTH_DEG] with numbers in degrees."
        ) from None
    kwargs: dict[str, Any] = {"name": name}
    if numbers:
        kwargs["normal_tilt_deg"] = numbers[0]
    if len(numbers) == 2:
        kwargs["normal_azimuth_deg"] = numbers[1]
    return SweepTarget(**kwargs)


def _message(exc: ValueError) -> str:
    """One line for a refusal (a pydantic error's own messages, without its URL)."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        return " ".join(
            str(e["msg"]).removeprefix("Value error, ") for e in exc.errors()
        )
    return str(exc)


def _opt(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


@dose_app.command("sweep")
def dose_sweep(
    head_radius: Annotated[
        list[float], typer.Option("--head-radius", help="Scalp radius, mm (repeat).")
    ],
    scd: Annotated[
        list[float],
        typer.Option("--scd", help="Scalp-to-cortex distance, mm (repeat)."),
    ],
    target: Annotated[
        list[str] | None,
        typer.Option(
            "--target",
            help="NAME (max |E|) or NAME:TILT_DEG[:AZIMUTH_DEG] (max E . normal); "
            "repeat.",
        ),
    ] = None,
    coil: CoilOpt = "magstim_70mm_fig8",
    stimulator: StimOpt = "magstim_rapid/d70",
    intensity: Annotated[float, typer.Option("--intensity", help="% MSO.")] = 100.0,
    positions: Annotated[int, typer.Option("--positions", help="Positions.")] = 200,
    orientations: Annotated[
        int, typer.Option("--orientations", help="Orientations.")
    ] = 36,
    backend: BackendOpt = "auto",
    workers: WorkersOpt = None,
    batch_size: BatchOpt = None,
    checkpoint: CheckpointOpt = None,
    progress: ProgressOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Field at the target and best coil placement over heads x depths x targets."""
    from ..sweeps import DosingGrid, dosing_sweep

    try:
        targets = tuple(_target(t) for t in target or ["max |E|"])
        grid = DosingGrid(
            head_radius_mm=tuple(head_radius),
            scalp_to_cortex_mm=tuple(scd),
            targets=targets,
            coil=coil,
            stimulator=stimulator,
            intensity_pct_mso=intensity,
            n_positions=positions,
            n_orientations=orientations,
        )
        records = dosing_sweep(
            grid,
            backend=backend,
            n_workers=workers,
            batch_size=batch_size,
            checkpoint=checkpoint,
            progress=progress,
        )
    except ValueError as exc:
        raise _fail(_message(exc)) from None
    if as_json:
        typer.echo(json.dumps(records, indent=2))
        return
    t = Table(
        title=f"Dosing sweep: {escape(coil)} on {escape(stimulator)} at "
        f"{intensity:g} % MSO (spherical head)"
    )
    for col in (
        "head R mm",
        "SCD mm",
        "target",
        "tilt deg",
        "|E| on axis V/m",
        "objective",
        "best V/m",
        "offset mm",
        "angle deg",
    ):
        t.add_column(col)
    for r in records:
        t.add_row(
            f"{r['head_radius_mm']:g}",
            f"{r['scalp_to_cortex_mm']:g}",
            escape(str(r["target"])),
            _opt(r["normal_tilt_deg"]),  # type: ignore[arg-type]
            f"{r['on_axis_v_per_m']:.1f}",
            str(r["objective"]),
            f"{r['best_objective_v_per_m']:.1f}",
            f"{r['best_offset_mm']:.1f}",
            f"{r['best_angle_deg']:.0f}",
        )
    Console(width=160).print(t)


@threshold_app.command("compare")
def threshold_compare(
    n_subjects: Annotated[
        int, typer.Option("--n-subjects", help="Simulated subjects.")
    ],
    method: Annotated[
        list[str] | None,
        typer.Option(
            "--method",
            help="relative_frequency, ml_pest or psi (repeat; default all three).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the run.")] = 0,
    backend: BackendOpt = "auto",
    workers: WorkersOpt = None,
    batch_size: BatchOpt = None,
    checkpoint: CheckpointOpt = None,
    progress: ProgressOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Compare threshold-hunting methods over simulated subjects (with MCSEs)."""
    from ..sweeps import DEFAULT_METHODS, threshold_method_benchmark

    t0 = time.perf_counter()
    try:
        bench = threshold_method_benchmark(
            n_subjects,
            method or DEFAULT_METHODS,
            seed=seed,
            backend=backend,
            n_workers=workers,
            batch_size=batch_size,
            checkpoint=checkpoint,
            progress=progress,
        )
    except ValueError as exc:
        raise _fail(_message(exc)) from None
    wall = time.perf_counter() - t0
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "n_subjects": n_subjects,
                    "seed": seed,
                    "wall_time_s": wall,
                    "summaries": [s.model_dump(mode="json") for s in bench.summaries],
                },
                indent=2,
            )
        )
        return
    t = Table(
        title=f"Threshold methods over {n_subjects:,} simulated subjects "
        f"(seed {seed}; value ± Monte Carlo SE; errors over converged hunts)"
    )
    for col in (
        "method",
        "converged",
        "bias % MSO",
        "RMSE % MSO",
        "mean |error| % MSO",
        "pulses",
    ):
        t.add_column(col)
    for s in bench.summaries:
        t.add_row(
            escape(s.key),
            f"{s.convergence_rate.value:.3f} ± {s.convergence_rate.mcse:.3f}",
            f"{s.bias_pct_mso.value:+.2f} ± {s.bias_pct_mso.mcse:.2f}",
            f"{s.rmse_pct_mso.value:.2f} ± {s.rmse_pct_mso.mcse:.2f}",
            f"{s.mae_pct_mso.value:.2f} ± {s.mae_pct_mso.mcse:.2f}",
            f"{s.pulses_used.value:.1f} ± {s.pulses_used.mcse:.1f}",
        )
    c = Console(width=160)
    c.print(t)
    c.print(f"Wall time {wall:.1f} s ({wall / n_subjects * 1e3:.1f} ms per subject).")
