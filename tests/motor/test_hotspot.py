"""Hotspot search on the simulated subject's spatial model."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plptms.motor import _constants as C
from plptms.motor._hotspot import (
    HotspotGrid,
    HotspotStrategy,
    PositionEvidence,
    next_hotspot_position,
    search_hotspot,
)
from plptms.motor._responder import CoilPosition
from plptms.motor._subject import SimulatedSubject, SubjectParameters

#: Seeded noisy runs, and the fraction that must land within one grid step of the
#: grid point nearest the true hotspot (about 95 % do, measured over 500 seeds).
N_NOISY_RUNS = 60
MIN_FRACTION_WITHIN_ONE_STEP = 0.9
#: Search intensity relative to the hotspot threshold ("slightly suprathreshold").
SEARCH_PCT_RMT = 120.0


def _nearest(grid: HotspotGrid, x: float, y: float) -> CoilPosition:
    n, s = grid.half_width, grid.spacing_cm
    i = max(-n, min(n, round(x / s)))
    j = max(-n, min(n, round(y / s)))
    return grid.position(i, j)


def _steps(grid: HotspotGrid, a: CoilPosition, b: CoilPosition) -> int:
    (ia, ja), (ib, jb) = grid.index(a), grid.index(b)
    return max(abs(ia - ib), abs(ja - jb))


@pytest.mark.parametrize("strategy", list(HotspotStrategy))
@pytest.mark.parametrize(
    "hotspot", [(0.0, 0.0), (1.0, -1.0), (-2.0, 2.0), (3.0, 0.0), (0.4, 1.3)]
)
def test_noise_free_finds_true_hotspot(
    strategy: HotspotStrategy, hotspot: tuple[float, float]
) -> None:
    p = SubjectParameters(
        threshold_pct_mso=45.0, hotspot_x_cm=hotspot[0], hotspot_y_cm=hotspot[1]
    )
    s = SimulatedSubject(p, noise_free=True)
    grid = HotspotGrid()
    r = search_hotspot(s, intensity_pct_mso=54.0, strategy=strategy)
    assert r.converged
    assert r.hotspot == _nearest(grid, *hotspot)
    assert r.pulses_used == C.HOTSPOT_PULSES_PER_POSITION * len(r.evidence)
    best = r.hotspot_evidence
    assert best.n == C.HOTSPOT_PULSES_PER_POSITION
    assert best.sd_uv == pytest.approx(0.0, abs=1e-9)
    assert all(best.mean_uv >= e.mean_uv for e in r.evidence)
    if strategy is HotspotStrategy.EXHAUSTIVE:
        assert len(r.evidence) == (2 * grid.half_width + 1) ** 2


def test_hill_climb_visits_fewer_positions_than_the_grid() -> None:
    p = SubjectParameters(threshold_pct_mso=45.0, hotspot_x_cm=1.0, hotspot_y_cm=1.0)
    r = search_hotspot(SimulatedSubject(p, noise_free=True), intensity_pct_mso=54.0)
    assert len(r.evidence) < 49 / 2
    assert r.evidence[0].position == CoilPosition(0.0, 0.0)


def test_noisy_search_within_one_grid_step() -> None:
    rng = np.random.default_rng(77)
    grid = HotspotGrid()
    ok = 0
    for seed in range(N_NOISY_RUNS):
        hx, hy = rng.uniform(-1.5, 1.5, 2)
        t = float(rng.uniform(35.0, 65.0))
        p = SubjectParameters(threshold_pct_mso=t, hotspot_x_cm=hx, hotspot_y_cm=hy)
        r = search_hotspot(
            SimulatedSubject(p, seed=seed),
            intensity_pct_mso=min(100.0, round(t * SEARCH_PCT_RMT / 100.0)),
        )
        ok += _steps(grid, r.hotspot, _nearest(grid, hx, hy)) <= 1
    assert ok >= MIN_FRACTION_WITHIN_ONE_STEP * N_NOISY_RUNS


def test_search_is_reproducible() -> None:
    p = SubjectParameters(threshold_pct_mso=50.0, hotspot_x_cm=0.7, hotspot_y_cm=-0.2)
    a = search_hotspot(SimulatedSubject(p, seed=3), intensity_pct_mso=60.0)
    b = search_hotspot(SimulatedSubject(p, seed=3), intensity_pct_mso=60.0)
    assert a == b


def test_budget_exhausted_is_reported() -> None:
    p = SubjectParameters(threshold_pct_mso=45.0, hotspot_x_cm=2.0)
    r = search_hotspot(
        SimulatedSubject(p, noise_free=True),
        intensity_pct_mso=54.0,
        strategy="exhaustive",
        max_pulses=23,
    )
    assert not r.converged
    assert "budget" in r.stop_reason
    assert r.pulses_used == 20
    assert len(r.evidence) == 4


def test_evidence_statistics() -> None:
    e = PositionEvidence(position=CoilPosition(1.0, 0.0), amplitudes_uv=(1.0, 2.0, 3.0))
    assert (e.n, e.mean_uv, e.sd_uv) == (3, 2.0, pytest.approx(1.0))
    one = PositionEvidence(position=CoilPosition(0.0, 0.0), amplitudes_uv=(5.0,))
    assert one.sd_uv == 0.0
    with pytest.raises(ValueError, match="amplitudes_uv"):
        PositionEvidence(position=CoilPosition(0.0, 0.0), amplitudes_uv=())
    with pytest.raises(ValueError, match="amplitudes_uv"):
        PositionEvidence(position=CoilPosition(0.0, 0.0), amplitudes_uv=(-1.0,))


def test_next_position_hill_climb() -> None:
    g = HotspotGrid(half_width=2)
    c = CoilPosition(0.0, 0.0)
    assert next_hotspot_position(g, {}) == c
    ev: dict[CoilPosition, list[float]] = {c: [100.0]}
    # First unvisited neighbour of the best (E first).
    assert next_hotspot_position(g, ev) == CoilPosition(1.0, 0.0)
    for nb in g.neighbours(c):
        ev[nb] = [50.0]
    ev[CoilPosition(0.0, 1.0)] = [300.0]
    # Best moved north: its unvisited neighbours come next (E of (0, 1) is known).
    assert next_hotspot_position(g, ev) == CoilPosition(1.0, 2.0)
    for nb in g.neighbours(CoilPosition(0.0, 1.0)):
        ev.setdefault(nb, [10.0])
    assert next_hotspot_position(g, ev) is None


def test_next_position_exhaustive_order() -> None:
    g = HotspotGrid(half_width=1, spacing_cm=1.5)
    order = []
    ev: dict[CoilPosition, list[float]] = {}
    while (p := next_hotspot_position(g, ev, "exhaustive")) is not None:
        order.append(p)
        ev[p] = [1.0]
    assert order == list(g.positions())
    assert order[0] == CoilPosition(-1.5, 1.5)
    assert len(order) == 9


def test_grid_geometry() -> None:
    g = HotspotGrid(spacing_cm=0.5, half_width=2, centre_label="C4")
    assert g.position(1, -2) == CoilPosition(0.5, -1.0)
    assert g.index(CoilPosition(0.5, -1.0)) == (1, -2)
    assert len(g.neighbours(CoilPosition(1.0, 1.0))) == 3
    assert len(g.neighbours(CoilPosition(0.0, 0.0))) == 8
    with pytest.raises(ValueError, match="position"):
        g.index(CoilPosition(0.25, 0.0))
    with pytest.raises(ValueError, match="position"):
        g.index(CoilPosition(5.0, 0.0))


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"intensity_pct_mso": 0.0}, ValueError, "intensity_pct_mso"),
        ({"intensity_pct_mso": 120.0}, ValueError, "intensity_pct_mso"),
        ({"intensity_pct_mso": "60"}, TypeError, "intensity_pct_mso"),
        ({"pulses_per_position": 0}, ValueError, "pulses_per_position"),
        ({"pulses_per_position": 2.0}, TypeError, "pulses_per_position"),
        ({"max_pulses": 0}, ValueError, "max_pulses"),
        ({"strategy": "hillclimb"}, ValueError, "strategy"),
        ({"max_pulses": 3}, ValueError, "max_pulses"),
    ],
)
def test_search_validation_names_field(
    kwargs: dict[str, object], error: type[Exception], field: str
) -> None:
    s = SimulatedSubject(SubjectParameters(threshold_pct_mso=45.0), seed=0)
    args: dict[str, object] = {"intensity_pct_mso": 55.0, **kwargs}
    with pytest.raises(error, match=field):
        search_hotspot(s, **args)  # type: ignore[arg-type]


def test_unknown_strategy_suggests() -> None:
    with pytest.raises(ValueError, match="Did you mean 'hill_climb'"):
        next_hotspot_position(HotspotGrid(), {}, "hill-climb")


def test_responder_without_stimulate_at() -> None:
    with pytest.raises(TypeError, match="responder"):
        search_hotspot(object(), intensity_pct_mso=50.0)  # type: ignore[arg-type]


@settings(max_examples=50)
@given(spacing=st.floats(0.0, 6.0), half=st.integers(-1, 12))
def test_grid_validation_property(spacing: float, half: int) -> None:
    ok = 0.1 <= spacing <= 5.0 and 1 <= half <= 10
    if ok:
        g = HotspotGrid(spacing_cm=spacing, half_width=half)
        assert HotspotGrid.model_validate(g.model_dump()) == g
        assert len(g.positions()) == (2 * half + 1) ** 2
        assert all(
            math.isclose(p[0] % spacing, 0.0, abs_tol=1e-9)
            or math.isclose(p[0] % spacing, spacing, abs_tol=1e-9)
            for p in g.positions()
        )
    else:
        with pytest.raises(ValueError, match=r"spacing_cm|half_width"):
            HotspotGrid(spacing_cm=spacing, half_width=half)
