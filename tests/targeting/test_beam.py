"""Beam F3: published worked value, independent re-derivation, symmetry, scaling."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plptms.targeting import BeamVariant, HeadMeasurements, beam_f3, jasper_positions

from ._strategies import heads

DATA = Path(__file__).parents[1] / "data" / "beam_f3_worked_values.json"
#: Published values are printed with two decimals.
PUBLISHED_ATOL_CM = 0.005
#: Closed form versus line intersection: both are exact, only rounding differs.
REDERIVATION_RTOL = 1e-9
#: Results are homogeneous of degree 1 in the measurements.
SCALING_RTOL = 1e-9


def _rederive(head: HeadMeasurements, variant: str) -> tuple[float, float]:
    """Beam's construction redone with vectors (not the closed-form algebra).

    Flat chart centred on Cz, x towards the left ear, y towards the back (Beam's
    axes): Fz at (0, -R1/2), C3 at (R2/2, 0), Fp1 at R1 (cos a, sin a) and F7 at
    (R2, R2 sin 324) (web) or R2 (cos 324, sin 324) (paper). F3 is the crossing of
    Fz-F7 and Fp1-C3; X is the circumference fraction of its direction, Y a
    fixed fraction of its distance from Cz.
    """
    r1, r2 = 0.4 * head.nasion_inion_cm, 0.4 * head.tragus_tragus_cm
    rad = math.radians
    fz = np.array([0.0, -r1 / 2])
    c3 = np.array([r2 / 2, 0.0])
    if variant == "web":
        fp1 = r1 * np.array([math.cos(rad(298)), math.sin(rad(298))])
        f7 = np.array([r2, r2 * math.sin(rad(324))])
        factor = 0.91
    else:
        fp1 = r1 * np.array([math.cos(rad(288)), math.sin(rad(288))])
        f7 = r2 * np.array([math.cos(rad(324)), math.sin(rad(324))])
        factor = 0.9
    # fz + s (f7 - fz) = fp1 + t (c3 - fp1)
    s, _t = np.linalg.solve(np.array([f7 - fz, fp1 - c3]).T, fp1 - fz)
    f3 = fz + s * (f7 - fz)
    angle_from_front = math.degrees(math.atan2(f3[0], -f3[1]))
    x = head.circumference_cm * angle_from_front / 360.0
    return x, factor * float(np.hypot(*f3))


def test_published_worked_value() -> None:
    data = json.loads(DATA.read_text())
    assert "provenance" in data
    for case in data["cases"]:
        head = HeadMeasurements(
            nasion_inion_cm=case["nasion_inion_cm"],
            tragus_tragus_cm=case["tragus_tragus_cm"],
            circumference_cm=case["circumference_cm"],
        )
        result = beam_f3(head, case["variant"])
        assert result.x_cm == pytest.approx(case["x_cm"], abs=PUBLISHED_ATOL_CM)
        if case["y_cm"] is not None:
            assert result.y_cm == pytest.approx(case["y_cm"], abs=PUBLISHED_ATOL_CM)


@pytest.mark.parametrize("variant", ["web", "paper"])
def test_rederivation_demo_head(head: HeadMeasurements, variant: str) -> None:
    result = beam_f3(head, variant)
    x, y = _rederive(head, variant)
    assert result.x_cm == pytest.approx(x, rel=REDERIVATION_RTOL)
    assert result.y_cm == pytest.approx(y, rel=REDERIVATION_RTOL)


@settings(max_examples=80, deadline=None)
@given(heads(), st.sampled_from(["web", "paper"]))
def test_rederivation_property(head: HeadMeasurements, variant: str) -> None:
    result = beam_f3(head, variant)
    x, y = _rederive(head, variant)
    assert result.x_cm == pytest.approx(x, rel=REDERIVATION_RTOL)
    assert result.y_cm == pytest.approx(y, rel=REDERIVATION_RTOL)


@settings(max_examples=80, deadline=None)
@given(heads(), st.sampled_from(list(BeamVariant)))
def test_f3_anterior_left_of_cz(head: HeadMeasurements, variant: BeamVariant) -> None:
    result = beam_f3(head, variant, "left")
    assert result.theta_deg < 0  # in front of the ear-to-ear line
    assert 0 < result.x_cm < head.circumference_cm / 4  # between Fpz and T7
    assert 0 < result.y_cm < 0.4 * max(head.nasion_inion_cm, head.tragus_tragus_cm)


@settings(max_examples=40, deadline=None)
@given(heads(), st.sampled_from(list(BeamVariant)))
def test_f4_is_mirror_image(head: HeadMeasurements, variant: BeamVariant) -> None:
    f3 = beam_f3(head, variant, "left")
    f4 = beam_f3(head, variant, "right")
    assert (f3.target, f4.target) == ("F3", "F4")
    assert f4.side == "right"
    assert f4.x_cm == pytest.approx(f3.x_cm, rel=1e-15)
    assert f4.y_cm == pytest.approx(f3.y_cm, rel=1e-15)
    assert "right ear" in f4.how_to_measure


@settings(max_examples=40, deadline=None)
@given(heads(), st.floats(0.95, 1.05), st.sampled_from(list(BeamVariant)))
def test_scaling(head: HeadMeasurements, k: float, variant: BeamVariant) -> None:
    try:
        big = head.scaled(k)
    except ValueError:
        return
    a, b = beam_f3(head, variant), beam_f3(big, variant)
    assert b.x_cm == pytest.approx(k * a.x_cm, rel=SCALING_RTOL)
    assert b.y_cm == pytest.approx(k * a.y_cm, rel=SCALING_RTOL)
    assert b.theta_deg == pytest.approx(a.theta_deg, rel=SCALING_RTOL)


@pytest.mark.parametrize("cf", [52.0, 58.0, 64.0])
def test_paper_variant_is_the_1020_construction(cf: float) -> None:
    # with NI == TT the paper geometry is exactly the analytic 10-20 chart
    head = HeadMeasurements(
        nasion_inion_cm=0.62 * cf, tragus_tragus_cm=0.62 * cf, circumference_cm=cf
    )
    paper = beam_f3(head, "paper")
    f3 = jasper_positions(head)["F3"]
    assert f3.from_vertex_cm is not None
    assert f3.ring_from_fpz_cm is not None
    assert paper.y_cm / 0.9 == pytest.approx(f3.from_vertex_cm, rel=1e-12)
    assert paper.x_cm == pytest.approx(f3.ring_from_fpz_cm, rel=1e-12)


def test_variants_differ(head: HeadMeasurements) -> None:
    # regression values computed from the two formula sets (not published)
    web, paper = beam_f3(head, "web"), beam_f3(head, "paper")
    assert web.x_cm - paper.x_cm == pytest.approx(0.975, abs=0.01)
    assert web.y_cm > paper.y_cm


def test_how_to_measure(head: HeadMeasurements) -> None:
    text = beam_f3(head).how_to_measure
    assert "7.0 cm along the circumference from Fpz towards the left ear" in text
    assert "9.8 cm" in text
    assert "F3" in text


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"variant": "webb"}, "variant"), ({"side": "both"}, "side")],
)
def test_bad_options(
    head: HeadMeasurements, kwargs: dict[str, str], field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        beam_f3(head, **kwargs)  # type: ignore[arg-type]
