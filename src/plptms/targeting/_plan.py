"""From an amputation and a protocol target to scalp sites and MNI coordinates."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from ..protocol import (
    Amputation,
    Hemisphere,
    Laterality,
    Limb,
    TargetSite,
    resolve_hemisphere,
    resolve_target,
)
from ..utils import check_option, check_range
from ._beam import BeamResult, BeamVariant, beam_f3
from ._constants import (
    S1_LEG_POSTERIOR_TO_M1_LEG_CM,
    SMC_ANTERIOR_TO_CZ_ALT_CM,
    SMC_LATERAL_MAX_CM,
)
from ._head import HeadMeasurements
from ._mni import MNICoordinate, mni_target
from ._model import DEFAULT_MONTAGE, fit_head
from ._positions import (
    ScalpPosition,
    direction_on_model,
    jasper_positions,
    position_on_model,
)
from ._rules import (
    FiveCmRuleResult,
    five_cm_rule,
    leg_hotspot_estimate,
    m1_hand_estimate,
    s1_from_hotspot,
    smc_estimate,
)

__all__ = ["PlannedSite", "TargetPlan", "plan_targets"]


class PlannedSite(BaseModel):
    """The site to stimulate in one hemisphere.

    Parameters
    ----------
    hemisphere : Hemisphere
        ``left`` or ``right``.
    position : ScalpPosition
        Primary scalp site (with tape distances).
    alternatives : tuple of ScalpPosition
        Other scalp localisations of the same target, for comparison.
    mni : MNICoordinate | None
        Literature coordinate for neuronavigation (``None`` where none is known).
    beam : BeamResult | None
        Beam F3/F4 tape distances (DLPFC only).
    five_cm_rule : FiveCmRuleResult | None
        The 5 cm rule site and its known error (DLPFC only).
    notes : tuple of str
        Caveats.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    hemisphere: Hemisphere
    position: ScalpPosition
    alternatives: tuple[ScalpPosition, ...] = ()
    mni: MNICoordinate | None = None
    beam: BeamResult | None = None
    five_cm_rule: FiveCmRuleResult | None = None
    notes: tuple[str, ...] = ()


