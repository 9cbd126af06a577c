"""Stereotaxic (MNI) target coordinates used for neuronavigation.

Coordinates published in MNI space are used as published. Coordinates published in
Talairach space (the Mayka et al., 2006 meta-analysis centres :footcite:`mayka2006`)
are kept as published in :attr:`MNICoordinate.talairach_mm` and converted to MNI
with the inverse of the Lancaster et al. (2007) icbm2tal transform
:footcite:`lancaster2007` (FSL variant, see :mod:`plptms.targeting._talairach`);
the conversion moves them by about 5 mm. Derived MNI values are rounded to 0.1 mm.

.. footbibliography::
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, model_validator

from ..protocol import Hemisphere, TargetSite
from ..utils import check_option
from ._constants import (
    DLPFC_MNI_FITZGERALD2009_MM,
    DLPFC_MNI_MIRMOGHTADAEI2015_MM,
    M1_LEG_MNI_APPROX_MM,
    M1_TAL_MAYKA2006_MM,
    S1_TAL_MAYKA2006_MM,
    SMA_PROPER_TAL_MAYKA2006_MM,
)
from ._talairach import (
    DEFAULT_TALAIRACH_TRANSFORM,
    TalairachTransform,
    talairach_to_mni,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["MNI_TARGETS", "MNICoordinate", "mni_target"]


class MNICoordinate(BaseModel):
    """An MNI coordinate for neuronavigation, with its source.

    Parameters
    ----------
    key : str
        Identifier in :data:`MNI_TARGETS`.
    site : TargetSite
        Cortical target.
    hemisphere : Hemisphere
        ``left`` or ``right``.
    x_mm, y_mm, z_mm : float
        MNI coordinates, mm.
    citation : str
        Author and year.
    bibkeys : tuple of str
        Keys in ``docs/references.bib``.
    verified : bool
        Whether the coordinate was read in the cited source (or its abstract).
    mirrored : bool
        True when the published left-hemisphere coordinate was mirrored (x -> -x)
        for the right hemisphere; the mirror image was not itself validated.
    note : str
        What the coordinate is and what remains to verify.
    talairach_mm : tuple of float | None
        The Talairach coordinate the MNI one was derived from (as published, or
        its mirror image), mm; ``None`` for coordinates published in MNI space.
    talairach_transform : TalairachTransform | None
        The Lancaster et al. (2007) variant used for the conversion (``None``
        exactly when ``talairach_mm`` is).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    site: TargetSite
    hemisphere: Hemisphere
    x_mm: float
    y_mm: float
    z_mm: float
    citation: str
    bibkeys: tuple[str, ...]
    verified: bool
    mirrored: bool = False
    note: str = ""
    talairach_mm: tuple[float, float, float] | None = None
    talairach_transform: TalairachTransform | None = None

    @model_validator(mode="after")
    def _talairach_pair(self) -> MNICoordinate:
        if (self.talairach_mm is None) != (self.talairach_transform is None):
            raise ValueError(
                "Invalid value for 'talairach_transform': got "
                f"{self.talairach_transform!r} with talairach_mm "
                f"{self.talairach_mm!r}; allowed: both given or both None."
            )
        return self

    @property
    def xyz_mm(self) -> tuple[float, float, float]:
        """The coordinate as a tuple, mm."""
        return (self.x_mm, self.y_mm, self.z_mm)

    def mirror(self) -> MNICoordinate:
        """Return the coordinate mirrored to the other hemisphere.

        An MNI coordinate is mirrored as x -> -x. One derived from Talairach is
        mirrored in Talairach space and converted again with the same transform:
        the Lancaster et al. (2007) transform is not symmetric about x = 0 (its x
        offset is about 1 mm), so the two hemispheres' MNI points differ in |x|.

        Returns
        -------
        coordinate : MNICoordinate
            The mirror image, flagged ``mirrored`` (or unflagged when mirroring a
            mirror image back).
        """
        other = (
            Hemisphere.RIGHT if self.hemisphere is Hemisphere.LEFT else Hemisphere.LEFT
        )
        update: dict[str, object] = {
            "hemisphere": other,
            "x_mm": -self.x_mm,
            "mirrored": not self.mirrored,
        }
        if self.talairach_mm is not None and self.talairach_transform is not None:
            tx, ty, tz = self.talairach_mm
            tal = (-tx, ty, tz)
            x, y, z = _rounded(talairach_to_mni(tal, self.talairach_transform))
            update.update({"talairach_mm": tal, "x_mm": x, "y_mm": y, "z_mm": z})
        return self.model_copy(update=update)


