"""Dosing sweeps: analytic values at grid points, back-ends, checkpoints, checks."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from plptms.efield import coil_from_arrays, standard_coil
from plptms.sweeps._dosing import (
    DosingGrid,
    DosingPoint,
    SweepTarget,
    dosing_sweep,
    evaluate_dosing_point,
)

#: Closed form vs the vectorised sum: rounding only.
RTOL_ANALYTIC = 1e-9
#: Radial normal: the sphere's field is tangential, so E . n is rounding noise.
ATOL_RADIAL_V_PER_M = 1e-9
#: The pose grid has no point exactly above the target (nearest ~1.5 mm away at
#: 200 positions within 30 mm); |E| of a fig-8 changes by well under 1 % there.
RTOL_GRID = 1e-2
#: dI/dt of the Magstim Rapid with the D70 coil at 100 % MSO, A/us (the constant
#: pinned in tests/efield/test_dose.py).
RAPID_D70_A_PER_US = 114.73
#: tests/efield/test_dose.py's plausibility band at 15-20 mm depth, V/m.
BAND_V_PER_M = (100.0, 200.0)

H_M = 0.01  # dipole height above the scalp
M_M2 = 2e-3  # dipole moment per ampere


def _dipole_field(radius_m: float, depth_m: float, didt: float) -> float:
    """|E| under a tangential dipole, from Heller & van Hulsteyn (1992) by hand.

    Dipole m at r0 (radial, r0 = R + h), target r on the same ray (r = R - d):
    r x r0 = 0 drops the second term; a = r0 - r and F = a (r0 a + r0 . a)
    = 2 r0 a^2, so |E| = mu0 / (4 pi) dI/dt r m / (2 r0 a^2).
    """
    r0 = radius_m + H_M
    r = radius_m - depth_m
    a = r0 - r
    return 1e-7 * didt * r * M_M2 / (2.0 * r0 * a * a)


def _dipole() -> object:
    # coil frame: +z points into the head, so -z is above the scalp
    return coil_from_arrays("dipole", [[0.0, 0.0, -H_M]], [[M_M2, 0.0, 0.0]])


@pytest.mark.parametrize(("radius_mm", "depth_mm"), [(85.0, 15.0), (70.0, 22.0)])
def test_single_dipole_matches_closed_form(radius_mm: float, depth_mm: float) -> None:
    point = DosingPoint(
        head_radius_mm=radius_mm,
        scalp_to_cortex_mm=depth_mm,
        target=SweepTarget(name="t"),
        intensity_pct_mso=50.0,
        n_positions=1,  # the one position is exactly above the target
        n_orientations=7,  # every angle gives the same |E| on the axis
    )
    rec = evaluate_dosing_point(point, coil=_dipole())  # type: ignore[arg-type]
    didt = 0.5 * RAPID_D70_A_PER_US * 1e6
    expected = _dipole_field(radius_mm * 1e-3, depth_mm * 1e-3, didt)
    assert math.isclose(rec["on_axis_v_per_m"], expected, rel_tol=RTOL_ANALYTIC)
    assert math.isclose(rec["best_magnitude_v_per_m"], expected, rel_tol=RTOL_ANALYTIC)
    assert math.isclose(rec["didt_a_per_us"], 0.5 * RAPID_D70_A_PER_US, rel_tol=1e-12)
    assert rec["best_offset_mm"] == pytest.approx(0.0, abs=1e-6)
    assert rec["coil"] == "dipole"


def test_radial_normal_gets_no_field() -> None:
    point = DosingPoint(
        head_radius_mm=85.0,
        scalp_to_cortex_mm=15.0,
        target=SweepTarget(name="crown", normal_tilt_deg=0.0),
        n_positions=5,
        n_orientations=4,
    )
    rec = evaluate_dosing_point(point)
    assert rec["objective"] == "normal"
    assert abs(rec["best_objective_v_per_m"]) <= ATOL_RADIAL_V_PER_M  # type: ignore[arg-type]
    assert rec["best_magnitude_v_per_m"] > 1.0  # type: ignore[operator]


def test_fig8_grid_point_matches_the_efield_tests() -> None:
    grid = DosingGrid(head_radius_mm=(85.0,), scalp_to_cortex_mm=(15.0, 20.0))
    recs = dosing_sweep(grid, backend="serial")
    fig8 = standard_coil("magstim_70mm_fig8")
    from plptms.efield import field_per_didt_on_axis

    for rec, depth in zip(recs, (15.0, 20.0), strict=True):
        on_axis = rec["on_axis_v_per_m"]
        assert BAND_V_PER_M[0] <= on_axis <= BAND_V_PER_M[1]  # type: ignore[operator]
        assert math.isclose(
            on_axis,  # type: ignore[arg-type]
            field_per_didt_on_axis(fig8, depth) * RAPID_D70_A_PER_US,
            rel_tol=1e-9,
        )
        assert math.isclose(
            rec["best_magnitude_v_per_m"],  # type: ignore[arg-type]
            on_axis,  # type: ignore[arg-type]
            rel_tol=RTOL_GRID,
        )
        assert rec["best_offset_mm"] <= 30.0  # type: ignore[operator]
    # deeper is weaker
    assert recs[1]["on_axis_v_per_m"] < recs[0]["on_axis_v_per_m"]  # type: ignore[operator]


def _small_grid() -> DosingGrid:
    return DosingGrid(
        head_radius_mm=(80.0, 90.0),
        scalp_to_cortex_mm=(15.0,),
        targets=(SweepTarget(name="max"), SweepTarget(name="wall", normal_tilt_deg=90)),
        n_positions=4,
        n_orientations=4,
    )


def test_grid_order() -> None:
    pts = _small_grid().points()
    assert [(p.head_radius_mm, p.target.name) for p in pts] == [
        (80.0, "max"),
        (80.0, "wall"),
        (90.0, "max"),
        (90.0, "wall"),
    ]


def test_serial_and_processes_identical_and_checkpoint_round_trip(
    tmp_path: Path,
) -> None:
    grid = _small_grid()
    serial = dosing_sweep(grid, backend="serial")
    pooled = dosing_sweep(
        grid, backend="processes", n_workers=2, batch_size=2, checkpoint=tmp_path
    )
    assert pooled == serial  # bit-identical records
    files = sorted(tmp_path.glob("batch-*.parquet"))
    assert len(files) == 2  # flat records: Parquet, not pickle
    import pyarrow.parquet as pq

    table = [row for f in files for row in pq.read_table(f).to_pylist()]
    assert table == serial
    assert table[0]["normal_tilt_deg"] is None  # None survives
    resumed = dosing_sweep(grid, backend="serial", checkpoint=tmp_path)
    assert resumed == serial


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"head_radius_mm": (30.0,)}, "head_radius_mm"),
        ({"scalp_to_cortex_mm": (85.0,)}, "scalp_to_cortex_mm"),
        ({"scalp_to_cortex_mm": ()}, "scalp_to_cortex_mm"),
        ({"coil": "magstim_70mm_fig9"}, "coil"),
        ({"stimulator": "nope"}, "stimulator"),
        ({"intensity_pct_mso": 120.0}, "intensity_pct_mso"),
        ({"targets": (SweepTarget(name="a"), SweepTarget(name="a"))}, "targets"),
    ],
)
def test_grid_validation(kwargs: dict[str, object], field: str) -> None:
    base: dict[str, object] = {
        "head_radius_mm": (85.0,),
        "scalp_to_cortex_mm": (15.0,),
    }
    with pytest.raises(ValueError, match=field):
        DosingGrid(**{**base, **kwargs})  # type: ignore[arg-type]


def test_target_validation() -> None:
    with pytest.raises(ValueError, match="normal_tilt_deg"):
        SweepTarget(name="x", normal_tilt_deg=120.0)
    with pytest.raises(ValueError, match="name"):
        SweepTarget(name=" ")


def test_wrong_grid_type() -> None:
    with pytest.raises(TypeError, match="grid"):
        dosing_sweep({"head_radius_mm": (85.0,)}, backend="serial")  # type: ignore[arg-type]
