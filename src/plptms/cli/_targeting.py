"""Targeting commands: plan the scalp targets and print a targeting sheet."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from ..protocol import Amputation

target_app = typer.Typer(
    help="Find this patient's targets on the scalp (10-20, Beam F3, MNI).",
    no_args_is_help=True,
)


def _fail(message: str, code: int = 2) -> typer.Exit:
    Console(stderr=True, soft_wrap=True).print(
        f"[bold red]Error:[/bold red] {escape(message)}", highlight=False
    )
    return typer.Exit(code)


def _file_patient(path: Path) -> tuple[str, Amputation, dict[str, Any]]:
    """Return (code, Amputation, file data) from a patient file."""
    from ..protocol import Amputation, load_data

    data = load_data(path, what="patient file")
    if not isinstance(data, dict) or "amputation" not in data:
        raise _fail(f"{path}: expected a mapping with an 'amputation' entry.")
    return (
        str(data.get("patient", path.stem)),
        Amputation.model_validate(data["amputation"]),
        data,
    )


@target_app.command("plan")
def target_plan(
    patient: Annotated[
        str,
        typer.Argument(help="Patient file (YAML/JSON) or SITE/CODE in the registry."),
    ],
    out: Annotated[Path, typer.Option("--out", help="Targeting sheet PNG.")] = Path(
        "targeting_sheet.png"
    ),
    ni: Annotated[
        float | None, typer.Option("--ni", help="Nasion-inion distance, cm.")
    ] = None,
    tt: Annotated[
        float | None, typer.Option("--tt", help="Tragus-tragus distance, cm.")
    ] = None,
    cf: Annotated[
        float | None, typer.Option("--cf", help="Head circumference, cm.")
    ] = None,
    target: Annotated[
        list[str] | None,
        typer.Option(
            "--target", help="m1, m1_hand, m1_leg, s1, smc or dlpfc (repeat)."
        ),
    ] = None,
    protocol: Annotated[
        str | None,
        typer.Option(
            "--protocol",
            help="Take the targets of this protocol (default for SITE/CODE: the "
            "protocol assigned last).",
        ),
    ] = None,
    beam: Annotated[
        str, typer.Option("--beam", help="Beam F3 variant: web, paper.")
    ] = "web",
    db: Annotated[
        str | None, typer.Option("--db", envvar="PLPTMS_DB_URL", help="Database URL.")
    ] = None,
) -> None:
    """Plan the targets and write the targeting sheet (PNG)."""
    from ..protocol import ProtocolFileError
    from ..targeting import HeadMeasurements
    from ..workflow import (
        plan_file_targets,
        plan_patient_targets,
        targeting_sheet_png,
    )

    path = Path(patient)
    is_file = path.suffix.lower() in (".yaml", ".yml", ".json")
    if not is_file and "/" not in patient:
        raise _fail(
            f"Invalid value for 'PATIENT': got {patient!r}; allowed: a patient file "
            "(.yaml/.json) or SITE/CODE of a registered patient."
        )
    try:
        data: dict[str, Any] = {}
        if is_file:
            code, amputation, data = _file_patient(path)
        head_data = dict(data.get("head", {}))
        for key, val in (
            ("nasion_inion_cm", ni),
            ("tragus_tragus_cm", tt),
            ("circumference_cm", cf),
        ):
            if val is not None:
                head_data[key] = val
        head = HeadMeasurements.model_validate(head_data)
        if is_file:
            result = plan_file_targets(
                code,
                amputation,
                head,
                targets=target or None,
                protocol_id=None if target else protocol or data.get("protocol"),
                beam_variant=beam,
            )
        else:
            from ._registry import open_registry

            site_id, patient_code = patient.split("/", 1)
            with open_registry(db, create=False) as reg:
                result = plan_patient_targets(
                    reg,
                    site_id,
                    patient_code,
                    head,
                    targets=target or None,
                    protocol_id=None if target else protocol,
                    beam_variant=beam,
                )
            code = patient
    except (ProtocolFileError, ValueError) as exc:
        raise _fail(str(exc)) from None
    except KeyError as exc:
        raise _fail(str(exc.args[0])) from None
    plans = result.plans
    c = Console(width=160)
    table = Table(title=f"Targets for {escape(code)}")
    for col in ("target", "hemisphere", "site", "how to measure", "MNI (x, y, z)"):
        table.add_column(col, overflow="fold")
    for plan in plans:
        for site in plan.sites:
            mni = (
                ""
                if site.mni is None
                else (f"{site.mni.x_mm:g}, {site.mni.y_mm:g}, {site.mni.z_mm:g}")
            )
            table.add_row(
                plan.target.value,
                site.hemisphere.value,
                escape(site.position.name),
                escape(site.position.how_to_measure),
                mni,
            )
    c.print(table)
    for plan in plans:
        c.print(f"[bold]{plan.target.value}[/bold]: {escape(plan.explanation)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(targeting_sheet_png(result))
    c.print(f"Wrote {out}")