def _rounded(xyz: tuple[float, float, float]) -> tuple[float, float, float]:
    """Round a derived coordinate to 0.1 mm (the transform is good to 1-2 mm)."""
    return (round(xyz[0], 1), round(xyz[1], 1), round(xyz[2], 1))


def _from_talairach(
    key: str,
    site: TargetSite,
    talairach: tuple[float, float, float],
    citation: str,
    bibkeys: tuple[str, ...],
    verified: bool,
    note: str,
) -> MNICoordinate:
    transform = DEFAULT_TALAIRACH_TRANSFORM
    x, y, z = _rounded(talairach_to_mni(talairach, transform))
    return MNICoordinate(
        key=key,
        site=site,
        hemisphere=Hemisphere.LEFT,
        x_mm=x,
        y_mm=y,
        z_mm=z,
        citation=citation,
        bibkeys=(*bibkeys, "lancaster2007"),
        verified=verified,
        note=note,
        talairach_mm=talairach,
        talairach_transform=transform,
    )


def _left(
    key: str,
    site: TargetSite,
    xyz: tuple[float, float, float],
    citation: str,
    bibkeys: tuple[str, ...],
    verified: bool,
    note: str,
) -> MNICoordinate:
    return MNICoordinate(
        key=key,
        site=site,
        hemisphere=Hemisphere.LEFT,
        x_mm=xyz[0],
        y_mm=xyz[1],
        z_mm=xyz[2],
        citation=citation,
        bibkeys=bibkeys,
        verified=verified,
        note=note,
    )


#: Literature MNI coordinates (published or derived from Talairach), left
#: hemisphere, by key.
MNI_TARGETS: Mapping[str, MNICoordinate] = MappingProxyType(
    {
        c.key: c
        for c in (
            _left(
                "dlpfc_mirmoghtadaei2015",
                TargetSite.DLPFC,
                DLPFC_MNI_MIRMOGHTADAEI2015_MM,
                "Mir-Moghtadaei et al., 2015",
                ("mirmoghtadaei2015",),
                True,
                "Left DLPFC target used as the MRI-guided site when testing Beam F3 "
                "(abstract). Often attributed to Fox et al. (2012): to verify.",
            ),
            _left(
                "dlpfc_fitzgerald2009",
                TargetSite.DLPFC,
                DLPFC_MNI_FITZGERALD2009_MM,
                "Fitzgerald et al., 2009 (as tabulated by Fox et al., 2012)",
                ("fitzgerald2009", "fox2012"),
                False,
                "Taken from secondary sources; to verify in both papers.",
            ),
            _from_talairach(
                "m1_hand_mayka2006",
                TargetSite.M1_HAND,
                M1_TAL_MAYKA2006_MM,
                "Mayka et al., 2006 (Talairach); Lancaster et al., 2007 (to MNI)",
                ("mayka2006",),
                False,
                "M1 centre of a meta-analysis, Talairach (-37, -21, 58) as "
                "published, for M1 as a whole (not hand-specific); converted to MNI "
                "with the inverse Lancaster 2007 transform (FSL). The SimNIBS "
                "examples use the Talairach numbers as MNI. Values from public "
                "transcriptions: not verified. Find the hand hotspot with MEPs.",
            ),
            _from_talairach(
                "s1_mayka2006",
                TargetSite.S1,
                S1_TAL_MAYKA2006_MM,
                "Mayka et al., 2006 (Talairach); Lancaster et al., 2007 (to MNI)",
                ("mayka2006",),
                False,
                "S1 centre of a meta-analysis, Talairach (-40, -24, 50) as "
                "published; converted to MNI with the inverse Lancaster 2007 "
                "transform (FSL). Public transcriptions only: not verified.",
            ),
            _from_talairach(
                "smc_sma_proper_mayka2006",
                TargetSite.SMC,
                SMA_PROPER_TAL_MAYKA2006_MM,
                "Mayka et al., 2006 (Talairach); Lancaster et al., 2007 (to MNI)",
                ("mayka2006",),
                False,
                "SMA-proper centre of a meta-analysis, Talairach (-2, -7, 55) as "
                "published, on the mesial surface next to the midline; converted to "
                "MNI with the inverse Lancaster 2007 transform (FSL). One public "
                "transcription: not verified. Lee et al. (2015, abstract) targeted "
                "the SMC of the 'affected' hemisphere with neuronavigation; their "
                "coordinate was not found.",
            ),
            _left(
                "m1_leg_approx",
                TargetSite.M1_LEG,
                M1_LEG_MNI_APPROX_MM,
                "plptms approximation",
                ("design",),
                False,
                "No literature coordinate verified: an approximate mesial precentral "
                "(leg) position near the vertex. Use individual MRI and MEPs.",
            ),
        )
    }
)

