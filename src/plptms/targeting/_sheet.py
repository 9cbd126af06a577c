"""A printable targeting sheet for the TMS technician (matplotlib)."""

from __future__ import annotations

import math
import textwrap
from typing import TYPE_CHECKING, Any

from ..protocol import TargetSite
from ..utils import check_type
from ._model import DEFAULT_MONTAGE, fit_head
from ._plan import TargetPlan
from ._positions import scalp_positions
from ._rules import FIVE_CM_RULE_KNOWN_ERROR

if TYPE_CHECKING:
    from collections.abc import Sequence

    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ._head import HeadMeasurements
    from ._positions import ScalpPosition

__all__ = ["plot_targeting_sheet"]

_DISCLAIMER = "plptms - research software, not a certified medical device."
_A4_IN = (8.27, 11.69)
_CHART_TOP = 0.935
_CHART_BOTTOM = 0.515  # default; raised when the table and notes need room
_CHART_BOTTOM_MAX = 0.60
_FOOTER_TOP = 0.04
_LINESPACING = 1.35
_GRID_1020 = (
    "Fp1", "Fpz", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz", "C4", "T8",
    "P7", "P3", "Pz", "P4", "P8", "O1", "Oz", "O2",
)  # fmt: skip
_RING_1020 = frozenset(
    {"Fp1", "Fpz", "Fp2", "F7", "F8", "T7", "T8", "P7", "P8", "O1", "Oz", "O2"}
)
_COLOURS = {
    TargetSite.M1_HAND: "#c0392b",
    TargetSite.M1_LEG: "#c0392b",
    TargetSite.S1: "#1e8449",
    TargetSite.SMC: "#7d3c98",
    TargetSite.DLPFC: "#1f5fa8",
}
_MARKERS = {
    TargetSite.M1_HAND: ("*", 16),
    TargetSite.M1_LEG: ("*", 16),
    TargetSite.S1: ("D", 9),
    TargetSite.SMC: ("s", 10),
    TargetSite.DLPFC: ("p", 13),
}
_SHORT = {
    TargetSite.M1_HAND: "M1 hand",
    TargetSite.M1_LEG: "M1 leg",
    TargetSite.S1: "S1",
    TargetSite.SMC: "SMC",
    TargetSite.DLPFC: "DLPFC",
}


def _chart_xy(
    position: ScalpPosition, head: HeadMeasurements
) -> tuple[float, float] | None:
    """Flat chart about Cz (cm): distance from Cz to scale, direction by the mark."""
    r = position.from_vertex_cm
    if r is None:
        return None
    if r < 1e-6:
        return (0.0, 0.0)
    if position.side == "midline":
        front = (
            position.from_nasion_cm is None
            or position.from_nasion_cm < head.nasion_inion_cm / 2
        )
        return (0.0, r if front else -r)
    ring = position.ring_from_fpz_cm
    if ring is None:
        return None
    phi = 2 * math.pi * ring / head.circumference_cm
    sign = -1.0 if position.side == "left" else 1.0
    return (sign * r * math.sin(phi), r * math.cos(phi))


