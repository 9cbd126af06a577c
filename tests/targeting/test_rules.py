"""Scalp heuristics: 5 cm rule (with its known error), S1 from the hotspot, leg."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plptms.targeting import (
    FIVE_CM_RULE_KNOWN_ERROR,
    HeadMeasurements,
    ScalpPosition,
    five_cm_rule,
    leg_hotspot_estimate,
    m1_hand_estimate,
    s1_from_hotspot,
    scalp_positions,
    smc_estimate,
)

#: Straight-line (chord) versus along-the-scalp distance for a few cm on a head of
#: radius ~9 cm: the chord is shorter by < 2 %.
CHORD_RTOL = 0.03
#: Off-plane drift of a parasagittal walk (numerical), mm.
PARASAGITTAL_ATOL_MM = 0.5


def _xyz(p: ScalpPosition) -> np.ndarray:
    assert p.x_mm is not None
    assert p.y_mm is not None
    assert p.z_mm is not None
    return np.array([p.x_mm, p.y_mm, p.z_mm])


@pytest.fixture(scope="module")
def c3(head: HeadMeasurements) -> ScalpPosition:
    return scalp_positions(head, names=["C3"])["C3"]


def test_five_cm_rule(head: HeadMeasurements, c3: ScalpPosition) -> None:
    result = five_cm_rule(c3, head)
    p = result.position
    d = _xyz(p) - _xyz(c3)
    assert np.linalg.norm(d) / 10 == pytest.approx(5.0, rel=CHORD_RTOL)
    assert np.linalg.norm(d) / 10 < 5.0  # chord of a 5 cm arc
    assert d[1] > 40  # anterior
    assert abs(d[0]) < PARASAGITTAL_ATOL_MM  # parasagittal line
    assert p.side == "left"
    assert result.distance_cm == pytest.approx(5.0)
    assert result.known_error == FIVE_CM_RULE_KNOWN_ERROR
    assert "7 of 22" in result.known_error
    assert "Herwig" in result.known_error


def test_five_cm_rule_lies_behind_beam_f3(head: HeadMeasurements) -> None:
    # the literature's point: the 5 cm site is posterior to F3
    hotspot = m1_hand_estimate(head, "left")
    rule = five_cm_rule(hotspot, head).position
    f3 = scalp_positions(head, names=["F3"])["F3"]
    assert rule.y_mm is not None
    assert f3.y_mm is not None
    assert rule.y_mm < f3.y_mm


def test_known_error_matches_constants() -> None:
    from plptms.targeting._constants import (
        FIVE_CM_RULE_HITS_HERWIG2001,
        FIVE_CM_RULE_MISS_FRACTION_MIN,
    )

    hits, n = FIVE_CM_RULE_HITS_HERWIG2001
    assert f"{hits} of {n}" in FIVE_CM_RULE_KNOWN_ERROR
    assert FIVE_CM_RULE_MISS_FRACTION_MIN == pytest.approx(1 / 3)
    assert "more than one third" in FIVE_CM_RULE_KNOWN_ERROR


@pytest.mark.parametrize("distance", [0.5, 12.0])
def test_five_cm_rule_distance_range(
    head: HeadMeasurements, c3: ScalpPosition, distance: float
) -> None:
    with pytest.raises(ValueError, match="distance_cm"):
        five_cm_rule(c3, head, distance_cm=distance)


def test_five_cm_rule_midline_hotspot(head: HeadMeasurements) -> None:
    cz = scalp_positions(head, names=["Cz"])["Cz"]
    with pytest.raises(ValueError, match="hotspot"):
        five_cm_rule(cz, head)


@pytest.mark.parametrize("side", ["left", "right"])
def test_s1_two_cm_lateral_half_cm_posterior(head: HeadMeasurements, side: str) -> None:
    hotspot = m1_hand_estimate(head, side)
    s1 = s1_from_hotspot(hotspot, head)
    d = _xyz(s1) - _xyz(hotspot)
    assert np.linalg.norm(d) / 10 == pytest.approx(np.hypot(2.0, 0.5), rel=CHORD_RTOL)
    assert abs(s1.x_mm) > abs(hotspot.x_mm)  # type: ignore[arg-type]
    assert d[1] < 0  # posterior
    assert s1.side == side
    assert "Holmes" in s1.note


def test_hand_estimate_medial_to_c3(head: HeadMeasurements, c3: ScalpPosition) -> None:
    est = m1_hand_estimate(head, "left")
    assert est.lateral_cm is not None
    assert c3.lateral_cm is not None
    assert c3.lateral_cm - est.lateral_cm == pytest.approx(2.0, abs=0.3)
    # S1 from the estimate comes back to C3 (Holmes: S1 index near C3/C4)
    s1 = s1_from_hotspot(est, head)
    assert np.linalg.norm(_xyz(s1) - _xyz(c3)) < 1.0


@pytest.mark.parametrize("side", ["left", "right"])
def test_leg_estimate_near_vertex(head: HeadMeasurements, side: str) -> None:
    leg = leg_hotspot_estimate(head, side)
    cz = scalp_positions(head, names=["Cz"])["Cz"]
    d = _xyz(leg) - _xyz(cz)
    assert np.linalg.norm(d) / 10 == pytest.approx(np.hypot(1.29, 0.55), rel=CHORD_RTOL)
    assert leg.side == side
    assert d[1] < 0


@pytest.mark.parametrize("func", [m1_hand_estimate, leg_hotspot_estimate])
def test_bad_hemisphere(
    head: HeadMeasurements, func: Callable[..., ScalpPosition]
) -> None:
    with pytest.raises(ValueError, match="hemisphere"):
        func(head, "both")


# -- supplementary motor complex (SMC) ---------------------------------------------

#: The walk from Cz along the template midline versus the analytic 10-20 Cz at 50 %
#: of NI: the template Cz deviates from 50 % by up to ~0.5 cm (test_positions).
SMC_VS_ANALYTIC_ATOL_CM = 0.5
#: Arc length walked on the fitted ellipsoid versus the requested distance.
WALK_ATOL_CM = 0.05


@pytest.mark.parametrize("side", ["left", "right"])
def test_smc_three_cm_anterior_to_cz_on_midline(
    head: HeadMeasurements, side: str
) -> None:
    """SMA scalp site 3 cm anterior to Cz on the midline (Janssen et al., 2015)."""
    smc = smc_estimate(head, side)
    cz = scalp_positions(head, names=["Cz"])["Cz"]
    assert smc.side == "midline"
    assert smc.from_vertex_cm == pytest.approx(3.0, abs=WALK_ATOL_CM)
    assert smc.from_nasion_cm is not None
    assert cz.from_nasion_cm is not None
    assert cz.from_nasion_cm - smc.from_nasion_cm == pytest.approx(
        3.0, abs=WALK_ATOL_CM
    )
    # Jasper (1958): Cz at 50 % of NI, so the site is at NI/2 - 3 cm from the nasion
    assert smc.from_nasion_cm == pytest.approx(
        head.nasion_inion_cm / 2 - 3.0, abs=SMC_VS_ANALYTIC_ATOL_CM
    )
    d = _xyz(smc) - _xyz(cz)
    assert d[1] > 25  # anterior
    assert abs(d[0]) < PARASAGITTAL_ATOL_MM
    assert "Janssen" in smc.note
    assert f"the {side} SMC" in smc.note


def test_smc_five_cm_alternative_and_fcz(head: HeadMeasurements) -> None:
    """5 cm anterior to Cz (Janssen et al., 2015) lies beyond FCz (10 % of NI)."""
    five = smc_estimate(head, "left", anterior_cm=5.0)
    fcz = scalp_positions(head, names=["FCz"])["FCz"]
    three = smc_estimate(head, "left")
    assert five.from_vertex_cm == pytest.approx(5.0, abs=WALK_ATOL_CM)
    assert three.from_vertex_cm is not None
    assert fcz.from_vertex_cm is not None
    assert three.from_vertex_cm < fcz.from_vertex_cm < 5.0


@pytest.mark.parametrize("side", ["left", "right"])
def test_smc_lateral_offset(head: HeadMeasurements, side: str) -> None:
    smc = smc_estimate(head, side, lateral_cm=1.0)
    assert smc.side == side
    assert smc.lateral_cm == pytest.approx(1.0, abs=WALK_ATOL_CM)
    assert "plptms option" in smc.note


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"hemisphere": "both"}, "hemisphere"),
        ({"hemisphere": "left", "anterior_cm": 0.5}, "anterior_cm"),
        ({"hemisphere": "left", "anterior_cm": 9.0}, "anterior_cm"),
        ({"hemisphere": "left", "lateral_cm": -0.1}, "lateral_cm"),
        ({"hemisphere": "left", "lateral_cm": 1.6}, "lateral_cm"),
    ],
)
def test_smc_errors(
    head: HeadMeasurements, kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        smc_estimate(head, **kwargs)  # type: ignore[arg-type]


@settings(max_examples=20, deadline=None)
@given(lateral=st.floats(-5.0, 5.0, allow_nan=False))
def test_smc_lateral_validator(head: HeadMeasurements, lateral: float) -> None:
    """In [0, 1.5] cm passes (idempotently), outside raises naming the field."""
    if 0.0 <= lateral <= 1.5:
        first = smc_estimate(head, "right", lateral_cm=lateral)
        assert smc_estimate(head, "right", lateral_cm=lateral) == first
    else:
        with pytest.raises(ValueError, match="lateral_cm"):
            smc_estimate(head, "right", lateral_cm=lateral)