_DEFAULT_KEYS = {
    TargetSite.DLPFC: "dlpfc_mirmoghtadaei2015",
    TargetSite.M1_HAND: "m1_hand_mayka2006",
    TargetSite.M1_LEG: "m1_leg_approx",
    TargetSite.S1: "s1_mayka2006",
    TargetSite.SMC: "smc_sma_proper_mayka2006",
}


def mni_target(
    site: TargetSite | str,
    hemisphere: Hemisphere | str,
    *,
    key: str | None = None,
) -> MNICoordinate:
    """Return a literature MNI coordinate for a target in one hemisphere.

    Talairach coordinates (Mayka et al., 2006) come converted to MNI with the
    inverse Lancaster et al. (2007) transform :footcite:`mayka2006`
    :footcite:`lancaster2007`; the Talairach value is kept on the result.

    Parameters
    ----------
    site : TargetSite | str
        ``dlpfc``, ``m1_hand``, ``m1_leg``, ``s1`` or ``smc`` (resolve ``m1``
        first with :func:`plptms.protocol.resolve_target`).
    hemisphere : Hemisphere | str
        ``left`` or ``right``; right-hemisphere coordinates are the mirror image of
        the published left ones (mirrored in Talairach space, then converted, for
        Talairach-derived ones).
    key : str | None
        A key of :data:`MNI_TARGETS` to choose among several coordinates for the
        site (default: the verified or most used one).

    Returns
    -------
    coordinate : MNICoordinate
        With citation and verification flag.

    Raises
    ------
    ValueError
        If the site has no coordinate, the hemisphere is not ``left`` or
        ``right``, or ``key`` is unknown or belongs to another site.

    References
    ----------
    .. footbibliography::
    """
    site_ = TargetSite(check_option(str(site), "site", [s.value for s in TargetSite]))
    hemi = Hemisphere(check_option(str(hemisphere), "hemisphere", ["left", "right"]))
    if site_ not in _DEFAULT_KEYS:
        raise ValueError(
            f"Invalid value for 'site': got {site_.value!r}; allowed values are "
            f"{[s.value for s in _DEFAULT_KEYS]} (resolve 'm1' to the missing limb's "
            "area with plptms.protocol.resolve_target first)."
        )
    if key is None:
        key = _DEFAULT_KEYS[site_]
    options = [k for k, c in MNI_TARGETS.items() if c.site is site_]
    check_option(key, "key", options)
    coord = MNI_TARGETS[key]
    return coord if hemi is Hemisphere.LEFT else coord.mirror()
