"""Resolve a protocol's relative target to this patient's hemisphere and area.

A library protocol is planned on the target its study used: a study that
stimulated the hand area of M1 in leg amputees (Malavera et al., 2016; Ahmed et al.,
2011) stays on the hand area. Only ``m1`` (M1 with the somatotopic area not
reported) is resolved by the amputation, and the plan then says that the area was
inferred, not studied. Any other target is an explicit, recorded
:class:`TargetDeviation` that the plan shows as not studied.

The supplementary motor complex (``smc``) lies on the medial surface of the frontal
lobe, next to the midline. Lee et al. (2015) aimed at the SMC of the affected
hemisphere with neuronavigation; the protocol's laterality is therefore kept as
written (``contralateral`` resolves to the hemisphere opposite the amputation,
``bilateral`` to both), and the explanation notes that a coil over a midline target
may reach both hemispheres.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..utils import check_range, check_type
from ._models import (
    Amputation,
    Hemisphere,
    Laterality,
    Limb,
    LimbSide,
    Protocol,
    TargetSite,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "PlannedBlock",
    "TargetBasis",
    "TargetDeviation",
    "plan_blocks",
    "resolve_hemisphere",
    "resolve_target",
]

#: Shortest deviation reason accepted, in characters: a reason must say something.
MIN_DEVIATION_REASON_CHARS = 10

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
        ``target`` is ``m1``; otherwise ``target`` unchanged (a studied area such as
        ``m1_hand`` is never moved).
    """
    if target is not TargetSite.M1:
        return target
    return TargetSite.M1_HAND if amputation.limb is Limb.UPPER else TargetSite.M1_LEG


class TargetBasis(StrEnum):
    """Where a planned block's target comes from.

    ``studied``: the target the study used; ``inferred``: the study gave M1 without
    its somatotopic area, and the missing limb's area was chosen (not studied);
    ``not_studied``: an operator's recorded deviation to a target no study of this
    protocol used.
    """

    STUDIED = "studied"
    INFERRED = "inferred"
    NOT_STUDIED = "not_studied"


