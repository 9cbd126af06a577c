"""Evidence commands: effect sizes of the trials, pooling, forest and funnel plots."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

evidence_app = typer.Typer(
    help="Effect sizes and meta-analysis of the trials.", no_args_is_help=True
)


def _fail(message: str, code: int = 2) -> typer.Exit:
    Console(stderr=True, soft_wrap=True).print(
        f"[bold red]Error:[/bold red] {escape(message)}", highlight=False
    )
    return typer.Exit(code)


@evidence_app.command("effects")
def evidence_effects(
    measure: Annotated[
        str, typer.Option("--measure", help="smd, md, rom, ...")
    ] = "smd",
) -> None:
    """List each study's effect, or why it cannot be estimated."""
    from ..meta import collect_effects

    try:
        table = collect_effects(measure=measure)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    t = Table(title=f"Effects ({measure}), pain intensity, end of treatment vs sham")
    for col in ("study", "estimate", "variance", "n", "how"):
        t.add_column(col, overflow="fold")
    for e in table.effects:
        t.add_row(
            str(e.study_id),
            f"{e.estimate:.3f}",
            f"{e.variance:.4f}",
            f"{e.n_treatment}/{e.n_control}",
            escape(e.method),
        )
    for ne in table.not_estimable:
        t.add_row(str(ne.study_id), "not estimable", "", "", escape(ne.reason))
    Console(width=150).print(t)


@evidence_app.command("pool")
def evidence_pool(
    method: Annotated[str, typer.Option("--method", help="FE, DL, REML, PM.")] = "REML",
    test: Annotated[str, typer.Option("--test", help="z or knha.")] = "knha",
    measure: Annotated[str, typer.Option("--measure", help="Effect measure.")] = "smd",
    forest: Annotated[
        Path | None, typer.Option("--forest", help="Write a forest plot PNG.")
    ] = None,
) -> None:
    """Pool the estimable effects (random effects by default, Hartung-Knapp)."""
    from ..meta import collect_effects, forest_plot, meta_analysis
    from ..utils._checks import check_option

    try:
        table = collect_effects(measure=measure)
        if not table.effects:
            raise _fail("No estimable effect to pool.")
        k = len(table.effects)
        meth: Literal["FE", "DL", "REML", "PM"] = check_option(
            method, "--method", ("FE", "DL", "REML", "PM")
        )
        tst: Literal["z", "knha"] = check_option(test, "--test", ("z", "knha"))
        res = meta_analysis(
            list(table.estimates),
            list(table.variances),
            method=meth if k > 1 else "FE",
            test=tst if k > 1 else "z",
            labels=list(table.labels),
        )
    except ValueError as exc:
        raise _fail(str(exc)) from None
    c = Console(width=150)
    n_all = k + len(table.not_estimable)
    if k == 1:
        c.print(
            f"Only 1 of {n_all} studies has an estimable effect: nothing to pool; "
            "its effect is shown as is."
        )
    c.print(
        f"{res.method} ({res.test}), k = {res.k}: estimate {res.estimate:.3f} "
        f"[{res.ci_lower:.3f}, {res.ci_upper:.3f}], p = {res.pvalue:.3g}, "
        f"tau^2 = {res.tau2:.3g}"
    )
    c.print(
        f"{k} estimable of {n_all} studies; see `plptms evidence effects` for why "
        "the others cannot be pooled."
    )
    if forest is not None:
        fig = forest_plot(
            res,
            xlabel=f"{measure} (negative favours active)",
            title="rTMS for phantom limb pain vs sham",
            source_note="Data: Table 2 of the source review",
        )
        fig.savefig(forest, dpi=120)
        c.print(f"Wrote {forest}")
