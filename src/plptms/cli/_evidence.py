"""Evidence commands: effect sizes of the trials, pooling, forest and funnel plots."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..meta import MetaResult

evidence_app = typer.Typer(
    help="Effect sizes and meta-analysis of the trials.", no_args_is_help=True
)


def _fail(message: str, code: int = 2) -> typer.Exit:
    Console(stderr=True, soft_wrap=True).print(
        f"[bold red]Error:[/bold red] {escape(message)}", highlight=False
    )
    return typer.Exit(code)


_STUDIES = typer.Option(
    "--studies",
    help="User study outcome file (.yaml, .yml, .json; the format of the shipped "
    "plptms/meta/data/*.yaml) or a directory of them, added to the Table 2 "
    "studies after validation (one bad file refuses all). Repeatable.",
)


def _extra(studies: list[Path] | None) -> list[Path] | None:
    """User study paths for ``collect_effects(extra=...)``; None for none."""
    return list(studies) if studies else None


@evidence_app.command("effects")
def evidence_effects(
    measure: Annotated[
        str, typer.Option("--measure", help="smd, md, rom, ...")
    ] = "smd",
    studies: Annotated[list[Path] | None, _STUDIES] = None,
) -> None:
    """List each study's effect, or why it cannot be estimated."""
    from ..meta import collect_effects

    try:
        table = collect_effects(measure=measure, extra=_extra(studies))
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


#: Axis label and scale of each effect measure (treatment minus sham; lower pain is
#: better, so negative effects favour rTMS).
_AXES: dict[str, tuple[str, Literal["none", "exp"]]] = {
    "smd": ("Hedges' g, pain intensity", "none"),
    "md": ("Mean difference, pain intensity (scale points)", "none"),
    "rom": ("Ratio of means, pain intensity (log scale)", "exp"),
    "pct_change": ("Difference in % change of pain intensity (points)", "none"),
}
_FAVOURS = ("favours rTMS", "favours sham")
_TITLE = "rTMS for phantom limb pain vs sham, end of treatment"
_SOURCE_NOTE = "Data: Table 2 of the source review"


def _source_note(studies: list[Path] | None) -> str:
    return f"{_SOURCE_NOTE} and user study files" if studies else _SOURCE_NOTE


def _pooled(
    measure: str, method: str, test: str, studies: list[Path] | None = None
) -> tuple[MetaResult, int, int]:
    """Pool the estimable effects: (result, k estimable, n studies in all)."""
    from ..meta import ConvergenceError, collect_effects, meta_analysis
    from ..utils import check_option

    try:
        table = collect_effects(measure=measure, extra=_extra(studies))
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
    except (ValueError, ConvergenceError) as exc:
        raise _fail(str(exc)) from None
    return res, k, k + len(table.not_estimable)


def _single_study_note(c: Console, k: int, n_all: int) -> None:
    if k == 1:
        c.print(
            f"Only 1 of {n_all} studies has an estimable effect: nothing to pool; "
            "its effect is shown as is."
        )


@evidence_app.command("pool")
def evidence_pool(
    method: Annotated[str, typer.Option("--method", help="FE, DL, REML, PM.")] = "REML",
    test: Annotated[str, typer.Option("--test", help="z or knha.")] = "knha",
    measure: Annotated[str, typer.Option("--measure", help="Effect measure.")] = "smd",
    forest: Annotated[
        Path | None, typer.Option("--forest", help="Write a forest plot PNG.")
    ] = None,
    permutations: Annotated[
        int,
        typer.Option(
            "--permutations",
            min=0,
            help="Also run a permutation test (sign flips) with N permutations; "
            "exact when 2^k <= N. 0: none.",
        ),
    ] = 0,
    seed: Annotated[
        int | None,
        typer.Option("--seed", min=0, help="Seed of a random permutation test."),
    ] = None,
    studies: Annotated[list[Path] | None, _STUDIES] = None,
) -> None:
    """Pool the estimable effects (random effects by default, Hartung-Knapp)."""
    from ..meta import forest_plot, permutation_test

    res, k, n_all = _pooled(measure, method, test, studies)
    c = Console(width=150)
    _single_study_note(c, k, n_all)
    c.print(
        f"{res.method} ({res.test}), k = {res.k}: estimate {res.estimate:.3f} "
        f"[{res.ci_lower:.3f}, {res.ci_upper:.3f}], p = {res.pvalue:.3g}, "
        f"tau^2 = {res.tau2:.3g}"
    )
    if permutations:
        try:
            perm = permutation_test(res, n_perm=max(2, permutations), seed=seed)
        except ValueError as exc:
            raise _fail(str(exc)) from None
        how = (
            f"exact, all {perm.n_perm:,} sign flips"
            if perm.exact
            else f"{perm.n_perm:,} random sign flips, seed {perm.seed}; "
            f"Monte Carlo SE {perm.mc_se(perm.pvalue):.2g}"
        )
        c.print(f"Permutation test ({how}): p = {perm.pvalue:.4g}")
    c.print(
        f"{k} estimable of {n_all} studies; see `plptms evidence effects` for why "
        "the others cannot be pooled."
    )
    if forest is not None:
        fig = forest_plot(
            res,
            xlabel=f"{measure} (negative favours active)",
            title="rTMS for phantom limb pain vs sham",
            source_note=_source_note(studies),
        )
        fig.savefig(forest, dpi=120)
        c.print(f"Wrote {forest}")


