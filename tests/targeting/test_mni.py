"""MNI targets: citations resolve, verification flags, mirroring."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from plptms.protocol import Hemisphere, TargetSite
from plptms.targeting import MNI_TARGETS, mni_target
from plptms.targeting._constants import (
    DLPFC_MNI_FITZGERALD2009_MM,
    DLPFC_MNI_MIRMOGHTADAEI2015_MM,
)

BIB = (Path(__file__).parents[2] / "docs" / "references.bib").read_text()
BIB_KEYS = set(re.findall(r"@\w+\{([\w-]+),", BIB))


@pytest.mark.parametrize("key", sorted(MNI_TARGETS))
def test_citations_resolve(key: str) -> None:
    coord = MNI_TARGETS[key]
    assert coord.bibkeys
    assert set(coord.bibkeys) <= BIB_KEYS
    assert coord.hemisphere is Hemisphere.LEFT
    assert coord.x_mm <= 0
    assert coord.note


def test_verified_flags() -> None:
    verified = {k for k, c in MNI_TARGETS.items() if c.verified}
    assert verified == {"dlpfc_mirmoghtadaei2015"}


def test_default_dlpfc() -> None:
    c = mni_target("dlpfc", "left")
    assert c.xyz_mm == DLPFC_MNI_MIRMOGHTADAEI2015_MM
    assert c.verified
    assert not c.mirrored


def test_right_is_mirrored() -> None:
    """Published MNI coordinates are mirrored as x -> -x (Mir-Moghtadaei, 2015)."""
    c = mni_target(TargetSite.DLPFC, Hemisphere.RIGHT)
    x, y, z = DLPFC_MNI_MIRMOGHTADAEI2015_MM
    assert c.xyz_mm == (-x, y, z)
    assert c.mirrored
    assert c.hemisphere is Hemisphere.RIGHT
    assert c.talairach_mm is None
    assert c.mirror().xyz_mm == DLPFC_MNI_MIRMOGHTADAEI2015_MM
    assert not c.mirror().mirrored


def test_mayka_targets_are_not_the_talairach_numbers() -> None:
    """Mayka et al. (2006) M1 (-37, -21, 58) is Talairach: the MNI target differs.

    REFERENCES.md: the coordinates are Talairach, not MNI; the MNI target is the
    converted point (checked against the Lancaster 2007 matrix in
    test_talairach.py), not the published numbers.
    """
    c = mni_target(TargetSite.M1_HAND, Hemisphere.LEFT)
    assert c.talairach_mm == (-37.0, -21.0, 58.0)
    assert c.xyz_mm != c.talairach_mm
    assert "Talairach" in c.note


def test_choose_key() -> None:
    c = mni_target("dlpfc", "left", key="dlpfc_fitzgerald2009")
    assert c.xyz_mm == DLPFC_MNI_FITZGERALD2009_MM
    assert not c.verified


def test_smc_has_a_coordinate() -> None:
    """SMC (Lee et al., 2015) gets Mayka's (2006) SMA-proper centre, not verified."""
    c = mni_target("smc", "left")
    assert c.site is TargetSite.SMC
    assert c.key == "smc_sma_proper_mayka2006"
    assert not c.verified
    assert "not verified" in c.note
    right = mni_target("smc", "right")
    assert right.x_mm > 0
    assert right.talairach_mm == (2.0, -7.0, 55.0)


def test_talairach_pair_validated() -> None:
    c = mni_target("dlpfc", "left")
    with pytest.raises(ValueError, match="talairach_transform"):
        type(c).model_validate({**c.model_dump(), "talairach_mm": (1.0, 2.0, 3.0)})


@pytest.mark.parametrize(
    ("args", "kwargs", "field"),
    [
        (("m1", "left"), {}, "site"),
        (("dlpfc", "both"), {}, "hemisphere"),
        (("dlpfc", "left"), {"key": "m1_hand_mayka2006"}, "key"),
        (("smc", "left"), {"key": "s1_mayka2006"}, "key"),
        (("v1", "left"), {}, "site"),
    ],
)
def test_errors(args: tuple[str, str], kwargs: dict[str, str], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        mni_target(*args, **kwargs)
