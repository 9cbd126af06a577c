"""MNI targets: citations resolve, verification flags, mirroring."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from plptms.protocol import Hemisphere, TargetSite
from plptms.targeting import MNI_TARGETS, mni_target
from plptms.targeting._constants import (
    DLPFC_MNI_MIRMOGHTADAEI2015_MM,
    M1_HAND_MNI_MAYKA2006_MM,
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
    c = mni_target(TargetSite.M1_HAND, Hemisphere.RIGHT)
    x, y, z = M1_HAND_MNI_MAYKA2006_MM
    assert c.xyz_mm == (-x, y, z)
    assert c.mirrored
    assert c.hemisphere is Hemisphere.RIGHT
    assert c.mirror().xyz_mm == M1_HAND_MNI_MAYKA2006_MM
    assert not c.mirror().mirrored


def test_choose_key() -> None:
    c = mni_target("dlpfc", "left", key="dlpfc_fitzgerald2009")
    assert c.xyz_mm == (-46.0, 45.0, 38.0)
    assert not c.verified


@pytest.mark.parametrize(
    ("args", "kwargs", "field"),
    [
        (("m1", "left"), {}, "site"),
        (("dlpfc", "both"), {}, "hemisphere"),
        (("dlpfc", "left"), {"key": "m1_hand_mayka2006"}, "key"),
        (("v1", "left"), {}, "site"),
    ],
)
def test_errors(args: tuple[str, str], kwargs: dict[str, str], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        mni_target(*args, **kwargs)