class TargetPlan(BaseModel):
    """A protocol target resolved for one patient.

    Parameters
    ----------
    amputation : Amputation
        The patient's amputation.
    head : HeadMeasurements
        The tape measurements used.
    requested_target : TargetSite
        The target as written in the protocol.
    target : TargetSite
        The target with the somatotopic area resolved (``m1`` -> ``m1_hand`` or
        ``m1_leg``).
    laterality : Laterality | None
        The laterality as written in the protocol.
    hemisphere : Hemisphere
        The resolved hemisphere (``both`` gives one site per hemisphere).
    area : str
        Somatotopic or functional area in words (e.g. ``"hand"``).
    sites : tuple of PlannedSite
        One site per stimulated hemisphere.
    reasons : tuple of str
        The reasoning, one sentence or step per item (the first describes the
        amputation).
    explanation : str
        Plain-language reasoning: the reasons joined.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    amputation: Amputation
    head: HeadMeasurements
    requested_target: TargetSite
    target: TargetSite
    laterality: Laterality | None
    hemisphere: Hemisphere
    area: str
    sites: tuple[PlannedSite, ...]
    reasons: tuple[str, ...]
    explanation: str


_AREA = {
    TargetSite.M1_HAND: "hand area of the primary motor cortex (M1)",
    TargetSite.M1_LEG: "leg area of the primary motor cortex (M1)",
    TargetSite.DLPFC: "dorsolateral prefrontal cortex (DLPFC)",
    TargetSite.SMC: "supplementary motor complex (SMC: SMA proper and pre-SMA)",
}


def _s1_area(limb: Limb) -> str:
    part = "hand" if limb is Limb.UPPER else "leg"
    return f"{part} area of the primary somatosensory cortex (S1)"


def _describe(
    amputation: Amputation,
    requested: TargetSite,
    target: TargetSite,
    laterality: Laterality | None,
    hemisphere: Hemisphere,
    area: str,
) -> tuple[str, ...]:
    level = f" ({amputation.level})" if amputation.level else ""
    limb = "arm" if amputation.limb is Limb.UPPER else "leg"
    parts = [
        f"{amputation.side.value.capitalize()} {amputation.limb.value}-limb "
        f"amputation{level}."
    ]
    if laterality is Laterality.CONTRALATERAL:
        parts.append(
            f"The protocol stimulates the side opposite the amputation: the "
            f"{hemisphere.value} hemisphere"
            + (
                ", because each side of the body is mapped in the opposite "
                "hemisphere (the pathways cross)."
                if target not in (TargetSite.DLPFC, TargetSite.SMC)
                else "."
            )
        )
    elif laterality is Laterality.IPSILATERAL:
        parts.append(
            f"The protocol stimulates the same side as the amputation: the "
            f"{hemisphere.value} hemisphere."
        )
    else:
        parts.append(f"The protocol names the hemisphere: {hemisphere.value}.")
    if requested is TargetSite.M1:
        parts.append(
            f"The protocol says M1 without the body part, so the missing {limb}'s "
            f"area is used ({target.value})."
        )
    if target in (TargetSite.M1_HAND, TargetSite.M1_LEG):
        parts.append(
            f"Target: the {area}, where the missing {limb} is represented; its "
            "exact spot differs between people and is found with motor evoked "
            "potentials (MEPs), starting from the estimated site."
        )
    elif target is TargetSite.S1:
        parts.append(
            f"Target: the {area}, where the missing {limb} is represented; S1 "
            "gives no visible response, so it is placed relative to the motor "
            "hotspot."
        )
    elif target is TargetSite.SMC:
        parts.append(
            f"Target: the {area} of the {hemisphere.value} hemisphere, on its "
            "inner surface in front of the leg motor area (Lee et al., 2015 "
            "stimulated the SMC of the affected hemisphere); it gives no visible "
            "response, so the scalp site is measured from the vertex (Cz) or "
            "found with MRI-guided neuronavigation."
        )
    else:
        parts.append(
            f"Target: the {area}, linked to the emotional and cognitive side of "
            "pain; it has no body map, and the scalp site is found from head "
            "measurements (Beam F3 method) or with MRI-guided neuronavigation."
        )
    return tuple(parts)


def plan_targets(
    amputation: Amputation,
    target_site: TargetSite | str,
    head: HeadMeasurements,
    *,
    laterality: Laterality | str | None = Laterality.CONTRALATERAL,
    hotspot: ScalpPosition | None = None,
    beam_variant: BeamVariant | str = BeamVariant.WEB,
    smc_lateral_cm: float = 0.0,
    montage: str = DEFAULT_MONTAGE,
) -> TargetPlan:
    """Resolve a protocol target to hemisphere, area, scalp site and MNI coordinate.

    The hemisphere comes from :func:`plptms.protocol.resolve_hemisphere` (the
    missing limb is represented contralaterally) and the area from
    :func:`plptms.protocol.resolve_target` (hand for an upper-limb, leg for a
    lower-limb amputation). Scalp sites: M1 hand from C3/C4 corrected after
    Holmes et al. (2019) :footcite:`holmes2019` or the measured hotspot; M1 leg
    near the vertex :footcite:`sivaramakrishnan2016`; S1 hand 2 cm lateral and
    0.5 cm posterior to the hotspot :footcite:`holmes2019`; DLPFC at F3/F4 by the
    Beam method :footcite:`beam2009`, with the 5 cm rule and its known error
    beside it :footcite:`herwig2001`; SMC on the midline 3 cm anterior to Cz
    (5 cm as an alternative) :footcite:`janssen2015`. MNI coordinates come from
    :func:`mni_target` (Talairach ones converted :footcite:`lancaster2007`).

    The SMC is a mesial target: the hemisphere is resolved like the others (Lee
    et al., 2015 stimulated the SMC of the affected hemisphere, i.e. contralateral
    to the amputation), the MNI coordinate is that hemisphere's, and the scalp
    site stays on the midline unless ``smc_lateral_cm`` moves it towards the
    target side.

    Parameters
    ----------
    amputation : Amputation
        Side, limb and level.
    target_site : TargetSite | str
        Target as written in the protocol (``m1``, ``m1_hand``, ``m1_leg``,
        ``s1``, ``smc`` or ``dlpfc``).
    head : HeadMeasurements
        Tape measurements.
    laterality : Laterality | str | None
        Laterality as written in the protocol (default ``contralateral``).
    hotspot : ScalpPosition | None
        Measured hand motor hotspot; used for M1 hand, S1 hand and the 5 cm rule
        in the hemisphere of its side (an estimate is used otherwise).
    beam_variant : BeamVariant | str
        ``web`` (default) or ``paper``.
    smc_lateral_cm : float
        SMC only: offset of the scalp site from the midline towards the target
        hemisphere, cm, in [0, 1.5] (default 0, on the midline).
    montage : str
        Template montage for the scalp geometry.

    Returns
    -------
    plan : TargetPlan
        Hemisphere, area, sites and explanation.

    Raises
    ------
    ValueError
        If the laterality cannot be resolved (unreported, or relative with a
        bilateral amputation) or an argument is not allowed (including
        ``smc_lateral_cm`` outside [0, 1.5] cm).

    References
    ----------
    .. footbibliography::
    """
    requested = TargetSite(
        check_option(str(target_site), "target_site", [t.value for t in TargetSite])
    )
    lat = (
        None
        if laterality is None
        else Laterality(
            check_option(str(laterality), "laterality", [v.value for v in Laterality])
        )
    )
    variant = BeamVariant(
        check_option(str(beam_variant), "beam_variant", [v.value for v in BeamVariant])
    )
    check_range(smc_lateral_cm, "smc_lateral_cm", 0.0, SMC_LATERAL_MAX_CM, unit="cm")
    hemisphere = resolve_hemisphere(lat, amputation)
    target = resolve_target(requested, amputation)
    sides = (
        (Hemisphere.LEFT, Hemisphere.RIGHT)
        if hemisphere is Hemisphere.BOTH
        else (hemisphere,)
    )
    if target is TargetSite.S1:
        area = _s1_area(amputation.limb)
    else:
        area = _AREA[target]
    model = fit_head(head, montage)
    jasper = jasper_positions(head)
    template = model.template
    method = f"template:{template.montage}"
    sites = []
    for hemi in sides:
        side: Literal["left", "right"] = "left" if hemi is Hemisphere.LEFT else "right"
        c_ref = "C3" if side == "left" else "C4"
        own_hotspot = hotspot if hotspot is not None and hotspot.side == side else None
        hand = own_hotspot or m1_hand_estimate(head, hemi, montage=montage)
        c_template = position_on_model(model, c_ref, template.u[c_ref], method)
        notes: list[str] = []
        beam: BeamResult | None = None
        rule: FiveCmRuleResult | None = None
        mni: MNICoordinate | None
        if target is TargetSite.M1_HAND:
            position = hand
            alternatives: tuple[ScalpPosition, ...] = (c_template, jasper[c_ref])
            mni = mni_target(target, hemi)
            notes.append(
                "Find the hotspot with MEPs and record which muscle was used (after "
                "an upper-limb amputation the usual hand muscles may be missing)."
            )
        elif target is TargetSite.M1_LEG:
            position = leg_hotspot_estimate(head, hemi, montage=montage)
            cz = position_on_model(model, "Cz", template.cz, method)
            alternatives = (cz, jasper["Cz"])
            mni = mni_target(target, hemi)
            notes.append(
                "The leg area lies on the inner (mesial) surface near the vertex: "
                "orient the coil to favour the target hemisphere; find the hotspot "
                "with MEPs and record which muscle was used."
            )
        elif target is TargetSite.SMC:
            position = smc_estimate(
                head, hemi, lateral_cm=smc_lateral_cm, montage=montage
            )
            alternatives = (
                smc_estimate(
                    head,
                    hemi,
                    anterior_cm=SMC_ANTERIOR_TO_CZ_ALT_CM,
                    lateral_cm=smc_lateral_cm,
                    montage=montage,
                ),
                position_on_model(model, "FCz", template.u["FCz"], method),
            )
            mni = mni_target(target, hemi)
            notes.append(
                "The SMC lies on the inner (mesial) surface just in front of the leg "
                "area; a coil centred on the midline covers the SMC of both "
                "hemispheres: orient it (or offset it slightly) to favour the "
                "target hemisphere, and prefer MRI-guided neuronavigation, as Lee "
                "et al. (2015) used."
            )
        elif target is TargetSite.S1 and amputation.limb is Limb.UPPER:
            position = s1_from_hotspot(hand, head, montage=montage)
            alternatives = (hand, c_template)
            mni = mni_target(target, hemi)
        elif target is TargetSite.S1:
            leg = leg_hotspot_estimate(head, hemi, montage=montage)
            u = model.offset(
                direction_on_model(model, leg),
                -S1_LEG_POSTERIOR_TO_M1_LEG_CM * 10.0,
                0.0,
                side,
            )
            position = position_on_model(
                model,
                f"S1 leg ({side}, approximate)",
                u,
                "design",
                f"{S1_LEG_POSTERIOR_TO_M1_LEG_CM:g} cm posterior to the leg hotspot "
                "estimate: plptms approximation, no verified scalp rule.",
            )
            alternatives = (leg,)
            mni = None
            notes.append(
                "No verified scalp rule or MNI coordinate for the S1 leg area: use "
                "MRI-guided neuronavigation where possible."
            )
        else:
            beam = beam_f3(head, variant, side)
            u = model.from_polar(beam.y_cm * 10.0, beam.x_cm * 10.0, side)
            position = position_on_model(
                model,
                f"{beam.target} (Beam {variant.value})",
                u,
                f"beam_f3:{variant.value}",
                f"Beam F3 method ({variant.value} formulas), Beam et al., 2009.",
            )
            f_ref = beam.target
            rule = five_cm_rule(hand, head, montage=montage)
            alternatives = (
                position_on_model(model, f_ref, template.u[f_ref], method),
                jasper[f_ref],
                rule.position,
            )
            mni = mni_target(target, hemi)
            notes.append(rule.known_error)
        sites.append(
            PlannedSite(
                hemisphere=hemi,
                position=position,
                alternatives=alternatives,
                mni=mni,
                beam=beam,
                five_cm_rule=rule,
                notes=tuple(notes),
            )
        )
    reasons = _describe(amputation, requested, target, lat, hemisphere, area)
    return TargetPlan(
        amputation=amputation,
        head=head,
        requested_target=requested,
        target=target,
        laterality=lat,
        hemisphere=hemisphere,
        area=area,
        sites=tuple(sites),
        reasons=reasons,
        explanation=" ".join(reasons),
    )
