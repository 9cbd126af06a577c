"""Trajectory figure."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from plptms.registry import AssessmentOut
from plptms.report import plot_trajectory

D0 = dt.date(2026, 1, 5)
PTS = [
    (0, "baseline", 8.0),
    (3, "treatment", 7.0),
    (10, "post_treatment", 3.0),
    (40, "follow_up", 5.0),
]


def _rows(scale: str = "nrs_phantom_average") -> list[AssessmentOut]:
    return [
        AssessmentOut(
            id=i,
            visit_id=i,
            visit_date=D0 + dt.timedelta(days=d),
            visit_kind=k,
            scale_id=scale,
            items={"1": v},
            total=v,
            subscales={},
            band=None,
            computed=True,
            reason=None,
            deleted=False,
        )
        for i, (d, k, v) in enumerate(PTS)
    ]


def test_trajectory_png(tmp_path: Path) -> None:
    fig = plot_trajectory(
        _rows(),
        scale_id="nrs_phantom_average",
        title="S1/P001",
        moderate_pct=30.0,
        substantial_pct=50.0,
    )
    ax = fig.axes[0]
    ys = sorted(
        round(line.get_ydata()[0], 9)
        for line in ax.get_lines()
        if len(set(line.get_ydata())) == 1
        and len(line.get_ydata()) == 2
        and line.get_xdata()[0] == 0
    )
    # responder lines at baseline x 0.7 and x 0.5
    assert pytest.approx(5.6) in ys
    assert pytest.approx(4.0) in ys
    texts = " ".join(t.get_text() for t in fig.texts)
    assert "not a certified medical device" in texts
    out = tmp_path / "t.png"
    fig.savefig(out)
    assert out.stat().st_size > 10_000


def test_trajectory_needs_data() -> None:
    with pytest.raises(ValueError, match="scale_id"):
        plot_trajectory(
            _rows(),
            scale_id="ham_a",
            title="x",
            moderate_pct=30.0,
            substantial_pct=50.0,
        )
