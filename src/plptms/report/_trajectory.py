"""Per-patient trajectory figure (matplotlib).

Visit kinds are compared by their values (``"baseline"``, ``"treatment"``,
``"post_treatment"``, ``"follow_up"``), so this core module needs no registry
type at run time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Sequence

    from matplotlib.figure import Figure

    from ..registry import AssessmentOut

__all__ = ["plot_trajectory"]

_DISCLAIMER = "plptms - research software, not a certified medical device."


def plot_trajectory(
    assessments: Sequence[AssessmentOut],
    *,
    scale_id: str,
    title: str,
    moderate_pct: float,
    substantial_pct: float,
    measure: str = "total",
) -> Figure:
    """Plot one score over time with the course, follow-ups and responder lines.

    Parameters
    ----------
    assessments : sequence of AssessmentOut
        The patient's assessments (other scales are ignored).
    scale_id : str
        Scale to plot.
    title : str
        Figure title (e.g. the pseudonymous code).
    moderate_pct, substantial_pct : float
        Responder thresholds in % reduction from baseline (IMMPACT, Dworkin 2008),
        drawn as lines at baseline x (1 - pct/100).
    measure : str
        ``"total"`` or a subscale name.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure (not saved, not shown).

    Raises
    ------
    ValueError
        If there is no computed score of ``scale_id`` to plot.
    """
    from matplotlib.figure import Figure

    rows = [a for a in assessments if a.scale_id == scale_id and not a.deleted]
    pts: list[tuple[dt.date, float, str]] = []
    for a in rows:
        value = a.total if measure == "total" else a.subscales.get(measure)
        if value is not None:
            pts.append((a.visit_date, float(value), str(a.visit_kind)))
    if not pts:
        raise ValueError(
            f"Invalid value for 'scale_id': got {scale_id!r}; no computed "
            f"{measure!r} score of that scale to plot."
        )
    from matplotlib.dates import date2num

    pts.sort(key=lambda p: p[0])
    fig = Figure(figsize=(9.0, 4.5), layout="constrained")
    ax = fig.add_subplot()
    dates = [float(date2num(p[0])) for p in pts]  # type: ignore[no-untyped-call]
    values = [p[1] for p in pts]
    ax.plot(dates, values, "-", color="0.35", lw=1.5, zorder=2)
    styles = {
        "baseline": ("s", "tab:blue", "baseline"),
        "treatment": ("o", "tab:orange", "treatment"),
        "post_treatment": ("D", "tab:red", "end of course"),
        "follow_up": ("^", "tab:green", "follow-up"),
    }
    seen: set[str] = set()
    for (_, v, kind), x in zip(pts, dates, strict=True):
        marker, colour, label = styles.get(kind, ("o", "0.5", kind))
        ax.plot(
            [x],
            [v],
            marker,
            color=colour,
            ms=8,
            zorder=3,
            label=None if label in seen else label,
        )
        seen.add(label)
    course = [
        x
        for (_, _, k), x in zip(pts, dates, strict=True)
        if k in ("treatment", "post_treatment")
    ]
    if course:
        ax.axvspan(
            min(course),
            max(course),
            color="tab:orange",
            alpha=0.12,
            label="treatment course",
            zorder=1,
        )
    for (_, _, kind), x in zip(pts, dates, strict=True):
        if kind == "follow_up":
            ax.axvline(x, color="tab:green", ls=":", lw=1, zorder=1)
    base = [v for _, v, k in pts if k == "baseline"]
    if base and base[0] > 0:
        b = base[0]
        for pct, ls in ((moderate_pct, "--"), (substantial_pct, "-.")):
            y = b * (1 - pct / 100.0)
            # labelled in the legend, outside the axes, so no data point hides it
            ax.axhline(
                y,
                color="tab:purple",
                ls=ls,
                lw=1,
                label=f"\u2265{pct:g} % reduction from baseline (IMMPACT)",
            )
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    ax.xaxis_date()
    # concise, unrotated date labels: nothing overlaps the axis label
    locator = AutoDateLocator(minticks=3, maxticks=8)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.set_xlabel("visit date")
    ax.set_ylabel(f"{scale_id} {measure}")
    ax.set_title(title)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    # bottom right, under the legend, clear of the axis label
    fig.text(0.995, 0.005, _DISCLAIMER, fontsize=7, color="0.4", ha="right")
    return fig
