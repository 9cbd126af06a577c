"""From the amputation to the target: hemisphere, area, scalp site, MNI, why."""

from __future__ import annotations

from typing import Any

import pytest

from plptms.protocol import Amputation, Hemisphere, Laterality, TargetSite
from plptms.targeting import (
    HeadMeasurements,
    plan_targets,
    scalp_position_from_tape,
)

CASES = [
    # side, limb, expected hemisphere, resolved target, scalp side
    ("left", "upper", Hemisphere.RIGHT, TargetSite.M1_HAND, "right"),
    ("right", "upper", Hemisphere.LEFT, TargetSite.M1_HAND, "left"),
    ("left", "lower", Hemisphere.RIGHT, TargetSite.M1_LEG, "right"),
    ("right", "lower", Hemisphere.LEFT, TargetSite.M1_LEG, "left"),
]


@pytest.mark.parametrize(("side", "limb", "hemi", "target", "scalp"), CASES)
def test_m1_contralateral(
    head: HeadMeasurements,
    side: str,
    limb: str,
    hemi: Hemisphere,
    target: TargetSite,
    scalp: str,
) -> None:
    plan = plan_targets(Amputation(side=side, limb=limb), "m1", head)
    assert plan.hemisphere is hemi
    assert plan.target is target
    assert plan.requested_target is TargetSite.M1
    (site,) = plan.sites
    assert site.hemisphere is hemi
    assert site.position.side == scalp
    assert site.mni is not None
    assert site.mni.site is target
    assert (site.mni.x_mm > 0) == (hemi is Hemisphere.RIGHT)
    part = "hand" if limb == "upper" else "leg"
    assert part in plan.area
    assert f"{hemi.value} hemisphere" in plan.explanation
    assert "opposite" in plan.explanation
    assert plan.explanation == " ".join(plan.reasons)
    lateral = site.position.lateral_cm
    assert lateral is not None
    if limb == "upper":
        assert 4.0 < lateral < 7.0  # between the midline and C3/C4
        assert {a.name for a in site.alternatives} == {
            "C3" if scalp == "left" else "C4"
        }
    else:
        assert lateral < 2.0  # near the vertex


def test_dlpfc_contralateral_is_f4_for_left_amputation(head: HeadMeasurements) -> None:
    plan = plan_targets(Amputation(side="left", limb="upper"), "dlpfc", head)
    (site,) = plan.sites
    assert plan.hemisphere is Hemisphere.RIGHT
    assert site.beam is not None
    assert site.beam.target == "F4"
    assert site.position.name == "F4 (Beam web)"
    assert site.position.side == "right"
    assert site.position.ring_from_fpz_cm == pytest.approx(site.beam.x_cm, abs=0.01)
    assert site.position.from_vertex_cm == pytest.approx(site.beam.y_cm, abs=0.01)
    assert site.five_cm_rule is not None
    assert "7 of 22" in site.five_cm_rule.known_error
    assert site.mni is not None
    assert site.mni.verified
    assert site.mni.mirrored
    assert "DLPFC" in plan.area


def test_dlpfc_absolute_left(head: HeadMeasurements) -> None:
    plan = plan_targets(
        Amputation(side="left", limb="lower"),
        TargetSite.DLPFC,
        head,
        laterality=Laterality.LEFT,
        beam_variant="paper",
    )
    (site,) = plan.sites
    assert site.beam is not None
    assert site.beam.target == "F3"
    assert site.beam.variant == "paper"
    assert "names the hemisphere" in plan.explanation


def test_s1_upper_from_measured_hotspot(head: HeadMeasurements) -> None:
    hotspot = scalp_position_from_tape(
        head, "hotspot", side="right", from_nasion_cm=18.0, lateral_cm=5.0
    )
    plan = plan_targets(
        Amputation(side="left", limb="upper"), "s1", head, hotspot=hotspot
    )
    (site,) = plan.sites
    assert site.alternatives[0] == hotspot
    assert site.position.lateral_cm is not None
    assert site.position.lateral_cm == pytest.approx(7.0, abs=0.3)
    assert site.mni is not None
    assert site.mni.site is TargetSite.S1
    m1 = plan_targets(
        Amputation(side="left", limb="upper"), "m1_hand", head, hotspot=hotspot
    )
    assert m1.sites[0].position == hotspot


def test_hotspot_on_other_side_is_ignored(head: HeadMeasurements) -> None:
    hotspot = scalp_position_from_tape(
        head, "hotspot", side="left", from_nasion_cm=18.0, lateral_cm=5.0
    )
    plan = plan_targets(
        Amputation(side="left", limb="upper"), "m1", head, hotspot=hotspot
    )
    assert plan.sites[0].position != hotspot
    assert plan.sites[0].position.side == "right"