class TargetDeviation(BaseModel):
    """An operator's recorded decision to plan a block on another target.

    Parameters
    ----------
    block : str
        Block label, or ``"*"`` for every block.
    target : TargetSite
        The target to use instead of the studied one.
    reason : str
        Why (at least 10 characters); shown in the plan and the reports.
    operator : str
        Who decided.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    block: str = Field(default="*", min_length=1)
    target: TargetSite
    reason: str
    operator: str = Field(min_length=1)

    @field_validator("reason")
    @classmethod
    def _check_reason(cls, v: str) -> str:
        if len(v.strip()) < MIN_DEVIATION_REASON_CHARS:
            raise ValueError(
                f"Invalid value for 'reason': got {v!r}; allowed: an explanation of at "
                f"least {MIN_DEVIATION_REASON_CHARS} characters."
            )
        return v.strip()


class PlannedBlock(BaseModel):
    """One block of a protocol resolved for a patient.

    Attributes
    ----------
    label : str
        Block label.
    target : TargetSite
        Target planned, with the somatotopic area resolved.
    hemisphere : Hemisphere
        Hemisphere to stimulate.
    intensity_pct_rmt : float | None
        Intensity, % RMT.
    intensity_pct_mso : float | None
        Intensity, % MSO (``None`` until the RMT is known). Not rounded or clamped:
        the safety engine refuses values the stimulator cannot give.
    explanation : str
        Why this hemisphere and area.
    studied_target : TargetSite | None
        The target as written in the protocol (the study's).
    basis : TargetBasis
        ``studied``, ``inferred`` (M1 area chosen by the amputation) or
        ``not_studied`` (a recorded deviation).
    deviation : TargetDeviation | None
        The recorded deviation, when ``basis`` is ``not_studied``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str
    target: TargetSite
    hemisphere: Hemisphere
    intensity_pct_rmt: float | None
    intensity_pct_mso: float | None
    explanation: str
    studied_target: TargetSite | None = None
    basis: TargetBasis = TargetBasis.STUDIED
    deviation: TargetDeviation | None = None

    @property
    def studied(self) -> bool:
        """Whether the planned target is the one the study used."""
        return self.basis is TargetBasis.STUDIED


def _deviation_for(
    label: str, deviations: Sequence[TargetDeviation]
) -> TargetDeviation | None:
    own = [d for d in deviations if d.block == label]
    return own[0] if own else next((d for d in deviations if d.block == "*"), None)


def _check_deviations(
    protocol: Protocol, deviations: Sequence[TargetDeviation]
) -> None:
    labels = [b.label for b in protocol.blocks]
    seen: set[str] = set()
    for dev in deviations:
        check_type(dev, TargetDeviation, "deviations")
        if dev.block != "*" and dev.block not in labels:
            raise ValueError(
                f"Invalid value for 'deviation.block': got {dev.block!r}; allowed "
                f"values are '*', {', '.join(repr(lab) for lab in labels)}."
            )
        if dev.block in seen:
            raise ValueError(
                f"Invalid value for 'deviation.block': got {dev.block!r} twice; "
                "allowed: one deviation per block."
            )
        seen.add(dev.block)
    for b in protocol.blocks:
        own = _deviation_for(b.label, deviations)
        if own is not None and own.target is b.dose.target:
            raise ValueError(
                f"Invalid value for 'deviation.target': got {own.target.value!r} for "
                f"block {b.label!r}, which is the studied target; allowed: another "
                "target (the studied one needs no deviation)."
            )


def plan_blocks(
    protocol: Protocol,
    amputation: Amputation,
    rmt_pct_mso: float | None = None,
    *,
    deviations: Sequence[TargetDeviation] = (),
) -> tuple[PlannedBlock, ...]:
    """Resolve every block of ``protocol`` for one patient, on its studied target.

    Parameters
    ----------
    protocol : Protocol
        The protocol.
    amputation : Amputation
        The patient's amputation.
    rmt_pct_mso : float | None
        The patient's RMT, % MSO, in (0, 100].
    deviations : sequence of TargetDeviation
        Recorded decisions to plan a block (or every block, ``"*"``) on another
        target; each such block is marked ``not_studied``.

    Returns
    -------
    blocks : tuple of PlannedBlock
        Resolved target, hemisphere and intensity per block. A block keeps the
        protocol's target; only ``m1`` is resolved to the missing limb's area and
        marked ``inferred``.

    Raises
    ------
    TypeError
        If a deviation is not a :class:`TargetDeviation`.
    ValueError
        If a laterality cannot be resolved, ``rmt_pct_mso`` is out of range, or a
        deviation names an unknown block, repeats a block or names the studied
        target.
    """
    if rmt_pct_mso is not None:
        check_range(
            rmt_pct_mso, "rmt_pct_mso", 0.0, 100.0, low_inclusive=False, unit="% MSO"
        )
    _check_deviations(protocol, deviations)
    out = []
    for b in protocol.blocks:
        d = b.dose
        hemi = resolve_hemisphere(d.laterality, amputation)
        dev = _deviation_for(b.label, deviations)
        why = [
            f"{amputation.side.value} {amputation.limb.value}-limb amputation",
        ]
        if d.laterality in (Laterality.CONTRALATERAL, Laterality.IPSILATERAL):
            why.append(
                f"{d.laterality.value} target -> {hemi.value} hemisphere"
                + (
                    " (sensorimotor maps are crossed)"
                    if d.laterality is Laterality.CONTRALATERAL
                    else " (the hemisphere on the side of the amputation)"
                )
            )
        elif d.laterality is not None:
            why.append(f"{d.laterality.value} as published -> {hemi.value} hemisphere")
        if dev is not None:
            target = resolve_target(dev.target, amputation)
            basis = TargetBasis.NOT_STUDIED
            why.append(
                f"NOT STUDIED: {target.value} instead of the studied "
                f"{d.target.value}, a deviation recorded by {dev.operator}: "
                f"{dev.reason}"
            )
        elif d.target is TargetSite.M1:
            target = resolve_target(d.target, amputation)
            basis = TargetBasis.INFERRED
            why.append(
                "M1 area not given by the source -> the missing limb's area "
                f"({target.value}), inferred, not studied"
            )
        else:
            target = d.target
            basis = TargetBasis.STUDIED
            why.append(f"{target.value} as studied")
        if target is TargetSite.SMC:
            why.append(
                "the SMC lies next to the midline: aim at the hemisphere named, "
                "knowing that the field may reach both"
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
                studied_target=d.target,
                basis=basis,
                deviation=dev,
            )
        )
    return tuple(out)