_OUT = typer.Option("--out", help="PNG file to write.", dir_okay=False)
_MEASURE = typer.Option("--measure", help="smd, md, rom or pct_change.")
_METHOD = typer.Option("--method", help="tau^2 estimator: FE, DL, REML, PM.")
_TEST = typer.Option("--test", help="z or knha (Hartung-Knapp).")
_DPI = typer.Option("--dpi", min=50, max=1200, help="Resolution, dots per inch.")


def _save(fig: Figure, out: Path, dpi: int) -> None:
    try:
        fig.savefig(out, dpi=dpi)
    except (OSError, ValueError) as exc:
        raise _fail(f"Cannot write {out}: {exc}") from None


@evidence_app.command("forest")
def evidence_forest(
    out: Annotated[Path, _OUT],
    measure: Annotated[str, _MEASURE] = "smd",
    method: Annotated[str, _METHOD] = "REML",
    test: Annotated[str, _TEST] = "knha",
    dpi: Annotated[int, _DPI] = 200,
    studies: Annotated[list[Path] | None, _STUDIES] = None,
) -> None:
    """Draw a forest plot of the estimable effects and their pooled estimate."""
    from ..meta import forest_plot

    res, k, n_all = _pooled(measure, method, test, studies)
    label, transform = _AXES[measure]
    fig = forest_plot(
        res,
        xlabel=label,
        title=_TITLE,
        transform=transform,
        favours=_FAVOURS,
        source_note=_source_note(studies),
    )
    _save(fig, out, dpi)
    c = Console(width=150)
    _single_study_note(c, k, n_all)
    c.print(f"Wrote {out} ({k} of {n_all} studies).")


@evidence_app.command("funnel")
def evidence_funnel(
    out: Annotated[Path, _OUT],
    measure: Annotated[str, _MEASURE] = "smd",
    method: Annotated[str, _METHOD] = "REML",
    test: Annotated[str, _TEST] = "knha",
    trim_fill: Annotated[
        bool,
        typer.Option(
            "--trim-fill", help="Add the studies imputed by trim and fill (k >= 3)."
        ),
    ] = False,
    dpi: Annotated[int, _DPI] = 200,
    studies: Annotated[list[Path] | None, _STUDIES] = None,
) -> None:
    """Draw a funnel plot (effect against standard error) of the estimable effects."""
    from ..meta import EGGER_MIN_STUDIES, funnel_plot, trim_and_fill

    res, k, n_all = _pooled(measure, method, test, studies)
    tf = None
    if trim_fill:
        try:
            tf = trim_and_fill(res)
        except (ValueError, RuntimeError) as exc:
            raise _fail(str(exc)) from None
    label, _ = _AXES[measure]
    if measure == "rom":
        label = "Log ratio of means, pain intensity"
    fig = funnel_plot(
        res,
        trim_fill=tf,
        xlabel=label,
        title=_TITLE,
        source_note=_source_note(studies),
    )
    _save(fig, out, dpi)
    c = Console(width=150)
    _single_study_note(c, k, n_all)
    if k < EGGER_MIN_STUDIES:
        c.print(
            f"Note: {k} {'study' if k == 1 else 'studies'}; funnel-plot asymmetry "
            f"cannot be judged with fewer than {EGGER_MIN_STUDIES} (Sterne et al., "
            "2011)."
        )
    if tf is not None:
        c.print(
            f"Trim and fill ({tf.side} side): {tf.k0} studies imputed; adjusted "
            f"estimate {tf.adjusted.estimate:.3f} [{tf.adjusted.ci_lower:.3f}, "
            f"{tf.adjusted.ci_upper:.3f}] (a sensitivity analysis, not a correction)."
        )
    c.print(f"Wrote {out} ({k} of {n_all} studies).")
