"""Targeting commands: plan the scalp targets and print a targeting sheet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

target_app = typer.Typer(
    help="Find this patient's targets on the scalp (10-20, Beam F3, MNI).",
    no_args_is_help=True,
)


def _fail(message: str, code: int = 2) -> typer.Exit:
    Console(stderr=True, soft_wrap=True).print(
        f"[bold red]Error:[/bold red] {escape(message)}", highlight=False
    )
    return typer.Exit(code)


def _amputation_from(patient: str, db: str | None) -> tuple[str, Any, dict[str, Any]]:
    """Return (code, Amputation, file data) from a patient file or SITE/CODE."""
    from ..protocol import Amputation, load_data

    path = Path(patient)
    if path.suffix.lower() in (".yaml", ".yml", ".json"):
        data = load_data(path, what="patient file")
        if not isinstance(data, dict) or "amputation" not in data:
            raise _fail(f"{path}: expected a mapping with an 'amputation' entry.")
        return (
            str(data.get("patient", path.stem)),
            Amputation.model_validate(data["amputation"]),
            data,
        )
    if "/" not in patient:
        raise _fail(
            f"Invalid value for 'PATIENT': got {patient!r}; allowed: a patient file "
            "(.yaml/.json) or SITE/CODE of a registered patient."
        )
    from ..scales import PLPHistory
    from ._registry import open_registry

    site, code = patient.split("/", 1)
    with open_registry(db, create=False) as reg:
        p = reg.get_patient(site, code)
    if not p.history:
        raise _fail(f"{patient}: no PLP history recorded (amputation side and limb).")
    return patient, PLPHistory.model_validate(p.history).amputation, {}


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
        typer.Option("--protocol", help="Take the targets of this protocol."),
    ] = None,
    beam: Annotated[
        str, typer.Option("--beam", help="Beam F3 variant: web, paper.")
    ] = "web",
    db: Annotated[
        str | None, typer.Option("--db", envvar="PLPTMS_DB_URL", help="Database URL.")
    ] = None,
) -> None:
    """Plan the targets and write the targeting sheet (PNG)."""
    from ..protocol import Laterality, ProtocolFileError, TargetSite, load_library
    from ..targeting import HeadMeasurements, plan_targets, plot_targeting_sheet

    try:
        code, amputation, data = _amputation_from(patient, db)
        head_data = dict(data.get("head", {}))
        for key, val in (
            ("nasion_inion_cm", ni),
            ("tragus_tragus_cm", tt),
            ("circumference_cm", cf),
        ):
            if val is not None:
                head_data[key] = val
        head = HeadMeasurements.model_validate(head_data)
        wanted: list[tuple[TargetSite, Laterality | None]] = []
        proto_id = protocol or data.get("protocol")
        if target:
            wanted += [(TargetSite(t), Laterality.CONTRALATERAL) for t in target]
        elif proto_id:
            for b in load_library().protocol(str(proto_id)).blocks:
                wanted.append((b.dose.target, b.dose.laterality))
        else:
            raise _fail("Give --target (repeatable) or --protocol ID.")
        plans = [
            plan_targets(amputation, t, head, laterality=lat, beam_variant=beam)
            for t, lat in wanted
        ]
    except (ProtocolFileError, ValueError) as exc:
        raise _fail(str(exc)) from None
    except KeyError as exc:
        raise _fail(str(exc.args[0])) from None
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
    fig = plot_targeting_sheet(plans, patient_code=code)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    c.print(f"Wrote {out}")
