"""Stereotaxic (MNI) target coordinates used for neuronavigation."""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from ..protocol._models import Hemisphere, TargetSite
from ..utils._checks import check_option
from ._constants import (
    DLPFC_MNI_FITZGERALD2009_MM,
    DLPFC_MNI_MIRMOGHTADAEI2015_MM,
    M1_HAND_MNI_MAYKA2006_MM,
    M1_LEG_MNI_APPROX_MM,
    S1_MNI_MAYKA2006_MM,
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

    @property
    def xyz_mm(self) -> tuple[float, float, float]:
        """The coordinate as a tuple, mm."""
        return (self.x_mm, self.y_mm, self.z_mm)

    def mirror(self) -> MNICoordinate:
        """Return the coordinate mirrored to the other hemisphere (x -> -x).

        Returns
        -------
        coordinate : MNICoordinate
            The mirror image, flagged ``mirrored`` (or unflagged when mirroring a
            mirror image back).
        """
        other = (
            Hemisphere.RIGHT if self.hemisphere is Hemisphere.LEFT else Hemisphere.LEFT
        )
        return self.model_copy(
            update={
                "hemisphere": other,
                "x_mm": -self.x_mm,
                "mirrored": not self.mirrored,
            }
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


#: Literature MNI coordinates, left hemisphere as published, by key.
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
            _left(
                "m1_hand_mayka2006",
                TargetSite.M1_HAND,
                M1_HAND_MNI_MAYKA2006_MM,
                "Mayka et al., 2006",
                ("mayka2006",),
                False,
                "M1 centre of a meta-analysis, used as the hand-knob target in the "
                "SimNIBS examples; reported in Talairach space for M1 as a whole: "
                "to verify. Find the hand hotspot with MEPs.",
            ),
            _left(
                "s1_mayka2006",
                TargetSite.S1,
                S1_MNI_MAYKA2006_MM,
                "Mayka et al., 2006",
                ("mayka2006",),
                False,
                "S1 centre of a meta-analysis (Talairach in the paper, per a "
                "public transcription): to verify.",
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
}


def mni_target(
    site: TargetSite | str,
    hemisphere: Hemisphere | str,
    *,
    key: str | None = None,
) -> MNICoordinate:
    """Return a literature MNI coordinate for a target in one hemisphere.

    Parameters
    ----------
    site : TargetSite | str
        ``dlpfc``, ``m1_hand``, ``m1_leg`` or ``s1`` (resolve ``m1`` first with
        :func:`plptms.protocol.resolve_target`).
    hemisphere : Hemisphere | str
        ``left`` or ``right``; right-hemisphere coordinates are the mirror image of
        the published left ones.
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