def _cm(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _draw_head(ax: Axes, head: HeadMeasurements, montage: str) -> None:
    import numpy as np

    model = fit_head(head, montage)
    half = model.circumference_mm / 2
    xs, ys = [], []
    for side in ("left", "right"):
        arcs = (
            np.linspace(0.0, half, 121)
            if side == "left"
            else np.linspace(half, 0.0, 121)
        )
        for arc in arcs:
            r, _ = model.polar(model.ring_point(float(arc), side))
            phi = 2 * math.pi * arc / model.circumference_mm
            sign = -1.0 if side == "left" else 1.0
            xs.append(sign * r / 10 * math.sin(phi))
            ys.append(r / 10 * math.cos(phi))
    ax.plot(xs, ys, color="0.2", lw=1.6, zorder=1)
    front = max(ys)
    # nose (nasion at half of NI from Cz) and ears (tragi at half of TT)
    nasion = head.nasion_inion_cm / 2
    ax.plot([-1.3, 0.0, 1.3], [front - 0.1, nasion, front - 0.1], color="0.2", lw=1.6)
    tragus = head.tragus_tragus_cm / 2
    ring_lat = max(abs(x) for x in xs)
    from matplotlib.patches import Ellipse

    for sign, label in ((-1, "L"), (1, "R")):
        ax.add_patch(
            Ellipse(
                (sign * (ring_lat + 0.9), 0.0),
                1.8,
                3.8,
                fill=False,
                color="0.2",
                lw=1.4,
            )
        )
        ax.text(
            sign * (ring_lat + 2.8),
            0.0,
            label,
            ha="center",
            va="center",
            fontsize=12,
            fontweight="bold",
        )
    ax.text(0.0, nasion + 0.5, "nasion", ha="center", va="bottom", fontsize=7)
    ax.text(0.0, -(head.nasion_inion_cm / 2) + 0.2, "inion", ha="center", fontsize=7)
    # 5 cm scale bar
    y0 = -(head.nasion_inion_cm / 2) + 0.5
    x0 = -tragus - 0.5
    ax.plot([x0, x0 + 5.0], [y0, y0], color="k", lw=2)
    ax.text(x0 + 2.5, y0 + 0.45, "5 cm from Cz (to scale)", ha="center", fontsize=7)


def _rows(plans: list[TargetPlan]) -> list[list[str]]:
    rows: list[list[str]] = []
    for plan in plans:
        for site in plan.sites:
            pos, mni = site.position, site.mni
            rows.append(
                [
                    f"{_SHORT[plan.target]} {site.hemisphere.value}",
                    pos.name,
                    _cm(pos.ring_from_fpz_cm),
                    _cm(pos.from_vertex_cm),
                    _cm(pos.from_nasion_cm),
                    _cm(pos.lateral_cm),
                    "-"
                    if mni is None
                    else f"{mni.x_mm:g}, {mni.y_mm:g}, {mni.z_mm:g}"
                    + ("" if mni.verified else " *"),
                ]
            )
            if site.five_cm_rule is not None:
                rp = site.five_cm_rule.position
                rows.append(
                    [
                        f"5 cm rule {site.hemisphere.value}",
                        "not advised (see notes)",
                        _cm(rp.ring_from_fpz_cm),
                        _cm(rp.from_vertex_cm),
                        _cm(rp.from_nasion_cm),
                        _cm(rp.lateral_cm),
                        "-",
                    ]
                )
    return rows


def _notes(plans: list[TargetPlan], montage: str) -> list[str]:
    notes = [
        "Measure NI (nasion to inion over the vertex), TT (left to right tragus over "
        "the vertex) and the circumference through Fpz, T7, Oz and T8. Cz (vertex) "
        "is the middle of both NI and TT; Fpz is 10 % of NI above the nasion.",
        "Polar: mark the circumference at 'Circ. mark from Fpz' towards the target's "
        "ear, then measure 'From Cz to mark' from Cz towards that mark. Sagittal: "
        "measure 'From nasion' along the midline, then 'Then towards tragus' on the "
        "line joining both tragi. Both give the same site.",
        plans[0].reasons[0],
    ]
    has_rule = False
    for plan in plans:
        notes.append(f"{_SHORT[plan.target]}: " + " ".join(plan.reasons[1:]))
        for site in plan.sites:
            has_rule = has_rule or site.five_cm_rule is not None
            notes.extend(n for n in site.notes if n != FIVE_CM_RULE_KNOWN_ERROR)
    if has_rule:
        notes.append(FIVE_CM_RULE_KNOWN_ERROR)
    notes.append(
        "* MNI coordinate not yet verified in its source. Right-hemisphere "
        "coordinates mirror published left ones; Talairach ones (Mayka et al., "
        "2006) are converted to MNI with the inverse Lancaster et al. (2007) "
        "transform. Template montage: "
        f"{fit_head(plans[0].head, montage).template.montage} (MNE-Python)."
    )
    out: list[str] = []
    for n in notes:
        if n and n not in out:
            out.append(n)
    return out


def _draw_chart(ax: Axes, plans: list[TargetPlan], montage: str) -> None:
    head = plans[0].head
    _draw_head(ax, head, montage)
    grid = scalp_positions(head, montage=montage, names=_GRID_1020)
    for name, pos in grid.items():
        xy = _chart_xy(pos, head)
        if xy is None:
            continue
        ax.plot(*xy, "o", ms=4, color="0.6", zorder=2)
        # labels of circumference points go inwards, away from the outline
        on_ring = name in _RING_1020
        norm = math.hypot(*xy) or 1.0
        offset = (-11 * xy[0] / norm, -11 * xy[1] / norm) if on_ring else (0, -10)
        ax.annotate(
            name,
            xy,
            xytext=offset,
            textcoords="offset points",
            ha="center",
            va="center" if on_ring else "baseline",
            fontsize=6.5,
            color="0.45",
        )
    legend: dict[str, Any] = {}
    for plan in plans:
        marker, size = _MARKERS[plan.target]
        for site in plan.sites:
            xy = _chart_xy(site.position, head)
            if xy is not None:
                (handle,) = ax.plot(
                    *xy,
                    linestyle="none",
                    marker=marker,
                    ms=size,
                    color=_COLOURS[plan.target],
                    markeredgecolor="k",
                    zorder=4,
                )
                legend.setdefault(_SHORT[plan.target], handle)
            rule = site.five_cm_rule
            rxy = None if rule is None else _chart_xy(rule.position, head)
            if rxy is not None:
                (handle,) = ax.plot(
                    *rxy, linestyle="none", marker="x", ms=8, mew=2, color="0.35"
                )
                legend.setdefault("5 cm rule (not advised)", handle)
    (grid_handle,) = ax.plot([], [], "o", ms=4, color="0.6")
    legend["10-20 position (template)"] = grid_handle
    ax.legend(list(legend.values()), list(legend), loc="upper left", fontsize=8)


def plot_targeting_sheet(
    plans: TargetPlan | Sequence[TargetPlan],
    *,
    patient_code: str,
    montage: str = DEFAULT_MONTAGE,
) -> Figure:
    """Draw a one-page targeting sheet: head chart, tape distances and notes.

    The chart is a top view (nose up, left ear on the left) centred on the vertex:
    the distance of each point from Cz is its tape distance from Cz, its direction
    follows the circumference mark. Grey dots are the 10-20 positions of the
    fitted template; coloured markers are the planned sites; crosses the 5 cm rule
    for comparison. The table lists both tape systems, cm, and the literature MNI
    coordinate; the notes explain the measurements and the reasoning.

    Parameters
    ----------
    plans : TargetPlan | sequence of TargetPlan
        Plans from :func:`plan_targets`, all for the same head measurements.
    patient_code : str
        Pseudonymous code printed on the sheet (no names).
    montage : str
        Template montage for the 10-20 grid and the head outline.

    Returns
    -------
    fig : matplotlib.figure.Figure
        An A4 portrait figure (not saved, not shown).

    Raises
    ------
    TypeError
        If ``plans`` are not :class:`TargetPlan` or ``patient_code`` is not text.
    ValueError
        If no plan is given or the plans use different head measurements.
    """
    from matplotlib.figure import Figure
    from matplotlib.transforms import Bbox

    plan_list = [plans] if isinstance(plans, TargetPlan) else list(plans)
    if not plan_list:
        raise ValueError("Invalid value for 'plans': got none; allowed: 1 or more.")
    for p in plan_list:
        check_type(p, TargetPlan, "plans")
    head = plan_list[0].head
    if any(p.head != head for p in plan_list):
        raise ValueError(
            "Invalid value for 'plans': got plans for different head measurements; "
            "allowed: plans for one head."
        )
    check_type(patient_code, str, "patient_code")

    rows = _rows(plan_list)
    notes = _notes(plan_list, montage)
    # layout (figure fractions): title, chart, table, notes, footer
    table_h = 0.024 * (len(rows) + 1.6)
    fontsize = 7.2
    chart_bottom = _CHART_BOTTOM
    for fontsize in (7.2, 6.8, 6.4, 6.0):
        wrap = int(128 * 7.2 / fontsize)
        lines = sum(len(textwrap.wrap(n, wrap - 2)) for n in notes)
        notes_h = lines * fontsize * _LINESPACING / 72 / _A4_IN[1]
        needed = _FOOTER_TOP + notes_h + 0.02 + table_h + 0.035
        chart_bottom = max(_CHART_BOTTOM, needed)
        if chart_bottom <= _CHART_BOTTOM_MAX:
            break
    chart_bottom = min(chart_bottom, _CHART_BOTTOM_MAX)
    chart_rect = (0.04, chart_bottom, 0.92, _CHART_TOP - chart_bottom)

    fig = Figure(figsize=_A4_IN)
    fig.text(
        0.5,
        0.972,
        f"TMS targeting sheet - patient {patient_code}",
        ha="center",
        va="center",
        fontsize=15,
        fontweight="bold",
    )
    fig.text(
        0.5,
        0.951,
        f"Nasion-inion {head.nasion_inion_cm:.1f} cm   |   tragus-tragus "
        f"{head.tragus_tragus_cm:.1f} cm   |   circumference "
        f"{head.circumference_cm:.1f} cm",
        ha="center",
        va="center",
        fontsize=10,
    )

    ax = fig.add_axes(chart_rect)
    _draw_chart(ax, plan_list, montage)
    # equal scale; the x range fills the box so the legend sits beside the head
    lim_y = head.nasion_inion_cm / 2 + 1.2
    box_w, box_h = chart_rect[2] * _A4_IN[0], chart_rect[3] * _A4_IN[1]
    lim_x = max(lim_y * box_w / box_h, head.tragus_tragus_cm / 2 + 2.5)
    ax.set_xlim(-lim_x, lim_x)
    ax.set_ylim(-lim_y, lim_y)
    ax.set_aspect("equal")
    ax.axis("off")

    top = chart_bottom - 0.03
    tax = fig.add_axes((0.05, top - table_h, 0.9, table_h))
    tax.axis("off")
    header = [
        "Target",
        "Site",
        "Circ. mark\nfrom Fpz",
        "From Cz\nto mark",
        "From nasion\n(midline)",
        "Then towards\ntragus",
        "MNI x, y, z\n(mm)",
    ]
    table = tax.table(
        cellText=rows,
        colLabels=header,
        cellLoc="center",
        colWidths=[0.15, 0.23, 0.11, 0.1, 0.12, 0.12, 0.17],
        bbox=Bbox.from_bounds(0.0, 0.0, 1.0, 1.0),
    )
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    for (r, _c), cell in table.get_celld().items():
        if r == 0:
            cell.set_text_props(fontweight="bold")
            cell.set_facecolor("#eeeeee")
            cell.set_height(cell.get_height() * 1.6)
    fig.text(0.05, top + 0.006, "Tape distances (cm)", fontsize=10, va="bottom")

    wrap = int(128 * 7.2 / fontsize)
    text = "\n".join(
        textwrap.fill(n, wrap, initial_indent="- ", subsequent_indent="  ")
        for n in notes
    )
    fig.text(
        0.05,
        top - table_h - 0.02,
        text,
        va="top",
        ha="left",
        fontsize=fontsize,
        linespacing=_LINESPACING,
    )
    fig.text(0.5, 0.018, _DISCLAIMER, ha="center", fontsize=8.5, style="italic")
    return fig
