"""Forest and funnel plots (matplotlib, publication quality)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..utils import check_option, check_type
from ._bias import TrimFillResult
from ._fit import MetaResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["forest_plot", "funnel_plot"]

_SOURCE = "plptms.meta - research software, not a certified medical device."
_METHOD_NAMES = {
    "FE": "Fixed-effect model",
    "DL": "Random-effects model (DL)",
    "REML": "Random-effects model (REML)",
    "PM": "Random-effects model (PM)",
}
_FONT = 9.0
_LOG_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)
_SMALL = 7.5
# Smallest share of the effect axis on either side of the null (layout, not data).
_NULL_SIDE_SHARE = 0.25


def _fmt(x: float, width: int = 0) -> str:
    return f"{x:{width}.2f}" if abs(x) < 100 else f"{x:{width}.0f}"


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _source_line(result: MetaResult, note: str | None, width: int) -> str:
    import textwrap

    test = "Hartung-Knapp" if result.test == "knha" else "z"
    base = f"Source: {note}. " if note else ""
    text = f"{base}Pooled with {result.method} ({test} test); {_SOURCE}"
    return "\n".join(textwrap.wrap(text, width=width))


def _axis_range(xmin: float, xmax: float) -> tuple[float, float]:
    """Effect-axis limits (untransformed scale, null effect at 0).

    The data get a 6 % margin, the null is always shown, and each side of the null
    takes at least ``_NULL_SIDE_SHARE`` of the axis so that the "favours" labels
    under it fit.
    """
    pad = 0.06 * (xmax - xmin if xmax > xmin else 1.0)
    lo, hi = min(xmin - pad, -pad), max(xmax + pad, pad)
    share = _NULL_SIDE_SHARE
    if -lo < share * (hi - lo):
        lo = -share * hi / (1.0 - share)
    elif hi < share * (hi - lo):
        hi = -share * lo / (1.0 - share)
    return lo, hi


def forest_plot(
    result: MetaResult,
    *,
    xlabel: str = "Effect size",
    title: str | None = None,
    transform: Literal["none", "exp"] = "none",
    favours: tuple[str, str] | None = None,
    source_note: str | None = None,
) -> Figure:
    """Draw a forest plot of a meta-analysis.

    Parameters
    ----------
    result : MetaResult
        The fitted model.
    xlabel : str
        Label of the effect axis (with units).
    title : str | None
        Figure title.
    transform : {"none", "exp"}
        ``"exp"`` shows log-scale effects (log ratios) as ratios on a log axis.
    favours : tuple of (str, str) | None
        Labels under the axis for effects below and above the null value (e.g.
        ``("favours rTMS", "favours sham")``).
    source_note : str | None
        Where the data come from, printed in small type at the bottom.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure (not saved, not shown): one row per study with its weight,
        estimate and confidence interval, the pooled estimate as a diamond, the
        prediction interval (random effects) and the heterogeneity statistics.

    Raises
    ------
    TypeError
        If ``result`` is not a :class:`MetaResult`.
    ValueError
        If ``transform`` is unknown.
    """
    check_type(result, MetaResult, "result")
    check_option(transform, "transform", ("none", "exp"))
    from matplotlib.figure import Figure
    from matplotlib.transforms import blended_transform_factory

    tf = np.exp if transform == "exp" else (lambda a: np.asarray(a, dtype=float))
    y = np.array(result.effects)
    se = np.sqrt(np.array(result.variances))
    from scipy import stats  # type: ignore[import-untyped]

    z = float(stats.norm.isf((1 - result.level_pct / 100) / 2))
    lo, hi = y - z * se, y + z * se
    k = result.k
    has_pi = result.pi_lower is not None and result.pi_upper is not None
    n_rows = k + (3 if has_pi else 2)
    source = _source_line(result, source_note, 135)
    n_source = source.count("\n") + 1
    # Bottom margin (inches): axis, favours labels and x label, then one line of
    # heterogeneity statistics, then the source note.
    bottom_in = 0.52 + (0.2 if favours else 0.0) + 0.22 + 0.13 * n_source + 0.1
    top_in = 0.45 + (0.25 if title else 0.0)
    height = bottom_in + top_in + 0.27 * (n_rows + 1)
    fig = Figure(figsize=(8.6, height), dpi=150)
    ax: Axes = fig.add_axes(
        (0.40, bottom_in / height, 0.30, 1 - (bottom_in + top_in) / height)
    )
    rows = np.arange(k, 0, -1, dtype=float)
    y_pool = -0.6
    y_pi = -1.6
    w = np.array(result.weights_pct)
    sizes = 3.0 + 9.0 * np.sqrt(w / w.max())
    for r, e, a, b, s in zip(rows, y, lo, hi, sizes, strict=True):
        ax.plot(tf([a, b]), [r, r], color="0.15", lw=1.0, solid_capstyle="butt")
        ax.plot(
            tf([e]), [r], marker="s", ms=float(s), color="0.15", mec="0.15", ls="none"
        )
    est, cl, cu = result.estimate, result.ci_lower, result.ci_upper
    diamond_x = tf([cl, est, cu, est, cl])
    diamond_y = [y_pool, y_pool + 0.32, y_pool, y_pool - 0.32, y_pool]
    ax.fill(diamond_x, diamond_y, color="#1f4e79", ec="#1f4e79", lw=1.0)
    xs = [*lo, *hi, cl, cu]
    if has_pi:
        pl, pu = float(result.pi_lower), float(result.pi_upper)  # type: ignore[arg-type]
        ax.plot(tf([pl, pu]), [y_pi, y_pi], color="#1f4e79", lw=1.2)
        for xv in (pl, pu):
            ax.plot(tf([xv, xv]), [y_pi - 0.18, y_pi + 0.18], color="#1f4e79", lw=1.2)
        xs += [pl, pu]
    null = 1.0 if transform == "exp" else 0.0
    ax.axvline(null, color="0.35", lw=0.8, ls="-", zorder=0)
    ax.axvline(float(tf([est])[0]), color="#1f4e79", lw=0.7, ls=":", zorder=0)
    lo_u, hi_u = _axis_range(min(xs), max(xs))
    if transform == "exp":
        from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

        ax.set_xscale("log")
        left, right = math.exp(lo_u), math.exp(hi_u)
        ax.set_xlim(left, right)
        ticks = [t for t in _LOG_TICKS if left <= t <= right]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda t, _pos: f"{t:g}"))
    else:
        ax.set_xlim(lo_u, hi_u)
    ax.set_ylim((y_pi if has_pi else y_pool) - 0.8, k + 0.8)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="x", labelsize=_FONT)
    ax.set_xlabel(xlabel, fontsize=_FONT, labelpad=14 if favours else 4)
    # Text columns, placed in figure x and data y coordinates.
    tr = blended_transform_factory(fig.transFigure, ax.transData)
    head_y = k + 0.8
    level = f"{result.level_pct:g} % CI"
    for x, text, ha in (
        (0.03, "Study", "left"),
        (0.72, f"Estimate [{level}]", "left"),
        (0.97, "Weight", "right"),
    ):
        ax.text(
            x,
            head_y,
            text,
            transform=tr,
            ha=ha,
            va="bottom",
            fontsize=_FONT,
            fontweight="bold",
        )
    for r, lab, e, a, b, wt in zip(rows, result.labels, y, lo, hi, w, strict=True):
        ev, av, bv = (float(tf([q])[0]) for q in (e, a, b))
        ax.text(0.03, r, lab, transform=tr, ha="left", va="center", fontsize=_FONT)
        ax.text(
            0.72,
            r,
            f"{_fmt(ev, 5)} [{_fmt(av)}, {_fmt(bv)}]",
            transform=tr,
            ha="left",
            va="center",
            fontsize=_FONT,
            family="monospace",
        )
        ax.text(
            0.97,
            r,
            f"{wt:.1f} %",
            transform=tr,
            ha="right",
            va="center",
            fontsize=_FONT,
        )
    ev, av, bv = (float(tf([q])[0]) for q in (est, cl, cu))
    ax.text(
        0.03,
        y_pool,
        _METHOD_NAMES[result.method] if k > 1 else "Single study (no pooling)",
        transform=tr,
        ha="left",
        va="center",
        fontsize=_FONT,
        fontweight="bold",
    )
    ax.text(
        0.72,
        y_pool,
        f"{_fmt(ev, 5)} [{_fmt(av)}, {_fmt(bv)}]",
        transform=tr,
        ha="left",
        va="center",
        fontsize=_FONT,
        family="monospace",
        fontweight="bold",
    )
    ax.text(
        0.97,
        y_pool,
        "100 %",
        transform=tr,
        ha="right",
        va="center",
        fontsize=_FONT,
        fontweight="bold",
    )
    if has_pi:
        pv = [float(tf([q])[0]) for q in (pl, pu)]
        ax.text(
            0.03,
            y_pi,
            "Prediction interval",
            transform=tr,
            ha="left",
            va="center",
            fontsize=_FONT,
            style="italic",
        )
        ax.text(
            0.72,
            y_pi,
            f"     [{_fmt(pv[0])}, {_fmt(pv[1])}]",
            transform=tr,
            ha="left",
            va="center",
            fontsize=_FONT,
            family="monospace",
        )
    het = (
        f"Heterogeneity: Q = {result.q:.2f} (df = {result.q_df}), "
        f"{_p_text(result.q_pvalue)}; I\u00b2 = {result.i2_pct:.1f} %; "
        f"\u03c4\u00b2 = {result.tau2:.3f}."
        if k > 1
        else "Heterogeneity: not estimable from one study."
    )
    het += (
        f"   Overall: {'t' if result.test == 'knha' else 'z'} = "
        f"{result.statistic:.2f}, {_p_text(result.pvalue)}"
    )
    y_source = 0.08
    y_het = y_source + 0.13 * n_source + 0.08
    fig.text(0.03, y_het / height, het, ha="left", va="bottom", fontsize=_SMALL)
    fig.text(
        0.03,
        y_source / height,
        source,
        ha="left",
        va="bottom",
        fontsize=_SMALL - 0.5,
        color="0.35",
    )
    if favours is not None:
        ax.annotate(
            f"\u2190 {favours[0]}",
            xy=(null, 0),
            xycoords=("data", "axes fraction"),
            xytext=(-4, -16),
            textcoords="offset points",
            ha="right",
            va="top",
            fontsize=_SMALL,
            color="0.25",
        )
        ax.annotate(
            f"{favours[1]} \u2192",
            xy=(null, 0),
            xycoords=("data", "axes fraction"),
            xytext=(4, -16),
            textcoords="offset points",
            ha="left",
            va="top",
            fontsize=_SMALL,
            color="0.25",
        )
    if title:
        fig.suptitle(
            title,
            x=0.03,
            y=1 - 0.12 / height,
            ha="left",
            va="top",
            fontsize=_FONT + 2,
            fontweight="bold",
        )
    return fig


def funnel_plot(
    result: MetaResult,
    *,
    trim_fill: TrimFillResult | None = None,
    xlabel: str = "Effect size",
    title: str | None = None,
    source_note: str | None = None,
) -> Figure:
    """Draw a funnel plot (effect against standard error).

    Parameters
    ----------
    result : MetaResult
        The fitted model.
    trim_fill : TrimFillResult | None
        If given, the imputed studies are drawn as open circles and the adjusted
        estimate as a dashed line.
    xlabel : str
        Label of the effect axis (with units).
    title : str | None
        Figure title.
    source_note : str | None
        Where the data come from, printed in small type at the bottom.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure (not saved, not shown), with the pseudo confidence region
        ``estimate +/- z * SE`` at the model's level.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    """
    check_type(result, MetaResult, "result")
    if trim_fill is not None:
        check_type(trim_fill, TrimFillResult, "trim_fill")
    from matplotlib.figure import Figure
    from scipy import stats

    y = np.array(result.effects)
    se = np.sqrt(np.array(result.variances))
    fill_y = np.array(trim_fill.filled_effects) if trim_fill else np.empty(0)
    fill_se = (
        np.sqrt(np.array(trim_fill.filled_variances)) if trim_fill else np.empty(0)
    )
    z = float(stats.norm.isf((1 - result.level_pct / 100) / 2))
    se_max = float(max(se.max(), fill_se.max() if fill_se.size else 0.0)) * 1.08
    fig = Figure(figsize=(8.0, 5.0), dpi=150)
    ax: Axes = fig.add_axes((0.10, 0.17, 0.60, 0.70 if title else 0.76))
    mu = result.estimate
    ax.fill(
        [mu - z * se_max, mu, mu + z * se_max],
        [se_max, 0.0, se_max],
        color="0.93",
        ec="0.6",
        lw=0.8,
        ls="--",
        zorder=0,
        label=f"Pseudo {result.level_pct:g} % CI",
    )
    ax.axvline(
        mu,
        color="#1f4e79",
        lw=1.0,
        zorder=1,
        label=f"Pooled estimate ({result.method})",
    )
    ax.plot(y, se, "o", ms=6, color="0.1", mec="0.1", zorder=3, label="Studies")
    if trim_fill is not None and trim_fill.k0 > 0:
        ax.plot(
            fill_y,
            fill_se,
            "o",
            ms=6,
            mfc="white",
            mec="0.1",
            zorder=3,
            label=f"Imputed ({trim_fill.k0}, trim and fill)",
        )
        ax.axvline(
            trim_fill.adjusted.estimate,
            color="#b03a2e",
            lw=1.0,
            ls="--",
            zorder=1,
            label="Adjusted estimate",
        )
    ax.set_ylim(se_max, 0.0)
    xs = [*y, *fill_y, mu - z * se_max, mu + z * se_max]
    span = max(xs) - min(xs)
    ax.set_xlim(min(xs) - 0.05 * span, max(xs) + 0.05 * span)
    ax.set_xlabel(xlabel, fontsize=_FONT)
    ax.set_ylabel("Standard error", fontsize=_FONT)
    ax.tick_params(labelsize=_FONT)
    for side in ("right", "top"):
        ax.spines[side].set_visible(False)
    ax.legend(
        fontsize=_SMALL,
        frameon=False,
        loc="upper left",
        bbox_to_anchor=(1.03, 1.0),
        borderaxespad=0.0,
    )
    if title:
        fig.suptitle(
            title,
            x=0.03,
            y=0.97,
            ha="left",
            va="top",
            fontsize=_FONT + 2,
            fontweight="bold",
        )
    fig.text(
        0.03,
        0.02,
        _source_line(result, source_note, 145),
        ha="left",
        va="bottom",
        fontsize=_SMALL - 0.5,
        color="0.35",
    )
    return fig
