"""Safety commands: a site's policy and its physicians' readings of the train table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ..utils import clinic_today
from ._registry import DbOpt, _console, _fail, open_registry

safety_app = typer.Typer(
    help="A site's safety policy, and verification of the train-duration table "
    "against the paper (Rossi et al. 2009, Table 4).",
    no_args_is_help=True,
)

SiteArg = Annotated[str, typer.Argument(help="Site code.")]
ActorOpt = Annotated[str, typer.Option("--actor", help="Who records the change.")]


def _parse_cell(raw: str) -> tuple[float, float, float, bool]:
    """Parse ``HZxPCT=VALUE`` (``VALUE`` may start with ``>``)."""
    cell, sep, value = raw.partition("=")
    f_raw, x, i_raw = cell.lower().partition("x")
    value = value.strip()
    lower = value.startswith(">")
    try:
        if not (sep and x):
            raise ValueError
        return float(f_raw), float(i_raw), float(value.lstrip(">")), lower
    except ValueError:
        raise _fail(
            f"Invalid value for '--cell': got {raw!r}; allowed form is HZxPCT=VALUE, "
            "e.g. 10x120=4.2 or 1x100=>1800 (a '>' as printed in the table)."
        ) from None


def _readings_from_file(
    path: Path, physician: str, read_on: dt.date, source: str
) -> list[dict[str, Any]]:
    from ..protocol import load_data

    try:
        data = load_data(path, what="readings file")
    except ValueError as exc:
        raise _fail(str(exc)) from None
    rows = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not rows:
        raise _fail(
            f"Invalid value for '--file': {str(path)!r} has no 'cells' list; allowed: "
            "a mapping with 'cells': a list of {frequency_hz, intensity_pct_mt, "
            "value_s, lower_bound}."
        )
    out = []
    for k, row in enumerate(rows):
        if not isinstance(row, dict):
            raise _fail(
                f"Invalid value for 'cells[{k}]' in {str(path)!r}: got "
                f"{type(row).__name__}; allowed: a mapping."
            )
        out.append(
            {
                "physician": physician,
                "read_on": read_on,
                "source": source,
                **row,
            }
        )
    return out


@safety_app.command("table")
def table_cmd(site: SiteArg, db: DbOpt = None) -> None:
    """Show the train-duration table as SITE applies it (readings included)."""
    from ..workflow import site_table

    reg = open_registry(db, create=False)
    try:
        cells = site_table(reg, site)
        policy = reg.site_policy(site)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    finally:
        reg.close()
    t = Table(title=f"Train-duration table at {site} (Wassermann 1998, Table 4)")
    for col in ("Hz", "% MT", "as shipped", "applied (s)", "status", "site reading"):
        t.add_column(col)
    for c in cells:
        if c.conflict:
            status = "[red]reading looser: review[/red]"
        elif c.verified:
            status = "verified"
        else:
            status = "[yellow]not verified[/yellow]"
        r = c.reading
        read = (
            ""
            if r is None
            else f"{'>' if r.lower_bound else ''}{r.value_s:g} by {r.physician} "
            f"on {r.read_on.isoformat()}"
        )
        t.add_row(
            f"{c.frequency_hz:g}",
            f"{c.intensity_pct_mt:g}",
            c.printed,
            f"{c.applied_s:g}",
            status,
            escape(read),
        )
    con = _console()
    con.print(t)
    con.print(f"Policy: {escape(policy.describe())}", highlight=False)


@safety_app.command("verify")
def verify_cmd(
    site: SiteArg,
    physician: Annotated[
        str, typer.Option("--physician", help="The physician who read the paper.")
    ],
    cell: Annotated[
        list[str] | None,
        typer.Option(
            "--cell",
            help="A cell read, HZxPCT=VALUE as printed (e.g. 10x120=4.2, "
            "1x100=>1800); repeat for more cells.",
        ),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="YAML/JSON with 'cells': a list of {frequency_hz, "
            "intensity_pct_mt, value_s, lower_bound} (the whole table, or part).",
        ),
    ] = None,
    read_on: Annotated[
        str | None,
        typer.Option("--read-on", help="Date the paper was read (YYYY-MM-DD; today)."),
    ] = None,
    source: Annotated[
        str, typer.Option("--source", help="What was read.")
    ] = "Rossi et al. 2009, Table 4",
    actor: ActorOpt = "",
    db: DbOpt = None,
) -> None:
    """Record a physician's reading of train-table cells against the paper.

    From then on SITE's verdicts use each cell read: a value read that is
    stricter than the shipped one is used; a looser one sends the rule to
    physician review. Who, when and the value read go into the audit trail.
    """
    from pydantic import ValidationError

    from ..protocol import format_validation_error
    from ..registry import RegistryError
    from ..safety import CellReading
    from ..utils import check_strict_date

    if not cell and file is None:
        raise _fail(
            "Invalid value for '--cell': got none; allowed: at least one --cell "
            "HZxPCT=VALUE or a --file of readings."
        )
    try:
        day = (
            clinic_today() if read_on is None else check_strict_date(read_on, "read_on")
        )
    except ValueError as exc:
        raise _fail(str(exc)) from None
    raw: list[dict[str, Any]] = []
    if file is not None:
        raw += _readings_from_file(file, physician, day, source)
    for raw_cell in cell or []:
        f, i, v, lower = _parse_cell(raw_cell)
        raw.append(
            {
                "frequency_hz": f,
                "intensity_pct_mt": i,
                "value_s": v,
                "lower_bound": lower,
                "physician": physician,
                "read_on": day,
                "source": source,
            }
        )
    try:
        readings = [CellReading.model_validate(r) for r in raw]
    except ValidationError as exc:
        raise _fail(format_validation_error(exc)) from None
    from ..workflow import record_table_readings, site_table

    reg = open_registry(db)
    try:
        ids = record_table_readings(reg, site, readings, actor=actor or physician)
        cells = {(c.frequency_hz, c.intensity_pct_mt): c for c in site_table(reg, site)}
    except (RegistryError, ValueError) as exc:
        raise _fail(str(exc)) from None
    finally:
        reg.close()
    con = _console()
    for r, row_id in zip(readings, ids, strict=True):
        c = cells[(r.frequency_hz, r.intensity_pct_mt)]
        printed = f"{'>' if r.lower_bound else ''}{r.value_s:g}"
        con.print(
            f"Recorded reading {row_id}: {r.frequency_hz:g} Hz x "
            f"{r.intensity_pct_mt:g} % MT read as {printed} s (shipped "
            f"{c.printed} s); applied at {escape(site)}: {c.applied_s:g} s.",
            highlight=False,
        )


@safety_app.command("policy")
def policy_cmd(
    site: SiteArg,
    name: Annotated[
        str | None, typer.Option("--name", help="Set: the policy's name.")
    ] = None,
    margin: Annotated[
        float | None,
        typer.Option(
            "--margin",
            help="Set: factor in (0, 1] on every train limit (e.g. 0.75, the 25 % "
            "cut Chen et al. 1997 advised); 1 = as tabulated.",
        ),
    ] = None,
    reason: Annotated[
        str, typer.Option("--reason", help="Why (required for a margin below 1).")
    ] = "",
    actor: ActorOpt = "",
    db: DbOpt = None,
) -> None:
    """Show SITE's safety policy, or record a new one (--name, --margin)."""
    from ..registry import RegistryError
    from ..workflow import set_site_policy

    reg = open_registry(db, create=name is not None or margin is not None)
    try:
        if name is not None or margin is not None:
            if not actor:
                raise _fail(
                    "Invalid value for '--actor': got ''; allowed: who records the "
                    "policy (1-64 characters)."
                )
            current = reg.site_policy(site)
            set_site_policy(
                reg,
                site,
                name=name if name is not None else current.name,
                train_duration_margin=margin if margin is not None else 1.0,
                margin_reason=reason,
                actor=actor,
            )
        policy = reg.site_policy(site)
    except (RegistryError, ValueError) as exc:
        raise _fail(str(exc)) from None
    finally:
        reg.close()
    _console().print(f"{escape(site)}: {escape(policy.describe())}", highlight=False)
