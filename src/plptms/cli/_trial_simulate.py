"""``plptms trial simulate``: virtual trials of a design, on any batch back-end."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ._registry import _console, _fail
from ._trial import trial_app

if TYPE_CHECKING:
    from ..trial import MonteCarloEstimate

_PLOT_SUFFIXES = (".png", ".svg", ".pdf")


def _parse_effects(value: str | None) -> list[float] | None:
    if value is None:
        return None
    out: list[float] = []
    for part in value.split(","):
        try:
            out.append(float(part))
        except ValueError:
            raise typer.BadParameter(
                f"got {value!r}; allowed: numbers separated by commas, e.g. "
                "-2,-1.5,-1,0 (points).",
                param_hint="'--effects'",
            ) from None
    return out


def _parse_sizes(value: str | None) -> list[int] | None:
    if value is None:
        return None
    try:
        return [int(part) for part in value.split(",")]
    except ValueError:
        raise typer.BadParameter(
            f"got {value!r}; allowed: whole numbers of patients separated by commas, "
            "e.g. 40,80,120.",
            param_hint="'--sizes'",
        ) from None


def _check_backend(value: str) -> str:
    from ..batch import BACKENDS

    if value in BACKENDS or (value.startswith(("tcp://", "tls://")) and len(value) > 6):
        return value
    raise typer.BadParameter(
        f"got {value!r}; allowed: {', '.join(BACKENDS)}, or a Dask scheduler "
        "address tcp://host:port."
    )


def _check_plot(value: Path | None) -> Path | None:
    if value is not None and value.suffix.lower() not in _PLOT_SUFFIXES:
        raise typer.BadParameter(
            f"got {str(value)!r}; allowed suffixes are {', '.join(_PLOT_SUFFIXES)}."
        )
    return value


def _mc(est: MonteCarloEstimate, fmt: str = ".3f") -> str:
    return f"{est.value:{fmt}} ± {est.mcse:{fmt}}"


@trial_app.command("simulate")
def simulate_cmd(
    design: Annotated[
        Path, typer.Argument(help="A virtual-trial design (YAML or JSON).")
    ],
    n_trials: Annotated[
        int, typer.Option("--n-trials", min=2, help="Virtual trials per effect.")
    ],
    seed: Annotated[
        int | None,
        typer.Option("--seed", min=0, help="Seed (default: fresh, and printed)."),
    ] = None,
    backend: Annotated[
        str,
        typer.Option(
            "--backend",
            callback=_check_backend,
            help="auto, serial, processes, dask, or a scheduler tcp://host:port.",
        ),
    ] = "auto",
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, help="Worker processes (default: CPUs)."),
    ] = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option("--checkpoint", help="Folder for per-batch checkpoints."),
    ] = None,
    effects: Annotated[
        str | None,
        typer.Option(
            "--effects",
            help="True effects for a power curve, e.g. -2,-1.5,-1,0 (points); "
            "default: the design's.",
        ),
    ] = None,
    sizes: Annotated[
        str | None,
        typer.Option(
            "--sizes",
            help="Total sample sizes for a power curve over N, e.g. 40,80,120; "
            "default: the design's n_patients.",
        ),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            callback=_check_plot,
            help="Write the power curve (.png/.svg/.pdf): over N with --sizes, "
            "else over the effects.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Simulate whole trials of a design and report their performance.

    Each virtual trial runs through the trial engine's own randomisation and
    primary analysis (MMRM), and, if the definition has interim looks, its
    group-sequential interim analyses. Reports power (type I error at effect 0),
    bias, coverage and arm imbalance, and with looks the probability of stopping
    at each look, the expected sample size and the power with the looks, each
    with its Monte Carlo SE. The same seed gives
    the same results on every back-end. Exit 0 done, 2 bad input.
    """
    import numpy as np

    from ..protocol import ProtocolFileError
    from ..trial import (
        TrialDefinitionError,
        read_virtual_design,
        run_virtual_trials,
    )

    effect_list = _parse_effects(effects)
    size_list = _parse_sizes(sizes)
    try:
        vdesign = read_virtual_design(design)
    except (ProtocolFileError, TrialDefinitionError, OSError) as exc:
        raise _fail(str(exc)) from None
    if seed is None:
        seed = int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]
    t0 = time.perf_counter()
    try:
        study = run_virtual_trials(
            vdesign,
            n_trials,
            seed=seed,
            backend=backend,
            checkpoint=checkpoint,
            progress=not as_json,
            effects=effect_list,
            n_workers=workers,
            sizes=size_list,
        )
    except ValueError as exc:
        raise _fail(str(exc)) from None
    wall_s = time.perf_counter() - t0
    if plot is not None:
        from ..trial import write_power_curve

        write_power_curve(study, plot)
    if as_json:
        typer.echo(json.dumps(study.model_dump(mode="json"), indent=2))
        return
    _render(study, wall_s, plot)


