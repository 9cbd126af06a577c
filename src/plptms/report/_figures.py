"""Figures of the reports as PNG bytes (matplotlib, loaded on first use)."""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ._data import ReportData

__all__ = ["data_uri", "forest_png", "trajectory_png"]

#: Resolution of the embedded figures, dots per inch (sharp in print at A4 width).
FIGURE_DPI = 200


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=FIGURE_DPI)
    return buf.getvalue()


def data_uri(png: bytes) -> str:
    """Return a PNG as a ``data:`` URI for HTML.

    Parameters
    ----------
    png : bytes
        PNG file content.

    Returns
    -------
    uri : str
        ``data:image/png;base64,...``.
    """
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def trajectory_png(data: ReportData) -> bytes | None:
    """Plot the latest pain scale over time.

    Parameters
    ----------
    data : ReportData
        The report data.

    Returns
    -------
    png : bytes | None
        The figure, or ``None`` when no pain score is recorded.
    """
    from ..scales import IMMPACT_MODERATE_PCT, IMMPACT_SUBSTANTIAL_PCT
    from ._trajectory import plot_trajectory

    pain = data.context.pain
    if pain is None:
        return None
    fig = plot_trajectory(
        data.assessments,
        scale_id=pain.scale_id,
        title=f"{data.context.patient_id}: {pain.scale_id}",
        moderate_pct=IMMPACT_MODERATE_PCT,
        substantial_pct=IMMPACT_SUBSTANTIAL_PCT,
    )
    fig.set_size_inches(8.0, 3.6)
    return _png(fig)


def forest_png(data: ReportData) -> bytes | None:
    """Draw the forest plot of the pooled evidence.

    Parameters
    ----------
    data : ReportData
        The report data.

    Returns
    -------
    png : bytes | None
        The figure, or ``None`` when no effect is estimable.
    """
    from ..meta import forest_plot

    if data.pooled is None:
        return None
    fig = forest_plot(
        data.pooled,
        xlabel="Hedges' g, pain at end of treatment (negative favours rTMS)",
        title="rTMS for phantom limb pain vs sham",
        favours=("favours rTMS", "favours sham"),
        source_note="Data: Table 2 of the source review",
    )
    return _png(fig)
