"""The power curve of a virtual-trial study (over effects or sample sizes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..utils import check_type
from ._virtual_study import VirtualStudy

if TYPE_CHECKING:
    from pathlib import Path

    from matplotlib.figure import Figure

__all__ = ["power_curve_figure", "write_power_curve"]

#: Half-width of the error bars in Monte Carlo SEs (a normal 95 % interval).
MCSE_BAR_Z = 1.96


def power_curve_figure(study: VirtualStudy) -> Figure:
    """Draw the rejection rate, ± 1.96 MCSE, against the effect or the sample size.

    A study over several sample sizes (``study.sizes``) is drawn against the
    total sample size, one line per true effect (the line of effect 0 is the
    type I error); otherwise against the true effect. The study's ``alpha`` is
    drawn as a dashed line: the type I error a valid test keeps to.

    Parameters
    ----------
    study : VirtualStudy
        From :func:`~plptms.trial._virtual_study.run_virtual_trials`.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure (not attached to pyplot).

    Raises
    ------
    TypeError
        If ``study`` is not a :class:`VirtualStudy`.
    """
    check_type(study, VirtualStudy, "study")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 4.2))
    ax = fig.add_subplot()
    if study.sizes is not None and len(study.sizes) > 1:
        effects = sorted({s.true_effect for s in study.summaries})
        for k, effect in enumerate(effects):
            rows = sorted((s for s in study.summaries if s.true_effect == effect),
                          key=lambda s: s.n_patients)  # fmt: skip
            ax.errorbar(
                [s.n_patients for s in rows],
                [s.rejection_rate.value for s in rows],
                yerr=[MCSE_BAR_Z * s.rejection_rate.mcse for s in rows],
                marker="o", capsize=4, color=f"C{k}",
                label=f"true effect {effect:g} points",
            )  # fmt: skip
        ax.set_xlabel("total sample size (patients randomised)")
        title = f"{study.definition_id}: power by sample size"
    else:
        rows = sorted(study.summaries, key=lambda s: s.true_effect)
        ax.errorbar(
            [s.true_effect for s in rows],
            [s.rejection_rate.value for s in rows],
            yerr=[MCSE_BAR_Z * s.rejection_rate.mcse for s in rows],
            marker="o", capsize=4, color="C0",
            label=f"rejection rate ± {MCSE_BAR_Z:g} MCSE",
        )  # fmt: skip
        ax.set_xlabel("true effect, active minus sham (scale points)")
        n = study.summaries[0].n_patients if study.summaries else study.n_patients
        title = f"{study.definition_id}: {n} patients"
    ax.axhline(study.alpha, color="grey", linestyle="--", linewidth=1,
               label=f"alpha = {study.alpha:g}")  # fmt: skip
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("power (type I error at 0), ± 1.96 MCSE")
    ax.set_title(f"{title}, {study.n_trials:,} virtual trials per point",
                 fontsize=10)  # fmt: skip
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig


def write_power_curve(study: VirtualStudy, path: Path) -> Path:
    """Write the power curve (PNG, SVG or PDF by the suffix of ``path``).

    Parameters
    ----------
    study : VirtualStudy
        The study.
    path : Path
        The file; its folder is created.

    Returns
    -------
    path : Path
        The file written.
    """
    fig = power_curve_figure(study)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150)
    return path
