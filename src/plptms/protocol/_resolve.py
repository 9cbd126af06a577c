"""Resolve a protocol's relative target to this patient's hemisphere and area."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from ..utils._checks import check_range
from ._models import (
    Amputation,
    Hemisphere,
    Laterality,
    Limb,
    LimbSide,
    Protocol,
    TargetSite,
)

__all__ = ["PlannedBlock", "plan_blocks", "resolve_hemisphere", "resolve_target"]

_OPPOSITE = {LimbSide.LEFT: Hemisphere.RIGHT, LimbSide.RIGHT: Hemisphere.LEFT}
_SAME = {LimbSide.LEFT: Hemisphere.LEFT, LimbSide.RIGHT: Hemisphere.RIGHT}


def resolve_hemisphere(
    laterality: Laterality | None, amputation: Amputation
) -> Hemisphere:
    """Resolve a target's laterality to a hemisphere for this amputation.

    The motor and somatosensory maps are crossed, so the missing limb is represented
    in the hemisphere opposite the amputation (contralateral).

    Parameters
    ----------
    laterality : Laterality | None
        Laterality as written in the protocol (``None``: unreported).
    amputation : Amputation
        The patient's amputation.

    Returns
    -------
    hemisphere : Hemisphere
        Left, right or both.

    Raises
    ------
    ValueError
        If the laterality is unreported, or is relative (contra- or ipsilateral)
        and the amputation is bilateral: the operator must choose the hemisphere.
    """
    if laterality is None:
        raise ValueError(
            "Invalid value for 'laterality': got 'unreported'; allowed values are "
            "'contralateral', 'ipsilateral', 'left', 'right' or 'bilateral' (the "
            "source did not report the side: choose it explicitly)."
        )
    if laterality is Laterality.LEFT:
        return Hemisphere.LEFT
    if laterality is Laterality.RIGHT:
        return Hemisphere.RIGHT
    if laterality is Laterality.BILATERAL:
        return Hemisphere.BOTH
    if amputation.side is LimbSide.BILATERAL:
        raise ValueError(
            f"Invalid value for 'laterality': got {laterality.value!r} with a "
            "bilateral amputation; allowed values are 'left', 'right' or 'bilateral' "
            "(choose the hemisphere explicitly)."
        )
    table = _OPPOSITE if laterality is Laterality.CONTRALATERAL else _SAME
    return table[amputation.side]


def resolve_target(target: TargetSite, amputation: Amputation) -> TargetSite:
    """Resolve M1 with an unreported area to the missing limb's somatotopic area.

    Parameters
    ----------
    target : TargetSite
        Target as written in the protocol.
    amputation : Amputation
        The patient's amputation.

    Returns
    -------
    target : TargetSite
        ``m1_hand`` for an upper-limb and ``m1_leg`` for a lower-limb amputation when
        ``target`` is ``m1``; otherwise ``target`` unchanged.
    """
    if target is not TargetSite.M1:
        return target
    return TargetSite.M1_HAND if amputation.limb is Limb.UPPER else TargetSite.M1_LEG


class PlannedBlock(BaseModel):
    """One block of a protocol resolved for a patient.

    Attributes
    ----------
    label : str
        Block label.
    target : TargetSite
        Target with the somatotopic area resolved.
    hemisphere : Hemisphere
        Hemisphere to stimulate.
    intensity_pct_rmt : float | None
        Intensity, % RMT.
    intensity_pct_mso : float | None
        Intensity, % MSO (``None`` until the RMT is known). Not rounded or clamped:
        the safety engine refuses values the stimulator cannot give.
    explanation : str
        Why this hemisphere and area.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str
    target: TargetSite
    hemisphere: Hemisphere
    intensity_pct_rmt: float | None
    intensity_pct_mso: float | None
    explanation: str


def plan_blocks(
    protocol: Protocol, amputation: Amputation, rmt_pct_mso: float | None = None
) -> tuple[PlannedBlock, ...]:
    """Resolve every block of ``protocol`` for one patient.

    Parameters
    ----------
    protocol : Protocol
        The protocol.
    amputation : Amputation
        The patient's amputation.
    rmt_pct_mso : float | None
        The patient's RMT, % MSO, in (0, 100].

    Returns
    -------
    blocks : tuple of PlannedBlock
        Resolved target, hemisphere and intensity per block.

    Raises
    ------
    ValueError
        If a laterality cannot be resolved or ``rmt_pct_mso`` is out of range.
    """
    if rmt_pct_mso is not None:
        check_range(
            rmt_pct_mso, "rmt_pct_mso", 0.0, 100.0, low_inclusive=False, unit="% MSO"
        )
    out = []
    for b in protocol.blocks:
        d = b.dose
        hemi = resolve_hemisphere(d.laterality, amputation)
        target = resolve_target(d.target, amputation)
        why = [
            f"{amputation.side.value} {amputation.limb.value}-limb amputation",
        ]
        if d.laterality in (Laterality.CONTRALATERAL, Laterality.IPSILATERAL):
            why.append(
                f"{d.laterality.value} target -> {hemi.value} hemisphere"
                + (
                    " (sensorimotor maps are crossed)"
                    if d.laterality is Laterality.CONTRALATERAL
                    else ""
                )
            )
        if d.target is TargetSite.M1:
            why.append(
                f"M1 area not given by the source -> the missing limb's area "
                f"({target.value})"
            )
        mso = None
        if rmt_pct_mso is not None and d.intensity_pct_rmt is not None:
            mso = d.intensity_pct_rmt * rmt_pct_mso / 100.0
        out.append(
            PlannedBlock(
                label=b.label,
                target=target,
                hemisphere=hemi,
                intensity_pct_rmt=d.intensity_pct_rmt,
                intensity_pct_mso=mso,
                explanation="; ".join(why),
            )
        )
    return tuple(out)
