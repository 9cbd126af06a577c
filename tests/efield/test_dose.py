"""Dose at a target and dose transfer (targets, coils, stimulators)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plptms.efield import (
    Coil,
    DoseRefusedError,
    SphereHead,
    Stimulator,
    field_at_target,
    field_per_didt_on_axis,
    pose_on_sphere,
    standard_coil,
    transfer_between_coils,
    transfer_dose,
)
from plptms.safety import RuleStatus, SafetyError

from ..conftest import dose

RTOL = 1e-12
#: Plausibility band for a 70 mm figure-of-eight at full Magstim Rapid output at
#: 15-20 mm depth in an 85 mm sphere (the field at motor threshold is ~1/2 of it).
BAND_V_PER_M = (100.0, 200.0)
#: Model-implied distance slope vs Stokes et al. (2005, 2007): 2.8-3 % MSO/mm.
STOKES_SLOPE_BAND = (2.0, 4.0)
RAPID = "magstim_rapid/d70"


def test_field_at_full_output_in_published_band(fig8: Coil) -> None:
    for depth in (15.0, 20.0):
        r = field_at_target(fig8, RAPID, 100.0, scalp_to_cortex_mm=depth)
        assert BAND_V_PER_M[0] <= r.magnitude_v_per_m <= BAND_V_PER_M[1]
        assert math.isclose(
            r.magnitude_v_per_m,
            field_per_didt_on_axis(fig8, depth) * 114.73,
            rel_tol=1e-9,
        )
        # the field under the centre points along the coil's +y axis
        assert np.dot(r.e_field_v_per_m, r.pose.y_axis) > 0.999 * r.magnitude_v_per_m


def test_field_linear_in_output(fig8: Coil) -> None:
    a = field_at_target(fig8, RAPID, 40.0).magnitude_v_per_m
    b = field_at_target(fig8, RAPID, 80.0).magnitude_v_per_m
    assert math.isclose(b, 2 * a, rel_tol=RTOL)


def test_on_axis_field_does_not_depend_on_angle_or_site(
    fig8: Coil, head: SphereHead
) -> None:
    ref = field_at_target(fig8, RAPID, 50.0, scalp_to_cortex_mm=18.0).magnitude_v_per_m
    for direction, angle in (
        ((0, 0, 1), 37.0),
        ((1, 2, 0.5), 90.0),
        ((-1, 0, 0), 211.0),
    ):
        pose = pose_on_sphere(head, direction, angle)
        r = field_at_target(fig8, RAPID, 50.0, pose=pose, scalp_to_cortex_mm=18.0)
        assert math.isclose(r.magnitude_v_per_m, ref, rel_tol=1e-9)


def test_explicit_target_equals_depth(fig8: Coil) -> None:
    a = field_at_target(fig8, RAPID, 60.0, scalp_to_cortex_mm=16.0)
    b = field_at_target(fig8, RAPID, 60.0, target_m=(0.0, 0.0, 0.085 - 0.016))
    assert np.allclose(a.e_field_v_per_m, b.e_field_v_per_m, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("rmt", [45.0, 55.0, 65.0])
def test_model_distance_slope_matches_stokes(fig8: Coil, rmt: float) -> None:
    t = transfer_dose(
        fig8, RAPID, rmt_pct_mso=rmt, hotspot_scd_mm=15.0, target_scd_mm=20.0
    )
    slope = (t.efield_threshold_pct_mso - rmt) / 5.0
    assert STOKES_SLOPE_BAND[0] <= slope <= STOKES_SLOPE_BAND[1]


def test_transfer_formulas_side_by_side(fig8: Coil) -> None:
    t = transfer_dose(
        fig8,
        RAPID,
        rmt_pct_mso=50.0,
        hotspot_scd_mm=14.0,
        target_scd_mm=17.0,
        intensity_pct_rmt=110.0,
    )
    ratio = field_per_didt_on_axis(fig8, 14.0) / field_per_didt_on_axis(fig8, 17.0)
    assert math.isclose(t.efield_threshold_pct_mso, 50.0 * ratio, rel_tol=RTOL)
    assert math.isclose(t.efield_pct_mso, 1.1 * 50.0 * ratio, rel_tol=RTOL)
    assert math.isclose(t.stokes_threshold_pct_mso, 50.0 + 3.0 * 3.0, rel_tol=RTOL)
    assert math.isclose(t.stokes_pct_mso, 1.1 * 59.0, rel_tol=RTOL)
    # the E-field-matched intensity reproduces the hotspot field at threshold x 1.1
    assert math.isclose(
        t.field_at_target_efield_v_per_m,
        1.1 * t.field_at_hotspot_rmt_v_per_m,
        rel_tol=1e-9,
    )
    rows = t.table()
    assert [r[0] for r in rows] == ["E-field matched", "Stokes 2005 (3 %/mm)"]


def test_same_depth_is_identity(fig8: Coil) -> None:
    t = transfer_dose(
        fig8, RAPID, rmt_pct_mso=47.0, hotspot_scd_mm=15.0, target_scd_mm=15.0
    )
    assert math.isclose(t.efield_threshold_pct_mso, 47.0, rel_tol=RTOL)
    assert math.isclose(t.stokes_threshold_pct_mso, 47.0, rel_tol=RTOL)


def test_above_100_pct_mso_is_refused_not_clamped(fig8: Coil) -> None:
    with pytest.raises(DoseRefusedError, match="stokes_pct_mso") as err:
        transfer_dose(
            fig8, RAPID, rmt_pct_mso=80.0, hotspot_scd_mm=15.0, target_scd_mm=25.0
        )
    assert isinstance(err.value, SafetyError)
    res = err.value.result
    assert math.isclose(res.stokes_pct_mso, 110.0, rel_tol=RTOL)  # unclamped
    assert res.efield_pct_mso > 100.0
    assert any("efield_pct_mso" in f for f in err.value.failures)
    assert "allowed range is (0, 100] % MSO" in str(err.value)


def test_only_requested_methods_are_checked(fig8: Coil) -> None:
    kw = {
        "rmt_pct_mso": 60.0,
        "hotspot_scd_mm": 15.0,
        "target_scd_mm": 20.0,
        "stokes_slope_pct_mso_per_mm": 10.0,
    }
    with pytest.raises(DoseRefusedError, match="stokes_pct_mso"):
        transfer_dose(fig8, RAPID, **kw)
    t = transfer_dose(fig8, RAPID, methods=("efield",), **kw)
    assert t.stokes_pct_mso > 100.0
    assert t.efield_pct_mso < 100.0


def test_transfer_goes_through_the_safety_engine(fig8: Coil) -> None:
    d = dose(intensity_pct_rmt=90.0)  # 10 Hz, 5 s trains
    ok = transfer_dose(
        fig8,
        RAPID,
        rmt_pct_mso=50.0,
        hotspot_scd_mm=15.0,
        target_scd_mm=15.5,
        intensity_pct_rmt=90.0,
        dose=d,
    )
    assert ok.safety
    assert {r.block for r in ok.safety} == {"efield", "stokes"}
    assert not [r for r in ok.safety if r.status is RuleStatus.FAILED]
    with pytest.raises(DoseRefusedError, match="efield:") as err:
        transfer_dose(
            fig8,
            RAPID,
            rmt_pct_mso=45.0,
            hotspot_scd_mm=12.0,
            target_scd_mm=22.0,
            intensity_pct_rmt=110.0,
            dose=d,
        )
    assert err.value.result.efield_pct_mso < 100.0  # refused by a train rule


def test_transfer_between_coils(fig8: Coil) -> None:
    cb60 = standard_coil("magventure_c_b60")
    t = transfer_between_coils(fig8, RAPID, 60.0, cb60, "magpro_x100/c_b60")
    e_from = field_at_target(fig8, RAPID, 60.0).magnitude_v_per_m
    e_to = field_at_target(cb60, "magpro_x100/c_b60", t.to_pct_mso).magnitude_v_per_m
    assert math.isclose(e_from, e_to, rel_tol=1e-9)
    assert math.isclose(t.field_v_per_m, e_from, rel_tol=1e-9)
    # round trip
    back = transfer_between_coils(cb60, "magpro_x100/c_b60", t.to_pct_mso, fig8, RAPID)
    assert math.isclose(back.to_pct_mso, 60.0, rel_tol=1e-9)


def test_coil_transfer_above_ceiling_is_refused(fig8: Coil) -> None:
    weak = Stimulator(
        key="weak/x",
        stimulator="weak",
        coil="x",
        max_didt_a_per_us=40.0,
        citation="test",
        verified=False,
    )
    with pytest.raises(DoseRefusedError, match="to_pct_mso") as err:
        transfer_between_coils(fig8, RAPID, 80.0, fig8, weak)
    assert math.isclose(err.value.result.to_pct_mso, 80.0 * 114.73 / 40.0, rel_tol=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.floats(min_value=1e-3, max_value=100.0))
def test_rmt_in_range_passes(rmt: float) -> None:
    c = standard_coil("magstim_70mm_fig8", element_size_m=0.01, height_subdivisions=1)
    t = transfer_dose(
        c, RAPID, rmt_pct_mso=rmt, hotspot_scd_mm=15.0, target_scd_mm=15.0, methods=()
    )
    assert math.isclose(t.rmt_pct_mso, rmt, rel_tol=RTOL)


@settings(max_examples=30, deadline=None)
@given(st.one_of(st.floats(max_value=0.0), st.floats(min_value=100.001, max_value=1e6)))
def test_rmt_out_of_range_raises(rmt: float) -> None:
    c = standard_coil("magstim_70mm_fig8", element_size_m=0.01, height_subdivisions=1)
    with pytest.raises(ValueError, match="rmt_pct_mso"):
        transfer_dose(
            c, RAPID, rmt_pct_mso=rmt, hotspot_scd_mm=15.0, target_scd_mm=15.0
        )


@settings(max_examples=30, deadline=None)
@given(st.one_of(st.floats(max_value=0.0), st.floats(min_value=85.0, max_value=1e6)))
def test_depth_out_of_range_raises(depth: float) -> None:
    c = standard_coil("magstim_70mm_fig8", element_size_m=0.01, height_subdivisions=1)
    with pytest.raises(ValueError, match="scalp_to_cortex_mm"):
        field_at_target(c, RAPID, 50.0, scalp_to_cortex_mm=depth)


def test_intensity_above_100_refused(fig8: Coil) -> None:
    with pytest.raises(ValueError, match="intensity_pct_mso"):
        field_at_target(fig8, RAPID, 100.5)


def test_circular_coil_cannot_be_dosed_on_axis(fig8: Coil) -> None:
    circ = standard_coil("magstim_70mm_circular")
    with pytest.raises(ValueError, match="'coil'"):
        transfer_dose(
            circ, RAPID, rmt_pct_mso=50.0, hotspot_scd_mm=15.0, target_scd_mm=18.0
        )
    with pytest.raises(ValueError, match="coil_to"):
        transfer_between_coils(fig8, RAPID, 50.0, circ, RAPID)
