"""Talairach <-> MNI with the Lancaster 2007 icbm2tal transform; Mayka 2006 centres.

The matrices below are written out from the source, not imported from plptms: the
GingerALE functions icbm_fsl2tal.m, icbm_spm2tal.m (tal2icbm_spm.m) and
icbm_other2tal.m (ric.uthscsa.edu, 3/14/07), as redistributed in
ThomasYeoLab/CBIG, external_packages/matlab/transforms/ (Lancaster et al., 2007,
Hum Brain Mapp 28:1194).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plptms.protocol import Hemisphere, TargetSite
from plptms.targeting import (
    DEFAULT_TALAIRACH_TRANSFORM,
    MNI_TARGETS,
    TalairachTransform,
    mni_target,
    mni_to_talairach,
    talairach_to_mni,
)
from plptms.targeting._constants import (
    M1_TAL_MAYKA2006_MM,
    S1_TAL_MAYKA2006_MM,
    SMA_PROPER_TAL_MAYKA2006_MM,
)

#: icbm_fsl2tal.m: Talairach = M @ [x y z 1] of an FSL-fitted ICBM-152 MNI point.
ICBM_FSL2TAL = (
    (0.9464, 0.0034, -0.0026, -1.0680),
    (-0.0083, 0.9479, -0.0580, -1.0239),
    (0.0053, 0.0617, 0.9010, 3.1883),
)
#: icbm_spm2tal.m (inverted in tal2icbm_spm.m): SPM2-fitted ICBM-152.
ICBM_SPM2TAL = (
    (0.9254, 0.0024, -0.0118, -1.0207),
    (-0.0048, 0.9316, -0.0871, -1.7667),
    (0.0152, 0.0883, 0.8924, 4.0926),
)
#: icbm_other2tal.m: templates other than SPM's and FSL's.
ICBM_OTHER2TAL = (
    (0.9357, 0.0029, -0.0072, -1.0423),
    (-0.0065, 0.9396, -0.0726, -1.3940),
    (0.0103, 0.0752, 0.8967, 3.6475),
)
MATRICES = {
    "fsl": ICBM_FSL2TAL,
    "spm": ICBM_SPM2TAL,
    "other": ICBM_OTHER2TAL,
}

#: Floating-point agreement of two evaluations of the same affine map, mm.
EXACT_ATOL_MM = 1e-9
#: Derived MNI coordinates are rounded to 0.1 mm; mapped back through a matrix
#: whose rows sum (in absolute value) to < 1.04, each Talairach coordinate moves by
#: at most 1.04 * 0.05 mm.
ROUNDED_ATOL_MM = 0.06
#: Round trip Talairach -> MNI -> Talairach in floating point, mm.
ROUND_TRIP_ATOL_MM = 1e-9


def _by_hand(matrix: tuple[tuple[float, ...], ...], p: tuple[float, ...]) -> list:
    """Apply a 3 x 4 affine to a point, written out term by term."""
    return [row[0] * p[0] + row[1] * p[1] + row[2] * p[2] + row[3] for row in matrix]


def test_published_talairach_values_are_stored() -> None:
    """Mayka et al. (2006) centres are stored as published, in Talairach space.

    M1 (-37, -21, 58) and S1 (-40, -24, 50) as in shared/domain/REFERENCES.md (two
    public transcriptions agree); SMA proper (-2, -7, 55) from a public
    transcription of the paper's centres (not verified in the paper).
    """
    assert M1_TAL_MAYKA2006_MM == (-37.0, -21.0, 58.0)
    assert S1_TAL_MAYKA2006_MM == (-40.0, -24.0, 50.0)
    assert SMA_PROPER_TAL_MAYKA2006_MM == (-2.0, -7.0, 55.0)
    for key, tal in (
        ("m1_hand_mayka2006", M1_TAL_MAYKA2006_MM),
        ("s1_mayka2006", S1_TAL_MAYKA2006_MM),
        ("smc_sma_proper_mayka2006", SMA_PROPER_TAL_MAYKA2006_MM),
    ):
        coord = MNI_TARGETS[key]
        assert coord.talairach_mm == tal
        assert coord.talairach_transform is TalairachTransform.FSL
        assert "lancaster2007" in coord.bibkeys
        assert "mayka2006" in coord.bibkeys
        assert not coord.verified


@pytest.mark.parametrize("key", ["m1_hand_mayka2006", "s1_mayka2006"])
def test_mayka_mni_is_the_inverse_lancaster_image(key: str) -> None:
    """The targets use MNI: Lancaster 2007 icbm_fsl2tal maps them back to Mayka.

    Mayka et al. (2006) published Talairach coordinates (REFERENCES.md); the MNI
    target applied to the published icbm_fsl2tal matrix (Lancaster et al., 2007),
    by hand here, must give the published Talairach point again.
    """
    coord = MNI_TARGETS[key]
    assert coord.talairach_mm is not None
    tal = _by_hand(ICBM_FSL2TAL, coord.xyz_mm)
    for got, want in zip(tal, coord.talairach_mm, strict=True):
        assert got == pytest.approx(want, abs=ROUNDED_ATOL_MM)


def test_smc_mni_is_the_inverse_lancaster_image() -> None:
    """SMA proper (Mayka et al., 2006), MNI via the inverse of Lancaster et al. 2007."""
    coord = mni_target(TargetSite.SMC, Hemisphere.LEFT)
    tal = _by_hand(ICBM_FSL2TAL, coord.xyz_mm)
    for got, want in zip(tal, SMA_PROPER_TAL_MAYKA2006_MM, strict=True):
        assert got == pytest.approx(want, abs=ROUNDED_ATOL_MM)
    # mesial: within 2 mm of the midline, left of it
    assert -2.0 < coord.x_mm <= 0.0


@pytest.mark.parametrize(
    ("key", "tal"),
    [
        ("m1_hand_mayka2006", M1_TAL_MAYKA2006_MM),
        ("s1_mayka2006", S1_TAL_MAYKA2006_MM),
        ("smc_sma_proper_mayka2006", SMA_PROPER_TAL_MAYKA2006_MM),
    ],
)
def test_conversion_moves_mayka_centres_about_5_mm(
    key: str, tal: tuple[float, float, float]
) -> None:
    """Converting Mayka's Talairach centres to MNI moves them by about 5 mm.

    REFERENCES.md (Mayka et al., 2006 with the inverse Lancaster et al., 2007
    icbm2tal) says about 5 mm; Lancaster's abstract reports MNI/Talairach
    disparities of 5-13 mm before correction. The MNI point must also lie
    higher (z) and more anterior (y): ICBM-152 brains are larger and tilted nose
    down relative to Talairach (Lancaster et al., 2007, abstract).
    """
    mni = MNI_TARGETS[key].xyz_mm
    shift = math.dist(mni, tal)
    assert 4.0 < shift < 6.5
    assert mni[2] > tal[2]
    assert mni[1] > tal[1]


@pytest.mark.parametrize("variant", ["fsl", "spm", "other"])
@pytest.mark.parametrize(
    "point", [(0.0, 0.0, 0.0), (-37.0, -21.0, 58.0), (44.0, 21.0, 34.0)]
)
def test_forward_matches_published_matrix(
    variant: str, point: tuple[float, float, float]
) -> None:
    """mni_to_talairach applies the published Lancaster et al. (2007) matrices."""
    got = mni_to_talairach(point, variant)
    want = _by_hand(MATRICES[variant], point)
    for g, w in zip(got, want, strict=True):
        assert g == pytest.approx(w, abs=EXACT_ATOL_MM)


@pytest.mark.parametrize("variant", ["fsl", "spm", "other"])
def test_inverse_of_origin(variant: str) -> None:
    """Talairach origin to MNI: the solution of A m = -t, checked by hand.

    Lancaster et al. (2007): tal = A @ mni + t, so mni(0) solves A m + t = 0;
    the hand-applied matrix must map the returned point to the origin.
    """
    mni = talairach_to_mni((0.0, 0.0, 0.0), variant)
    for v in _by_hand(MATRICES[variant], mni):
        assert v == pytest.approx(0.0, abs=EXACT_ATOL_MM)


finite = st.floats(min_value=-100.0, max_value=100.0, allow_nan=False)


@settings(max_examples=50, deadline=None)
@given(
    x=finite,
    y=finite,
    z=finite,
    variant=st.sampled_from(["fsl", "spm", "other"]),
)
def test_round_trip(x: float, y: float, z: float, variant: str) -> None:
    """Talairach -> MNI -> Talairach is the identity (Lancaster et al., 2007)."""
    back = mni_to_talairach(talairach_to_mni((x, y, z), variant), variant)
    for got, want in zip(back, (x, y, z), strict=True):
        assert got == pytest.approx(want, abs=ROUND_TRIP_ATOL_MM)


def test_default_is_fsl() -> None:
    """plptms converts with the FSL variant (SimNIBS-style MNI152 space)."""
    assert DEFAULT_TALAIRACH_TRANSFORM is TalairachTransform.FSL
    assert talairach_to_mni((-37, -21, 58)) == talairach_to_mni((-37, -21, 58), "fsl")


def test_right_hemisphere_is_mirrored_in_talairach() -> None:
    """Right M1: Mayka's (+37, -21, 58) Talairach converted, not x -> -x in MNI.

    The icbm_fsl2tal matrix (Lancaster et al., 2007) has an x offset of about
    -1.07 mm, so the hand-applied matrix must return the mirrored Talairach point.
    """
    right = mni_target(TargetSite.M1_HAND, Hemisphere.RIGHT)
    assert right.mirrored
    assert right.talairach_mm == (37.0, -21.0, 58.0)
    tal = _by_hand(ICBM_FSL2TAL, right.xyz_mm)
    for got, want in zip(tal, (37.0, -21.0, 58.0), strict=True):
        assert got == pytest.approx(want, abs=ROUNDED_ATOL_MM)
    left = mni_target(TargetSite.M1_HAND, Hemisphere.LEFT)
    assert abs(right.x_mm) - abs(left.x_mm) > 2.0  # the offset, twice over
    assert right.mirror() == left


@pytest.mark.parametrize(
    ("args", "error", "field"),
    [
        (((1.0, 2.0, 3.0), "afni"), ValueError, "transform"),
        (((1.0, 2.0),), ValueError, "xyz_mm"),
        (((1.0, float("nan"), 3.0),), ValueError, "xyz_mm"),
        (("123",), TypeError, "xyz_mm"),
        (((1.0, "a", 3.0),), TypeError, "xyz_mm"),
    ],
)
def test_errors(args: tuple, error: type[Exception], field: str) -> None:
    for func in (talairach_to_mni, mni_to_talairach):
        with pytest.raises(error, match=field):
            func(*args)
