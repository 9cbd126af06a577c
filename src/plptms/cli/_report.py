"""``plptms report``: clinician and patient reports of a registered patient."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from ._plan import (
    PriorOpt,
    ProtocolOpt,
    SpwOpt,
    StartOpt,
    _fail,
    parse_patient,
    parse_priors,
    parse_start,
)
from ._registry import DbOpt

_CHOICES = {
    "kind": {"clinician": ("clinician",), "patient": ("patient",)},
    "format": {"html": ("html",), "pdf": ("pdf",)},
}


def _choice(value: str, field: str) -> tuple[str, ...]:
    options = _CHOICES[field]
    if value == "both":
        return tuple(v[0] for v in options.values())
    if value not in options:
        raise _fail(
            f"Invalid value for '--{field}': got {value!r}; allowed: "
            f"{', '.join(repr(k) for k in [*options, 'both'])}."
        )
    return options[value]


def report_cmd(
    patient: Annotated[str, typer.Argument(help="Registered patient, SITE/CODE.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the reports.")],
    kind: Annotated[
        str, typer.Option("--kind", help="clinician, patient or both.")
    ] = "both",
    fmt: Annotated[str, typer.Option("--format", help="html, pdf or both.")] = "both",
    protocol: ProtocolOpt = None,
    start: StartOpt = None,
    sessions_per_week: SpwOpt = None,
    prior: PriorOpt = None,
    db: DbOpt = None,
) -> None:
    """Write the clinician and/or patient report (HTML, PDF) of a registered patient.

    The plan in the reports is the one `plptms plan` shows for the same options.
    Exit 0 written, 2 bad input.
    """
    from ..report import write_reports
    from ..workflow import collect_report_data
    from ._registry import open_registry

    kinds = _choice(kind, "kind")
    formats = _choice(fmt, "format")
    site, code = parse_patient(patient)
    start_date = parse_start(start)
    priors = parse_priors(prior)
    try:
        with open_registry(db, create=False) as reg:
            data = collect_report_data(
                reg,
                site,
                code,
                start_date=start_date,
                protocol_id=protocol,
                sessions_per_week=sessions_per_week,
                prior_treatments=priors,
            )
        paths = write_reports(data, out, kinds=kinds, formats=formats)
    except KeyError as exc:
        raise _fail(str(exc.args[0])) from None
    except (ImportError, ValueError) as exc:
        raise _fail(str(exc)) from None
    c = Console(width=160)
    for p in paths:
        c.print(f"Wrote {escape(str(p))}")