def _render(study: object, wall_s: float, plot: Path | None) -> None:
    from ..trial import VirtualStudy

    assert isinstance(study, VirtualStudy)
    con = _console()
    con.print(
        f"[bold]{escape(study.definition_id)}[/bold]: {study.n_patients} patients, "
        f"{study.n_trials:,} virtual trials per effect, seed {study.seed}, "
        f"alpha {study.alpha:g} ({study.sided}-sided); {wall_s:.1f} s."
    )
    perf = Table(title="Primary analysis at the end, without looks "
                 "(estimate ± Monte Carlo SE)")  # fmt: skip
    for col in ("patients", "true effect", "measure", "rejection rate", "bias",
                "empirical SE", "model SE", "coverage", "estimable"):  # fmt: skip
        perf.add_column(col, justify="right")
    bal = Table(title="Randomisation balance and dropout (mean ± Monte Carlo SE)")
    for col in ("patients", "true effect", "imbalance overall", "within site",
                "within stratum", "within factor level",
                "dropout share"):  # fmt: skip
        bal.add_column(col, justify="right")
    for s in study.summaries:
        perf.add_row(
            str(s.n_patients),
            f"{s.true_effect:g}",
            "type I error" if s.measure == "type_i_error" else s.measure,
            _mc(s.rejection_rate),
            _mc(s.bias),
            _mc(s.empirical_se),
            _mc(s.model_se),
            _mc(s.coverage),
            f"{s.n_estimable}/{s.n_trials}",
        )
        bal.add_row(
            str(s.n_patients),
            f"{s.true_effect:g}",
            _mc(s.imbalance_overall, ".2f"),
            _mc(s.imbalance_site, ".2f"),
            _mc(s.imbalance_stratum, ".2f"),
            _mc(s.imbalance_level, ".2f"),
            _mc(s.dropout_share),
        )
    con.print(perf)
    _render_looks(study)
    con.print(bal)
    con.print(
        "[dim]Imbalance: range over arms of the arm counts divided by their ratio "
        "weights (the largest within one site, stratum or factor level).[/dim]"
    )
    if plot is not None:
        con.print(f"Written {escape(str(plot))}.")


def _render_looks(study: object) -> None:
    from ..trial import VirtualStudy

    assert isinstance(study, VirtualStudy)
    rows = [s for s in study.summaries if s.sequential is not None]
    if not rows:
        return
    seq0 = rows[0].sequential
    assert seq0 is not None
    fractions = ", ".join(f"{t:g}" for t in seq0.planned_fractions)
    table = Table(
        title=f"With interim looks at {fractions} ({seq0.spending}; "
        "estimate ± Monte Carlo SE)"
    )
    cols = ["patients", "true effect"]
    cols += [f"stop at look {lk.look}" for lk in seq0.looks]
    cols += ["reach final", "rejection with looks", "without looks", "difference",
             "expected N"]  # fmt: skip
    for col in cols:
        table.add_column(col, justify="right")
    for s in rows:
        seq = s.sequential
        assert seq is not None
        table.add_row(
            str(s.n_patients),
            f"{s.true_effect:g}",
            *(_mc(lk.stop) for lk in seq.looks),
            _mc(seq.reach_final),
            _mc(seq.rejection_rate),
            _mc(seq.rejection_rate_no_looks),
            _mc(seq.rejection_difference),
            _mc(seq.expected_n_randomised, ".1f"),
        )
    _console().print(table)
