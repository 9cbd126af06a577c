"""Dose commands: field at a target, dose transfer, coil placement (sphere model)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

dose_app = typer.Typer(
    help="E-field dosing in a spherical head model.", no_args_is_help=True
)

CoilOpt = Annotated[str, typer.Option("--coil", help="Coil (see `plptms dose coils`).")]
StimOpt = Annotated[
    str, typer.Option("--stimulator", help="Stimulator/coil dI/dt entry.")
]


def _fail(message: str, code: int = 2) -> typer.Exit:
    Console(stderr=True, soft_wrap=True).print(
        f"[bold red]Error:[/bold red] {escape(message)}", highlight=False
    )
    return typer.Exit(code)


@dose_app.command("coils")
def dose_coils() -> None:
    """List the coil models and stimulator dI/dt entries."""
    from ..efield import STANDARD_COILS, STIMULATORS

    c = Console(width=150)
    for name in STANDARD_COILS:
        c.print(f"coil: {name}")
    for key in STIMULATORS:
        c.print(f"stimulator: {key}")


@dose_app.command("field")
def dose_field(
    coil: CoilOpt = "magstim_70mm_fig8",
    stimulator: StimOpt = "magstim_rapid/d70",
    intensity: Annotated[float, typer.Option("--intensity", help="% MSO.")] = 60.0,
    depth: Annotated[
        float, typer.Option("--depth", help="Scalp-to-cortex distance, mm.")
    ] = 20.0,
    out: Annotated[
        Path | None, typer.Option("--out", help="Field map PNG at that depth.")
    ] = None,
) -> None:
    """Field under the coil centre at a depth, and optionally a field map."""
    from ..efield import SphereHead, field_at_target, plot_field_map, standard_coil

    try:
        cm = standard_coil(coil)
        res = field_at_target(cm, stimulator, intensity, scalp_to_cortex_mm=depth)
    except (ValueError, KeyError) as exc:
        raise _fail(str(exc)) from None
    Console().print(
        f"{escape(coil)} on {escape(stimulator)} at {intensity:g} % MSO "
        f"(dI/dt {res.didt_a_per_s / 1e6:.1f} A/us): {res.magnitude_v_per_m:.1f} V/m "
        f"at {depth:g} mm (sphere radius {SphereHead().scalp_radius_m * 1e3:.0f} mm)"
    )
    if out is not None:
        fig = plot_field_map(
            cm,
            res.pose,
            didt_a_per_s=res.didt_a_per_s,
            depth_mm=depth,
            target_m=res.target_m,
        )
        fig.savefig(out, dpi=110)
        Console().print(f"Wrote {out}")


@dose_app.command("transfer")
def dose_transfer(
    rmt: Annotated[float, typer.Option("--rmt", help="RMT at the M1 hotspot, % MSO.")],
    hotspot_scd: Annotated[
        float, typer.Option("--hotspot-scd", help="Scalp-to-cortex at M1, mm.")
    ],
    target_scd: Annotated[
        float, typer.Option("--target-scd", help="Scalp-to-cortex at the target, mm.")
    ],
    intensity_pct_rmt: Annotated[
        float, typer.Option("--intensity-pct-rmt", help="Prescribed % RMT.")
    ] = 100.0,
    coil: CoilOpt = "magstim_70mm_fig8",
    stimulator: StimOpt = "magstim_rapid/d70",
) -> None:
    """Dose at another target: E-field matched and Stokes (2005), side by side.

    Exit 1 when a method's intensity is refused (never clamped).
    """
    from ..efield import DoseRefusedError, standard_coil, transfer_dose

    try:
        res = transfer_dose(
            standard_coil(coil),
            stimulator,
            rmt_pct_mso=rmt,
            hotspot_scd_mm=hotspot_scd,
            target_scd_mm=target_scd,
            intensity_pct_rmt=intensity_pct_rmt,
        )
    except DoseRefusedError as exc:
        raise _fail(str(exc), code=1) from None
    except (ValueError, KeyError) as exc:
        raise _fail(str(exc)) from None
    t = Table(title="Dose transfer from the M1 hotspot")
    for col in (
        "method",
        "threshold at target % MSO",
        "intensity % MSO",
        "field at target V/m",
    ):
        t.add_column(col)
    for name, thr, pct, field in res.table():
        t.add_row(name, f"{thr:.1f}", f"{pct:.1f}", f"{field:.1f}")
    Console(width=150).print(t)


@dose_app.command("place")
def dose_place(
    target: Annotated[
        tuple[float, float, float],
        typer.Option("--target", help="Target x y z in the sphere frame, mm."),
    ],
    coil: CoilOpt = "magstim_70mm_fig8",
    objective: Annotated[
        str, typer.Option("--objective", help="magnitude or normal.")
    ] = "magnitude",
    positions: Annotated[int, typer.Option("--positions", help="Positions.")] = 500,
    orientations: Annotated[
        int, typer.Option("--orientations", help="Orientations.")
    ] = 36,
) -> None:
    """Choose the coil position and orientation that maximise the field."""
    from ..efield import optimise_placement, standard_coil

    try:
        res = optimise_placement(
            standard_coil(coil),
            [v / 1000.0 for v in target],
            objective=objective,  # type: ignore[arg-type]
            n_positions=positions,
            n_orientations=orientations,
        )
    except (ValueError, KeyError) as exc:
        raise _fail(str(exc)) from None
    d = res.direction
    Console().print(
        f"Best pose over {positions} x {orientations}: coil centre direction "
        f"({d[0]:.3f}, {d[1]:.3f}, {d[2]:.3f}), orientation {res.angle_deg:.0f} deg; "
        f"{res.magnitude_v_per_m:.2f} V/m per A/us at the target ({res.objective})."
    )
