"""Resolving relative targets for a patient."""

from __future__ import annotations

import pytest

from plptms.protocol import (
    Amputation,
    Hemisphere,
    Laterality,
    TargetBasis,
    TargetDeviation,
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


def test_studied_hand_area_kept_for_leg_amputees(library) -> None:  # type: ignore[no-untyped-def]
    """Malavera et al. (2016) and Ahmed et al. (2011) stimulated the hand area.

    Both trials stimulated the M1 hand area in leg amputees; the plan keeps it.
    """
    amp = Amputation(side="left", limb="lower", level="transtibial")
    for pid in ("malavera2016-m1-10hz", "ahmed2011-m1-20hz"):
        (b,) = plan_blocks(library.protocol(pid), amp)
        assert b.target is TargetSite.M1_HAND
        assert b.studied_target is TargetSite.M1_HAND
        assert b.basis is TargetBasis.STUDIED
        assert b.studied
        assert b.hemisphere is Hemisphere.RIGHT
        assert "m1_leg" not in b.explanation


def test_generic_m1_area_is_inferred_not_studied(library) -> None:  # type: ignore[no-untyped-def]
    amp = Amputation(side="right", limb="lower")
    (b,) = plan_blocks(library.protocol("wang2022-m1-1hz"), amp)
    assert b.target is TargetSite.M1_LEG
    assert b.studied_target is TargetSite.M1
    assert b.basis is TargetBasis.INFERRED
    assert not b.studied
    assert "inferred, not studied" in b.explanation


def test_dirollo_plans_the_unaffected_hemisphere(library) -> None:  # type: ignore[no-untyped-def]
    """Di Rollo & Pallanti (2011): the hemisphere on the amputation's side."""
    (b,) = plan_blocks(
        library.protocol("dirollo2011-m1-1hz"), Amputation(side="left", limb="upper")
    )
    assert b.hemisphere is Hemisphere.LEFT


def test_target_deviation_is_recorded_and_not_studied(library) -> None:  # type: ignore[no-untyped-def]
    amp = Amputation(side="left", limb="lower")
    p = library.protocol("malavera2016-m1-10hz")
    dev = TargetDeviation(
        block="M1",
        target="m1_leg",
        reason="leg representation for a leg amputee",
        operator="dr a",
    )
    (b,) = plan_blocks(p, amp, deviations=[dev])
    assert b.target is TargetSite.M1_LEG
    assert b.studied_target is TargetSite.M1_HAND
    assert b.basis is TargetBasis.NOT_STUDIED
    assert b.deviation == dev
    assert "NOT STUDIED" in b.explanation
    assert "dr a" in b.explanation
    # the same through "*" (every block)
    (star,) = plan_blocks(p, amp, deviations=[dev.model_copy(update={"block": "*"})])
    assert star.target is TargetSite.M1_LEG


def test_target_deviation_errors(library) -> None:  # type: ignore[no-untyped-def]
    amp = Amputation(side="left", limb="lower")
    p = library.protocol("malavera2016-m1-10hz")
    with pytest.raises(ValueError, match=r"'deviation.block'.*'M1'"):
        plan_blocks(
            p,
            amp,
            deviations=[
                TargetDeviation(
                    block="S1", target="s1", reason="no such block here", operator="a"
                )
            ],
        )
    with pytest.raises(ValueError, match=r"'deviation.target'.*studied target"):
        plan_blocks(
            p,
            amp,
            deviations=[
                TargetDeviation(
                    target="m1_hand", reason="the same target", operator="a"
                )
            ],
        )
    dev = TargetDeviation(target="m1_leg", reason="a long enough reason", operator="a")
    with pytest.raises(ValueError, match="twice"):
        plan_blocks(p, amp, deviations=[dev, dev])
    with pytest.raises(TypeError, match="deviations"):
        plan_blocks(p, amp, deviations=["m1_leg"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="reason"):
        TargetDeviation(target="m1_leg", reason="short", operator="a")
    with pytest.raises(ValueError, match="target"):
        TargetDeviation(target="leg", reason="a long enough reason", operator="a")  # type: ignore[arg-type]


def test_smc_is_resolved_with_its_published_laterality(library) -> None:  # type: ignore[no-untyped-def]
    """Lee et al. (2015): the SMC of the affected hemisphere (opposite the amputation).

    The SMC sits next to the midline; plptms keeps the laterality as written and
    says that the field may reach both hemispheres.
    """
    amp = Amputation(side="right", limb="lower", level="transfemoral")
    (b,) = plan_blocks(library.protocol("lee2015-smc-1hz"), amp, rmt_pct_mso=40.0)
    assert b.target is TargetSite.SMC
    assert b.hemisphere is Hemisphere.LEFT
    assert b.basis is TargetBasis.STUDIED
    assert "midline" in b.explanation
    assert b.intensity_pct_mso == pytest.approx(0.85 * 40.0, rel=1e-12)
    assert resolve_target(TargetSite.SMC, amp) is TargetSite.SMC
    assert resolve_hemisphere(Laterality.BILATERAL, amp) is Hemisphere.BOTH
