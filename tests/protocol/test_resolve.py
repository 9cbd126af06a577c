"""Resolving relative targets for a patient."""

from __future__ import annotations

import pytest

from plptms.protocol import (
    Amputation,
    Hemisphere,
    Laterality,
    TargetSite,
    plan_blocks,
    resolve_hemisphere,
    resolve_target,
)


@pytest.mark.parametrize(
    ("lat", "side", "expected"),
    [
        ("contralateral", "left", "right"),
        ("contralateral", "right", "left"),
        ("ipsilateral", "left", "left"),
        ("ipsilateral", "right", "right"),
        ("left", "right", "left"),
        ("right", "bilateral", "right"),
        ("bilateral", "left", "both"),
    ],
)
def test_resolve_hemisphere(lat: str, side: str, expected: str) -> None:
    amp = Amputation(side=side, limb="lower")
    assert resolve_hemisphere(Laterality(lat), amp) is Hemisphere(expected)


def test_bilateral_amputation_needs_explicit_side() -> None:
    amp = Amputation(side="bilateral", limb="lower")
    with pytest.raises(ValueError, match="laterality"):
        resolve_hemisphere(Laterality.CONTRALATERAL, amp)
    with pytest.raises(ValueError, match="laterality"):
        resolve_hemisphere(None, Amputation(side="left", limb="upper"))


def test_resolve_target() -> None:
    up = Amputation(side="left", limb="upper")
    low = Amputation(side="left", limb="lower")
    assert resolve_target(TargetSite.M1, up) is TargetSite.M1_HAND
    assert resolve_target(TargetSite.M1, low) is TargetSite.M1_LEG
    assert resolve_target(TargetSite.DLPFC, low) is TargetSite.DLPFC


def test_plan_blocks(library) -> None:  # type: ignore[no-untyped-def]
    amp = Amputation(side="right", limb="lower", level="transfemoral")
    plan = plan_blocks(library.protocol("grammer2015-s1-dlpfc"), amp, rmt_pct_mso=50.0)
    assert [(b.label, b.target.value, b.hemisphere.value) for b in plan] == [
        ("S1", "s1", "left"),
        ("DLPFC", "dlpfc", "left"),
    ]
    assert plan[1].intensity_pct_mso == pytest.approx(60.0, rel=1e-12)
    assert "crossed" in plan[0].explanation
    with pytest.raises(ValueError, match="rmt_pct_mso"):
        plan_blocks(library.protocol("wang2022-m1-1hz"), amp, rmt_pct_mso=0.0)
