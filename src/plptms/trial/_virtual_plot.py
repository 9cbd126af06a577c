"""The power curve of a virtual-trial study, with Monte Carlo error bars."""

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
    """Draw the rejection rate against the true effect, ± 1.96 MCSE.

    The study's ``alpha`` is drawn as a dashed line: the type I error a valid
    test keeps to at effect 0.

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

    rows = sorted(study.summaries, key=lambda s: s.true_effect)
    x = [s.true_effect for s in rows]
    y = [s.rejection_rate.value for s in rows]
    err = [MCSE_BAR_Z * s.rejection_rate.mcse for s in rows]
    fig = Figure(figsize=(6.0, 4.2))
    ax = fig.add_subplot()
    ax.errorbar(x, y, yerr=err, marker="o", capsize=4, color="C0",
                label=f"rejection rate ± {MCSE_BAR_Z:g} MCSE")  # fmt: skip
    ax.axhline(study.alpha, color="grey", linestyle="--", linewidth=1,
               label=f"alpha = {study.alpha:g}")  # fmt: skip
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("true effect, active minus sham (scale points)")
    ax.set_ylabel("power (type I error at 0)")
    ax.set_title(
        f"{study.definition_id}: {study.n_patients} patients, "
        f"{study.n_trials:,} virtual trials per effect",
        fontsize=10,
    )
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
