"""Trial analysis commands: interim look, final analyses, CONSORT, exports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ._registry import DbOpt, _console, _fail
from ._trial import TrialOpt, trial_app

RoleOpt = Annotated[
    str, typer.Option("--role", help="Your role (the statistician sees the arms).")
]
SetOpt = Annotated[
    str, typer.Option("--set", help="Analysis set: itt (default) or pp.")
]


def _run(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Open the registry, run one use case; map refusals to exit codes."""
    from ..registry import RegistryError
    from ..workflow import AnalysisRefusedError
    from ._registry import open_registry

    try:
        with open_registry(kwargs.pop("db"), create=False) as reg:
            return fn(reg, *args, **kwargs)
    except AnalysisRefusedError as exc:
        raise _fail(str(exc), 1) from None
    except (RegistryError, ValueError) as exc:
        raise _fail(str(exc)) from None


def _estimates(title: str, rows: Any) -> Table:
    table = Table(title=title)
    for col in ("", "estimate", "SE", "df", "CI", "p"):
        table.add_column(col, justify="right" if col else "left")
    for r in rows:
        table.add_row(
            escape(r.label),
            f"{r.estimate:.3f}",
            f"{r.se:.3f}",
            f"{r.df:.1f}",
            f"[{r.ci_lower:.3f}, {r.ci_upper:.3f}] ({r.level_pct:g} %)",
            f"{r.pvalue:.4f}",
        )
    return table


@trial_app.command("analyse")
def analyse_cmd(
    trial: TrialOpt,
    role: RoleOpt,
    analysis_set: SetOpt = "itt",
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the analysis as JSON.")
    ] = None,
    db: DbOpt = None,
) -> None:
    """Run the planned analyses of every endpoint on the registry's data.

    The primary endpoint by a mixed model for repeated measures (unstructured
    covariance, REML, Satterthwaite df), baseline and site adjusted; responder
    rates with their intervals; durability across follow-ups; moderators.
    Exit 0 done, 1 refused (role), 2 bad input or too little data.
    """
    from ..workflow import trial_analysis

    res = _run(trial_analysis, trial, role=role, analysis_set=analysis_set, db=db)
    con = _console()
    con.print(
        f"[bold]{escape(res.trial_id)}[/bold] version {res.version}, "
        f"{res.analysis_set.upper()} set, n by arm: "
        + ", ".join(f"{escape(a)} {n}" for a, n in res.n_by_arm.items())
    )
    for ep in res.endpoints:
        head = f"{ep.kind} endpoint {ep.endpoint_id} ({ep.scale_id}, {ep.measure})"
        if ep.status != "estimated":
            con.print(f"{escape(head)}: {escape(ep.status)}")
            continue
        if ep.contrasts:
            con.print(_estimates(f"{head}: {ep.method}", ep.contrasts))
        if ep.responders is not None:
            r = ep.responders
            con.print(
                f"{escape(head)}: "
                + "; ".join(
                    f"{escape(a.arm)} {a.responders}/{a.n} ({100 * a.rate:.1f} %)"
                    for a in r.arms
                )
            )
    if res.durability:
        con.print(_estimates("Durability (primary contrast by visit)", res.durability))
    for m in res.moderators:
        if m.interaction is not None:
            con.print(_estimates(f"Moderator {m.covariate}", [m.interaction]))
        else:
            con.print(f"Moderator {escape(m.covariate)}: {escape(m.status)}")
    for note in res.notes:
        con.print(f"[dim]{escape(note)}[/dim]")
    if json_out is not None:
        json_out.write_text(res.model_dump_json(indent=2))
        con.print(f"Written {escape(str(json_out))}.")


@trial_app.command("interim")
def interim_cmd(
    trial: TrialOpt,
    role: RoleOpt,
    look: Annotated[int, typer.Option("--look", min=1, help="Interim look, from 1.")],
    db: DbOpt = None,
) -> None:
    """Run an interim look: information fraction, statistic, boundary, decision.

    Lan-DeMets spending at the observed information fraction. Exit 0 continue,
    3 a boundary is crossed, 1 refused (role), 2 bad input.
    """
    from ..workflow import trial_interim

    rep = _run(trial_interim, trial, role=role, look=look, db=db)
    con = _console()
    con.print(
        f"Look {rep.look} of {escape(trial)} on {escape(rep.endpoint_id)}: "
        f"{rep.n_observed} of {rep.sample_size} patients observed (information "
        f"fraction {rep.information_fraction:.3f}, planned "
        f"{rep.planned_fraction:.3f})."
    )
    con.print(_estimates("Primary contrast", [rep.contrast]))
    con.print(
        f"z = {rep.z:.3f}; boundaries: upper {rep.upper:.3f}, lower {rep.lower:.3f} "
        f"(nominal alpha {rep.nominal_alpha:.5f})."
    )
    con.print(f"Decision: [bold]{rep.decision.replace('_', ' ')}[/bold].")
    if rep.decision != "continue":
        raise typer.Exit(3)


@trial_app.command("consort")
def consort_cmd(
    trial: TrialOpt,
    role: RoleOpt,
    out: Annotated[
        Path, typer.Option("--out", help="Output path without suffix (.png, .svg).")
    ],
    db: DbOpt = None,
) -> None:
    """Draw the trial's CONSORT 2010 flow diagram from the registry (PNG and SVG)."""
    from ..trial import write_consort
    from ..workflow import trial_consort

    flow = _run(trial_consort, trial, role=role, db=db)
    paths = write_consort(flow, out, title=f"CONSORT 2010 flow: {trial}")
    con = _console()
    con.print(
        f"Assessed {flow.assessed}, excluded {sum(flow.excluded.values())}, "
        f"randomised {flow.randomised}."
    )
    for p in paths:
        con.print(f"Written {escape(str(p))}.")


@trial_app.command("export")
def export_cmd(
    trial: TrialOpt,
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    role: Annotated[
        str | None,
        typer.Option("--role", help="statistician: also the analysis datasets."),
    ] = None,
    analysis_set: SetOpt = "itt",
    db: DbOpt = None,
) -> None:
    """Export the trial's data: a CDISC ODM 1.3.2 snapshot (blinded, validated).

    With --role statistician, also the analysis datasets (long and
    patient-level) as CSV and Parquet.
    """
    from ..workflow import trial_dataset, trial_odm

    out.mkdir(parents=True, exist_ok=True)
    con = _console()
    xml = _run(trial_odm, trial, db=db)
    odm = out / f"{trial}.odm.xml"
    odm.write_bytes(xml)
    con.print(f"Written {escape(str(odm))} (ODM 1.3.2, validated).")
    if role is None:
        return
    ds = _run(trial_dataset, trial, role=role, analysis_set=analysis_set, db=db)
    for table in ("long", "patients"):
        for suffix, write in ((".csv", ds.to_csv), (".parquet", ds.to_parquet)):
            path = out / f"{trial}-{analysis_set}-{table}{suffix}"
            write(path, table)
            con.print(f"Written {escape(str(path))}.")
