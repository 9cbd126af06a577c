"""The cortical field map figure."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from plptms.efield import (
    Coil,
    SphereHead,
    get_stimulator,
    optimise_placement,
    plot_field_map,
)


def test_field_map_png(tmp_path: Path, fig8: Coil, head: SphereHead) -> None:
    pytest.importorskip("matplotlib")
    target = np.array([0.012, 0.018, 0.066])
    best = optimise_placement(fig8, target, n_positions=200, n_orientations=24)
    didt = get_stimulator("magstim_rapid/d70").didt_a_per_s(60.0)
    depth_mm = (head.scalp_radius_m - float(np.linalg.norm(target))) * 1e3
    fig = plot_field_map(
        fig8,
        best.pose,
        didt_a_per_s=didt,
        head=head,
        depth_mm=depth_mm,
        target_m=target,
    )
    out = Path(os.environ.get("PLPTMS_FIGURE_DIR", tmp_path)) / "efield_field_map.png"
    fig.savefig(out, dpi=100)
    assert out.stat().st_size > 10_000
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(lbl.startswith("target:") for lbl in labels)
    assert ax.get_xlabel().startswith("along coil x")
    assert fig.axes[1].get_ylabel() == "|E| (V/m)"


def test_field_map_validates(fig8: Coil, head: SphereHead) -> None:
    best = optimise_placement(fig8, [0, 0, 0.07], n_positions=5, n_orientations=4)
    with pytest.raises(ValueError, match="depth_mm"):
        plot_field_map(fig8, best.pose, didt_a_per_s=1e6, depth_mm=90.0)
    with pytest.raises(ValueError, match="n_grid"):
        plot_field_map(fig8, best.pose, didt_a_per_s=1e6, n_grid=5)
