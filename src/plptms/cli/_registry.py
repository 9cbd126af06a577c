"""Registry commands: patient, assess, audit, export."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

patient_app = typer.Typer(help="Register and view patients.", no_args_is_help=True)
assess_app = typer.Typer(help="Record and view assessments.", no_args_is_help=True)
audit_app = typer.Typer(help="Verify the audit trail.", no_args_is_help=True)

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="PLPTMS_DB_URL",
        help="Database URL (default: the SQLite file in the user data dir).",
    ),
]
SiteOpt = Annotated[str, typer.Option("--site", help="Site code.")]
CodeOpt = Annotated[str, typer.Option("--code", help="Pseudonymous patient code.")]
ActorOpt = Annotated[str, typer.Option("--actor", help="Who records the change.")]


#: Largest row id a database holds (a signed 64-bit integer); ids are 1 or more.
ID_MAX = 2**63 - 1


def _console() -> Console:
    return Console(width=160)


def _fail(message: str, code: int = 2) -> typer.Exit:
    Console(stderr=True, soft_wrap=True).print(
        f"[bold red]Error:[/bold red] {escape(message)}", highlight=False
    )
    return typer.Exit(code)


def open_registry(db: str | None, *, create: bool = True) -> Any:
    """Open the registry named by ``--db``; a bad URL or path exits 2 in one line.

    Parameters
    ----------
    db : str | None
        The ``--db`` value (``None``: ``$PLPTMS_DB_URL`` or the default file).
    create : bool
        Create the registry if there is none (commands that write). Commands
        that only read pass ``False``: a missing registry exits 2 saying how to
        create one, and nothing is created.

    Returns
    -------
    registry : plptms.registry.Registry
        The open registry.

    Raises
    ------
    typer.Exit
        With code 2 if the database cannot be opened.
    """
    from ..registry import Registry
    from ..registry.db._engine import (
        ALLOWED_URLS,
        DEFAULT_DB_ENV,
        DatabaseOpenError,
        RegistryMissingError,
    )

    try:
        return Registry(db, create=create)
    except RegistryMissingError as exc:
        option = "--db" if db else f"--db (from ${DEFAULT_DB_ENV} or the default)"
        raise _fail(
            f"Invalid value for {option!r}: got {exc.url!r}; no registry at "
            f"{exc.where}: nothing has been recorded there yet. Create it by "
            "registering a patient (plptms patient add --site S1 --code P001 "
            "--actor NAME), or name an existing registry."
        ) from None
    except DatabaseOpenError as exc:
        option = "--db" if db else f"--db (from ${DEFAULT_DB_ENV} or the default)"
        raise _fail(
            f"Invalid value for {option!r}: got {exc.url!r}; {exc.reason}; allowed: "
            f"{ALLOWED_URLS}."
        ) from None


_open = open_registry


def _check_out_dir(out: Path, option: str) -> None:
    """Refuse an output folder that is an existing file (or lies under one)."""
    for p in (out, *out.parents):
        if p.exists() and not p.is_dir():
            where = "is" if p == out else f"lies under {str(p)!r}, which is"
            raise _fail(
                f"Invalid value for {option!r}: got {str(out)!r}, which {where} an "
                "existing file; allowed: a directory (new or existing)."
            )
        if p.exists():
            return


def _parse_items(items: list[str] | None, items_file: Path | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if items_file is not None:
        from ..protocol import load_data

        try:
            data = load_data(items_file, what="items file")
        except ValueError as exc:
            raise _fail(str(exc)) from None
        if not isinstance(data, dict):
            raise _fail(
                f"Invalid value for '--items': got {type(data).__name__} in "
                f"{str(items_file)!r}; allowed: a mapping of item id to value."
            )
        out.update({str(k): v for k, v in data.items()})
    for raw in items or []:
        key, sep, val = raw.partition("=")
        if not sep:
            raise _fail(
                f"Invalid value for '--item': got {raw!r}; allowed form is "
                "ID=VALUE (VALUE may be 'missing')."
            )
        val = val.strip()
        if val.lower() in ("missing", "none", ""):
            out[key.strip()] = None
        else:
            try:
                num = float(val)
            except ValueError:
                raise _fail(
                    f"Invalid value for '--item {key}': got {val!r}; allowed: "
                    "a number or 'missing'."
                ) from None
            out[key.strip()] = int(num) if num.is_integer() and "." not in val else num
    if not out:
        raise _fail("No items given: use --item ID=VALUE or --items FILE.")
    return out


@patient_app.command("add")
def patient_add(
    site: SiteOpt,
    code: CodeOpt,
    actor: ActorOpt,
    history: Annotated[
        Path | None, typer.Option("--history", help="PLP history file (YAML/JSON).")
    ] = None,
    db: DbOpt = None,
) -> None:
    """Register a patient under a pseudonymous code (no name is stored)."""
    from pydantic import ValidationError

    from ..protocol import ProtocolFileError, load_data, problems_message
    from ..scales import PLPHistory
    from ..workflow import PatientInput, register_patient

    try:
        hist = None
        if history is not None:
            data = load_data(history, what="PLP history file")
            if not isinstance(data, dict):
                raise _fail(
                    f"Invalid value for '--history': got {type(data).__name__} in "
                    f"{str(history)!r}; allowed: a mapping of history fields."
                )
            try:
                hist = PLPHistory.model_validate(data)
            except ValidationError as exc:
                raise _fail(problems_message("Invalid PLP history:", exc)) from None
        with _open(db) as reg:
            p = register_patient(
                reg, PatientInput(site=site, code=code, history=hist), actor=actor
            )
    except (ProtocolFileError, ValueError) as exc:
        raise _fail(str(exc)) from None
    _console().print(f"Registered {p.site}/{p.code} (id {p.id}).")


@patient_app.command("list")
def patient_list(
    site: Annotated[str | None, typer.Option("--site", help="Only this site.")] = None,
    deleted: Annotated[
        bool, typer.Option("--deleted", help="Include deleted.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOpt = None,
) -> None:
    """List patients."""
    with _open(db, create=False) as reg:
        rows = reg.list_patients(site, include_deleted=deleted)
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return
    table = Table(title="Patients")
    for col in ("site", "code", "amputation date", "registered", "deleted"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r.site,
            r.code,
            str(r.amputation_date or ""),
            r.created_at.date().isoformat(),
            "yes" if r.deleted else "",
        )
    _console().print(table)


def _assessment_table(rows: list[Any], title: str) -> Table:
    table = Table(title=title)
    for col in ("id", "visit", "kind", "scale", "total", "subscales", "band", "note"):
        table.add_column(col, overflow="fold")
    for a in rows:
        subs = ", ".join(
            f"{k} {v:.3g}" if v is not None else f"{k} -"
            for k, v in a.subscales.items()
        )
        table.add_row(
            str(a.id),
            a.visit_date.isoformat(),
            a.visit_kind.value,
            a.scale_id,
            "-" if a.total is None else f"{a.total:.4g}",
            escape(subs),
            escape(a.band or ""),
            escape(a.reason or ""),
        )
    return table


@patient_app.command("show")
def patient_show(
    site: SiteOpt,
    code: CodeOpt,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOpt = None,
) -> None:
    """Show a patient: history, visits and assessments."""
    try:
        with _open(db, create=False) as reg:
            p = reg.get_patient(site, code)
            visits = reg.list_visits(site, code)
            assessments = reg.list_assessments(site, code)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "patient": p.model_dump(mode="json"),
                    "visits": [v.model_dump(mode="json") for v in visits],
                    "assessments": [a.model_dump(mode="json") for a in assessments],
                },
                indent=2,
            )
        )
        return
    c = _console()
    c.print(
        f"[bold]{escape(p.site)}/{escape(p.code)}[/bold] (id {p.id}), registered "
        f"{p.created_at.date().isoformat()}"
    )
    for key, val in p.history.items():
        if val not in (None, [], {}, ""):
            c.print(f"  {key}: {escape(str(val))}")
    c.print(f"{len(visits)} visit(s)")
    c.print(_assessment_table(assessments, "Assessments"))


@patient_app.command("plot")
def patient_plot(
    site: SiteOpt,
    code: CodeOpt,
    scale: Annotated[str, typer.Option("--scale", help="Scale to plot.")],
    out: Annotated[Path, typer.Option("--out", help="PNG file to write.")],
    measure: Annotated[
        str, typer.Option("--measure", help="total or a subscale.")
    ] = "total",
    db: DbOpt = None,
) -> None:
    """Draw the pain trajectory with course, follow-ups and responder lines."""
    from ..report import plot_trajectory
    from ..scales import IMMPACT_MODERATE_PCT, IMMPACT_SUBSTANTIAL_PCT

    try:
        with _open(db, create=False) as reg:
            rows = reg.list_assessments(site, code)
        fig = plot_trajectory(
            rows,
            scale_id=scale,
            title=f"{site}/{code}",
            moderate_pct=IMMPACT_MODERATE_PCT,
            substantial_pct=IMMPACT_SUBSTANTIAL_PCT,
            measure=measure,
        )
    except ValueError as exc:
        raise _fail(str(exc)) from None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=120)
    except (OSError, ValueError) as exc:  # ValueError: an unknown image format
        raise _fail(
            f"Invalid value for '--out': got {str(out)!r}; cannot write it "
            f"({getattr(exc, 'strerror', None) or exc}); allowed: a PNG file in a "
            "writable directory."
        ) from None
    _console().print(f"Wrote {out}")


@assess_app.command("record")
def assess_record(
    site: SiteOpt,
    code: CodeOpt,
    scale: Annotated[str, typer.Option("--scale", help="Scale id.")],
    visit_date: Annotated[str, typer.Option("--date", help="Visit date, YYYY-MM-DD.")],
    kind: Annotated[str, typer.Option("--kind", help="Visit kind.")],
    actor: ActorOpt,
    item: Annotated[
        list[str] | None, typer.Option("--item", help="ID=VALUE (repeat).")
    ] = None,
    items_file: Annotated[
        Path | None, typer.Option("--items", help="Items file (YAML/JSON mapping).")
    ] = None,
    db: DbOpt = None,
) -> None:
    """Score and store an assessment (nothing is stored if any item is invalid)."""
    from pydantic import ValidationError

    from ..protocol import problems_message
    from ..registry import VisitIn
    from ..workflow import AssessmentInput, record_assessment

    items = _parse_items(item, items_file)
    try:
        day = dt.date.fromisoformat(visit_date)
    except ValueError:
        raise _fail(
            f"Invalid value for '--date': got {visit_date!r}; allowed: a date, "
            "YYYY-MM-DD."
        ) from None
    try:
        visit = VisitIn(visit_date=day, kind=kind)
        rec = AssessmentInput(
            site=site, code=code, visit=visit, scale_id=scale, items=items
        )
        with _open(db) as reg:
            a = record_assessment(reg, rec, actor=actor)
    except ValidationError as exc:
        raise _fail(problems_message("Invalid visit:", exc)) from None
    except (TypeError, ValueError) as exc:  # TypeError: an item that is not a number
        raise _fail(str(exc)) from None
    _console().print(_assessment_table([a], "Recorded"))


@assess_app.command("correct")
def assess_correct(
    assessment_id: Annotated[
        int, typer.Argument(help="Assessment id.", min=1, max=ID_MAX)
    ],
    actor: ActorOpt,
    reason: Annotated[str, typer.Option("--reason", help="Why it is corrected.")],
    item: Annotated[
        list[str] | None, typer.Option("--item", help="ID=VALUE (repeat).")
    ] = None,
    items_file: Annotated[
        Path | None, typer.Option("--items", help="Items file (YAML/JSON mapping).")
    ] = None,
    db: DbOpt = None,
) -> None:
    """Correct an assessment (all items); the old values stay in the audit trail."""
    from ..workflow import correct_assessment

    items = _parse_items(item, items_file)
    try:
        with _open(db) as reg:
            a = correct_assessment(
                reg, assessment_id, items, actor=actor, reason=reason
            )
    except (TypeError, ValueError) as exc:  # TypeError: an item that is not a number
        raise _fail(str(exc)) from None
    _console().print(_assessment_table([a], "Corrected"))


@assess_app.command("show")
def assess_show(
    site: SiteOpt,
    code: CodeOpt,
    scale: Annotated[
        str | None, typer.Option("--scale", help="Only this scale.")
    ] = None,
    responses: Annotated[
        bool,
        typer.Option(
            "--responses",
            help="Also show change from baseline and IMMPACT class (needs --scale).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOpt = None,
) -> None:
    """Show a patient's assessments."""
    if responses and scale is None:
        raise _fail("Invalid value for '--responses': needs --scale SCALE.")
    try:
        with _open(db, create=False) as reg:
            rows = reg.list_assessments(site, code, scale)
            resp = reg.responses(site, code, scale) if responses and scale else []
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if resp and not as_json:
        _console().print(_assessment_table(rows, f"Assessments of {site}/{code}"))
        table = Table(title="Change from baseline (IMMPACT, Dworkin 2008)")
        for col in ("visit", "kind", "score", "reduction %", "class"):
            table.add_column(col)
        for a, r in resp:
            table.add_row(
                a.visit_date.isoformat(),
                a.visit_kind.value,
                f"{r.follow_up:.4g}",
                f"{r.percent_change:.1f}",
                r.responder_class.value.replace("_", " "),
            )
        _console().print(table)
        return
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return
    _console().print(_assessment_table(rows, f"Assessments of {site}/{code}"))


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint",
            help="Also check the chain against a head exported by `audit checkpoint`.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOpt = None,
) -> None:
    """Verify the audit chain end to end; exit 1 if anything was tampered with.

    Needs the site key (config dir, or $PLPTMS_AUDIT_KEY_FILE) and checks the
    head anchor in the state dir; without them the keyed and truncation checks
    cannot be made, which fails too.
    """
    try:
        with _open(db, create=False) as reg:
            report = reg.verify_audit(checkpoint=checkpoint)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        c = _console()
        state = (
            "[green]intact[/green]" if report.ok else "[bold red]TAMPERED[/bold red]"
        )
        c.print(
            f"Audit trail {state}: {report.entries} entries, head {report.head_hash}"
        )
        for p in report.problems:
            c.print(f"  - {escape(p)}")
        for n in report.notes:
            c.print(f"  [dim]note: {escape(n)}[/dim]")
    raise typer.Exit(0 if report.ok else 1)


@audit_app.command("checkpoint")
def audit_checkpoint(
    out: Annotated[
        Path, typer.Option("--out", help="File to write the head to (JSON).")
    ],
    db: DbOpt = None,
) -> None:
    """Export the audit chain's head (seq, hash, MAC, time) to a checkpoint file.

    Keep it where the database's writers cannot change it; `audit verify
    --checkpoint FILE` then detects entries removed or re-forged since.
    """
    try:
        with _open(db, create=False) as reg:
            head = reg.export_checkpoint(out)
    except (OSError, ValueError) as exc:
        raise _fail(str(exc)) from None
    _console().print(f"Wrote {out}: entry {head.seq}, head {head.hash}")


def export_cmd(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    db: DbOpt = None,
) -> None:
    """Export every table as CSV, plus one tidy long-format file (long.csv)."""
    _check_out_dir(out, "--out")
    try:
        with _open(db, create=False) as reg:
            paths = reg.export_csv(out)
            paths.append(reg.export_long(out / "long.csv"))
    except OSError as exc:
        raise _fail(
            f"Invalid value for '--out': got {str(out)!r}; cannot write there "
            f"({exc.strerror or exc}); allowed: a writable directory."
        ) from None
    for p in paths:
        _console().print(f"Wrote {p}")