def test_s1_lower_has_no_verified_rule(head: HeadMeasurements) -> None:
    plan = plan_targets(Amputation(side="right", limb="lower"), "s1", head)
    (site,) = plan.sites
    assert site.mni is None
    assert any("No verified" in n for n in site.notes)
    assert "leg" in plan.area


def test_bilateral(head: HeadMeasurements) -> None:
    amp = Amputation(side="bilateral", limb="upper")
    with pytest.raises(ValueError, match="laterality"):
        plan_targets(amp, "m1", head)
    plan = plan_targets(amp, "m1", head, laterality="bilateral")
    assert plan.hemisphere is Hemisphere.BOTH
    assert [s.hemisphere for s in plan.sites] == [Hemisphere.LEFT, Hemisphere.RIGHT]
    assert [s.position.side for s in plan.sites] == ["left", "right"]


def test_unreported_laterality(head: HeadMeasurements) -> None:
    with pytest.raises(ValueError, match="laterality"):
        plan_targets(Amputation(side="left", limb="upper"), "m1", head, laterality=None)


def test_ipsilateral(head: HeadMeasurements) -> None:
    plan = plan_targets(
        Amputation(side="left", limb="upper", level="transhumeral"),
        "m1",
        head,
        laterality="ipsilateral",
    )
    assert plan.hemisphere is Hemisphere.LEFT
    assert "same side" in plan.explanation
    assert "transhumeral" in plan.explanation


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"target_site": "v1"}, "target_site"),
        ({"target_site": "m1", "laterality": "sideways"}, "laterality"),
        ({"target_site": "dlpfc", "beam_variant": "app"}, "beam_variant"),
    ],
)
def test_bad_arguments(
    head: HeadMeasurements, kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        plan_targets(Amputation(side="left", limb="upper"), head=head, **kwargs)


def test_smc_lee2015_case(head: HeadMeasurements) -> None:
    """Lee et al. (2015): right transfemoral amputee, SMC of the affected hemisphere.

    The abstract says the SMC of the affected hemisphere was targeted, i.e. the
    left hemisphere for a right amputation; the SMC is mesial, so the scalp site
    is on the midline 3 cm anterior to Cz (Janssen et al., 2015) and the MNI
    coordinate is Mayka's (2006) SMA proper in that hemisphere.
    """
    plan = plan_targets(
        Amputation(side="right", limb="lower", level="transfemoral"), "smc", head
    )
    assert plan.target is TargetSite.SMC
    assert plan.requested_target is TargetSite.SMC
    assert plan.hemisphere is Hemisphere.LEFT
    assert "supplementary motor complex" in plan.area
    assert "left hemisphere" in plan.explanation
    assert "Lee et al., 2015" in plan.explanation
    assert "pathways cross" not in plan.explanation
    (site,) = plan.sites
    assert site.position.side == "midline"
    assert site.position.from_vertex_cm == pytest.approx(3.0, abs=0.05)
    assert site.mni is not None
    assert site.mni.site is TargetSite.SMC
    assert site.mni.talairach_mm == (-2.0, -7.0, 55.0)
    assert site.mni.x_mm <= 0
    names = {a.name for a in site.alternatives}
    assert "FCz" in names
    assert "SMC (midline, Cz +5 cm)" in names
    assert any("mesial" in n for n in site.notes)
    assert site.beam is None
    assert site.five_cm_rule is None


def test_smc_bilateral_and_offset(head: HeadMeasurements) -> None:
    amp = Amputation(side="left", limb="lower")
    plan = plan_targets(amp, "smc", head, laterality="bilateral")
    left, right = plan.sites
    # one midline site covers both hemispheres' SMC
    assert left.position.x_mm == pytest.approx(right.position.x_mm, abs=1e-9)
    assert left.position.y_mm == pytest.approx(right.position.y_mm, abs=1e-9)
    assert left.position.side == right.position.side == "midline"
    assert left.mni is not None
    assert right.mni is not None
    assert left.mni.x_mm < 0 < right.mni.x_mm
    offset = plan_targets(amp, "smc", head, smc_lateral_cm=1.0)
    (site,) = offset.sites
    assert offset.hemisphere is Hemisphere.RIGHT
    assert site.position.side == "right"
    with pytest.raises(ValueError, match="smc_lateral_cm"):
        plan_targets(amp, "smc", head, smc_lateral_cm=2.0)


def test_m1_plan_uses_mni_not_talairach(head: HeadMeasurements) -> None:
    """Mayka et al. (2006) M1 is Talairach: the plan carries the converted MNI."""
    plan = plan_targets(Amputation(side="left", limb="upper"), "m1", head)
    mni = plan.sites[0].mni
    assert mni is not None
    assert mni.talairach_mm == (37.0, -21.0, 58.0)  # right hemisphere, mirrored
    assert mni.xyz_mm != mni.talairach_mm
