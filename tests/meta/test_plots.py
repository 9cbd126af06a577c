"""Forest and funnel plots render, and their text stays clear of the data area."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pytest

from plptms.meta import (
    collect_effects,
    forest_plot,
    funnel_plot,
    meta_analysis,
    trim_and_fill,
)

matplotlib.use("Agg")


def _texts_inside_and_clear(fig: Any) -> None:
    """Every text lies inside the figure, and none overlaps the plotting area."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    fig_box = fig.bbox
    ax = fig.axes[0]
    ax_box = ax.get_window_extent(renderer)
    texts = [
        t
        for t in fig.findobj(matplotlib.text.Text)
        if t.get_text().strip() and t.get_visible()
    ]
    boxes = [t.get_window_extent(renderer) for t in texts]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i], boxes[j]
            overlap = (min(a.x1, b.x1) - max(a.x0, b.x0) > 1) and (
                min(a.y1, b.y1) - max(a.y0, b.y0) > 1
            )
            assert not overlap, (texts[i].get_text(), texts[j].get_text())
    for text, box in zip(texts, boxes, strict=True):
        inside = (
            box.x0 >= fig_box.x0 - 1
            and box.x1 <= fig_box.x1 + 1
            and box.y0 >= fig_box.y0 - 1
            and box.y1 <= fig_box.y1 + 1
        )
        assert inside, f"text outside the figure: {text.get_text()!r}"
        if text.axes is None or text in ax.texts:
            inner = (
                box.x0 < ax_box.x1 - 1
                and box.x1 > ax_box.x0 + 1
                and box.y0 < ax_box.y1 - 1
                and box.y1 > ax_box.y0 + 1
            )
            assert not inner, f"text over the data area: {text.get_text()!r}"


def _bcg_labels(bcg_ref: dict[str, Any]) -> list[str]:
    d = bcg_ref["data"]
    return [f"{a} ({y})" for a, y in zip(d["author"], d["year"], strict=True)]


@pytest.mark.parametrize("method", ["REML", "FE"])
def test_forest_plot_bcg(
    method: str,
    tmp_path: Path,
    bcg: tuple[np.ndarray, np.ndarray],
    bcg_ref: dict[str, Any],
) -> None:
    res = meta_analysis(*bcg, method=method, labels=_bcg_labels(bcg_ref))  # type: ignore[arg-type]
    fig = forest_plot(
        res,
        xlabel="Risk ratio (log scale)",
        transform="exp",
        favours=("favours BCG", "favours control"),
        title="BCG vaccine and tuberculosis",
        source_note="dat.bcg (Colditz et al., 1994)",
    )
    _texts_inside_and_clear(fig)
    out = tmp_path / f"forest_{method}.png"
    fig.savefig(out)
    assert out.stat().st_size > 10_000
    texts = " ".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))
    assert "research software" in texts
    assert ("Prediction interval" in texts) == (method == "REML")


def test_forest_plot_table2(tmp_path: Path) -> None:
    table = collect_effects()
    res = meta_analysis(table.estimates, table.variances, labels=table.labels)
    fig = forest_plot(
        res,
        xlabel="Hedges' g (VAS, end of treatment)",
        favours=("favours rTMS", "favours sham"),
        title="rTMS versus sham for phantom limb pain",
        source_note="Table 2 of the source review; 7 of 8 studies not estimable",
    )
    _texts_inside_and_clear(fig)
    fig.savefig(tmp_path / "forest_table2.png")


def test_funnel_plot_with_trim_and_fill(
    tmp_path: Path, bcg: tuple[np.ndarray, np.ndarray]
) -> None:
    res = meta_analysis(*bcg, method="FE")
    tf = trim_and_fill(res)
    fig = funnel_plot(
        res,
        trim_fill=tf,
        xlabel="Log risk ratio",
        title="Funnel plot, dat.bcg",
        source_note="dat.bcg (Colditz et al., 1994)",
    )
    _texts_inside_and_clear(fig)
    out = tmp_path / "funnel.png"
    fig.savefig(out)
    assert out.stat().st_size > 10_000
    legend = fig.axes[0].get_legend()
    assert any("Imputed (4" in t.get_text() for t in legend.get_texts())


def test_plots_reject_bad_input(bcg: tuple[np.ndarray, np.ndarray]) -> None:
    res = meta_analysis(*bcg)
    with pytest.raises(TypeError, match="'result'"):
        forest_plot("x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'transform'"):
        forest_plot(res, transform="log")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'trim_fill'"):
        funnel_plot(res, trim_fill="x")  # type: ignore[arg-type]
