"""Scalp heuristics relative to the vertex or the motor hotspot."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from ..protocol import Hemisphere
from ..utils import check_option, check_range
from ._constants import (
    BEAM_ANTEROLATERAL_TO_5P5CM_CM,
    FIVE_CM_RULE_DISTANCE_CM,
    FIVE_CM_RULE_HITS_HERWIG2001,
    LEG_HOTSPOT_LATERAL_TO_VERTEX_CM,
    LEG_HOTSPOT_POSTERIOR_TO_VERTEX_CM,
    S1_LATERAL_TO_M1_HAND_CM,
    S1_POSTERIOR_TO_M1_HAND_CM,
    SMC_ANTERIOR_TO_CZ_CM,
    SMC_LATERAL_MAX_CM,
)
from ._model import DEFAULT_MONTAGE, fit_head
from ._positions import ScalpPosition, direction_on_model, position_on_model

if TYPE_CHECKING:
    from ._head import HeadMeasurements

__all__ = [
    "FIVE_CM_RULE_KNOWN_ERROR",
    "FiveCmRuleResult",
    "five_cm_rule",
    "leg_hotspot_estimate",
    "m1_hand_estimate",
    "s1_from_hotspot",
    "smc_estimate",
]

_hits, _n = FIVE_CM_RULE_HITS_HERWIG2001
_mean, _sd = BEAM_ANTEROLATERAL_TO_5P5CM_CM

#: What is known about the error of the 5 cm rule (verified from abstracts).
FIVE_CM_RULE_KNOWN_ERROR = (
    f"The 5 cm rule placed the coil over DLPFC (BA 9) in only {_hits} of {_n} "
    "subjects; in the others it was more dorsal and posterior, e.g. over premotor "
    "cortex (Herwig et al., 2001). It misses DLPFC in more than one third of "  # 1/3
    "cases (Mir-Moghtadaei et al., 2015); "
    "the DLPFC site used with neuronavigation lay halfway between F3 and AF3, well "
    "anterior to the 5 cm point (Fitzgerald et al., 2009); the Beam F3 site lies "
    f"on average {_mean:g} +/- {_sd:g} cm anterolateral to the 5.5 cm rule "
    "(Trapp et al., 2020). Prefer Beam F3 or neuronavigation."
)

_Side = Literal["left", "right"]


def _side(hemisphere: Hemisphere | str) -> _Side:
    value = check_option(str(hemisphere), "hemisphere", ["left", "right"])
    return "left" if value == Hemisphere.LEFT else "right"


class FiveCmRuleResult(BaseModel):
    """The DLPFC site by the 5 cm rule, with its known error.

    Parameters
    ----------
    position : ScalpPosition
        The site, ``distance_cm`` anterior to the hotspot on a parasagittal line.
    hotspot : ScalpPosition
        The motor hotspot it was measured from.
    distance_cm : float
        The distance used, cm.
    known_error : str
        Literature on how often the rule misses DLPFC.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    position: ScalpPosition
    hotspot: ScalpPosition
    distance_cm: float
    known_error: str = FIVE_CM_RULE_KNOWN_ERROR


def five_cm_rule(
    hotspot: ScalpPosition,
    head: HeadMeasurements,
    *,
    distance_cm: float = FIVE_CM_RULE_DISTANCE_CM,
    montage: str = DEFAULT_MONTAGE,
) -> FiveCmRuleResult:
    """Locate the DLPFC 5 cm anterior to the motor hotspot (the classic rule).

    The point is ``distance_cm`` from the hotspot along the scalp on a line
    parallel to the midline, towards the nose :footcite:`herwig2001`. The rule
    ignores head size and misses the DLPFC often :footcite:`herwig2001`
    :footcite:`mirmoghtadaei2015` :footcite:`fitzgerald2009`
    :footcite:`trapp2020`; the result carries that warning.

    Parameters
    ----------
    hotspot : ScalpPosition
        The hand motor hotspot (e.g. from :func:`scalp_position_from_tape` or
        :func:`m1_hand_estimate`).
    head : HeadMeasurements
        The tape measurements.
    distance_cm : float
        Distance, cm, in [1, 10] (5 by default; some clinics use 5.5 or 6).
    montage : str
        Template montage.

    Returns
    -------
    result : FiveCmRuleResult
        The site and the known error.

    Raises
    ------
    ValueError
        If ``distance_cm`` is out of range or the hotspot is on the midline.

    References
    ----------
    .. footbibliography::
    """
    check_range(distance_cm, "distance_cm", 1.0, 10.0, unit="cm")
    if hotspot.side == "midline":
        raise ValueError(
            f"Invalid value for 'hotspot': got {hotspot.name!r} on the midline; "
            "allowed: a left or right hand hotspot."
        )
    model = fit_head(head, montage)
    u = direction_on_model(model, hotspot)
    target = model.offset(u, distance_cm * 10.0, 0.0, hotspot.side)
    name = (
        "DLPFC (5 cm rule)"
        if distance_cm == 5.0
        else f"DLPFC ({distance_cm:g} cm rule)"
    )
    position = position_on_model(
        model,
        name,
        target,
        "five_cm_rule",
        f"{distance_cm:g} cm anterior to {hotspot.name} on a parasagittal line "
        "(Herwig et al., 2001). Known to miss DLPFC often.",
    )
    return FiveCmRuleResult(position=position, hotspot=hotspot, distance_cm=distance_cm)


def m1_hand_estimate(
    head: HeadMeasurements,
    hemisphere: Hemisphere | str,
    *,
    montage: str = DEFAULT_MONTAGE,
) -> ScalpPosition:
    """Where to start the search for the hand motor hotspot.

    The S1 index-finger site lies close to C3/C4 and about 2 cm lateral and
    0.5 cm posterior to the M1 hand (FDI) site :footcite:`holmes2019`; the start
    point is therefore C3 (left) or C4 (right) of the fitted template moved 2 cm
    towards the midline and 0.5 cm forward. The hotspot itself must be found with
    MEPs.

    Parameters
    ----------
    head : HeadMeasurements
        The tape measurements.
    hemisphere : Hemisphere | str
        ``left`` or ``right``.
    montage : str
        Template montage.

    Returns
    -------
    position : ScalpPosition
        The estimate.

    Raises
    ------
    ValueError
        If ``hemisphere`` is not ``left`` or ``right``.

    References
    ----------
    .. footbibliography::
    """
    side = _side(hemisphere)
    model = fit_head(head, montage)
    ref = "C3" if side == "left" else "C4"
    u = model.offset(
        model.template.u[ref],
        S1_POSTERIOR_TO_M1_HAND_CM * 10.0,
        -S1_LATERAL_TO_M1_HAND_CM * 10.0,
        side,
    )
    return position_on_model(
        model,
        f"M1 hand ({side}, estimate)",
        u,
        "holmes2019_derived",
        f"{ref} moved {S1_LATERAL_TO_M1_HAND_CM:g} cm medial and "
        f"{S1_POSTERIOR_TO_M1_HAND_CM:g} cm anterior (derived from Holmes et al., "
        "2019: S1 index site near C3/C4 and 2 cm lateral, 0.5 cm posterior to M1 "
        "hand). Start of the MEP hotspot search, not the hotspot.",
    )


def s1_from_hotspot(
    hotspot: ScalpPosition,
    head: HeadMeasurements,
    *,
    montage: str = DEFAULT_MONTAGE,
) -> ScalpPosition:
    """S1 hand (index finger) site from the M1 hand hotspot.

    About 2 cm lateral and 0.5 cm posterior to the M1 hand scalp site, not directly
    posterior to it as often assumed :footcite:`holmes2019`.

    Parameters
    ----------
    hotspot : ScalpPosition
        M1 hand hotspot (left or right).
    head : HeadMeasurements
        The tape measurements.
    montage : str
        Template montage.

    Returns
    -------
    position : ScalpPosition
        The S1 hand site.

    Raises
    ------
    ValueError
        If the hotspot is on the midline.

    References
    ----------
    .. footbibliography::
    """
    if hotspot.side == "midline":
        raise ValueError(
            f"Invalid value for 'hotspot': got {hotspot.name!r} on the midline; "
            "allowed: a left or right hand hotspot."
        )
    model = fit_head(head, montage)
    u = model.offset(
        direction_on_model(model, hotspot),
        -S1_POSTERIOR_TO_M1_HAND_CM * 10.0,
        S1_LATERAL_TO_M1_HAND_CM * 10.0,
        hotspot.side,
    )
    return position_on_model(
        model,
        f"S1 hand ({hotspot.side})",
        u,
        "holmes2019",
        f"{S1_LATERAL_TO_M1_HAND_CM:g} cm lateral and {S1_POSTERIOR_TO_M1_HAND_CM:g} "
        f"cm posterior to {hotspot.name} (Holmes et al., 2019).",
    )


def leg_hotspot_estimate(
    head: HeadMeasurements,
    hemisphere: Hemisphere | str,
    *,
    montage: str = DEFAULT_MONTAGE,
) -> ScalpPosition:
    """Where to start the search for the leg (tibialis anterior) hotspot.

    The mean tibialis anterior hotspot lay about 1.3 cm lateral and 0.55 cm
    posterior to the vertex :footcite:`sivaramakrishnan2016` (figures for the
    non-lesioned hemisphere of stroke survivors; to verify for healthy adults).

    Parameters
    ----------
    head : HeadMeasurements
        The tape measurements.
    hemisphere : Hemisphere | str
        ``left`` or ``right``.
    montage : str
        Template montage.

    Returns
    -------
    position : ScalpPosition
        The estimate.

    Raises
    ------
    ValueError
        If ``hemisphere`` is not ``left`` or ``right``.

    References
    ----------
    .. footbibliography::
    """
    side = _side(hemisphere)
    model = fit_head(head, montage)
    u = model.offset(
        model.template.cz,
        -LEG_HOTSPOT_POSTERIOR_TO_VERTEX_CM * 10.0,
        LEG_HOTSPOT_LATERAL_TO_VERTEX_CM * 10.0,
        side,
    )
    return position_on_model(
        model,
        f"M1 leg ({side}, estimate)",
        u,
        "sivaramakrishnan2016",
        f"{LEG_HOTSPOT_LATERAL_TO_VERTEX_CM:g} cm lateral and "
        f"{LEG_HOTSPOT_POSTERIOR_TO_VERTEX_CM:g} cm posterior to Cz (mean tibialis "
        "anterior hotspot, Sivaramakrishnan et al., 2016; to verify for healthy "
        "adults; that study used a 110 mm double-cone coil). Start of the MEP "
        "hotspot search.",
    )


def smc_estimate(
    head: HeadMeasurements,
    hemisphere: Hemisphere | str,
    *,
    anterior_cm: float = SMC_ANTERIOR_TO_CZ_CM,
    lateral_cm: float = 0.0,
    montage: str = DEFAULT_MONTAGE,
) -> ScalpPosition:
    """Scalp site over the supplementary motor complex (SMC), anterior to Cz.

    The SMC (SMA proper and pre-SMA) lies on the inner (mesial) surface of each
    frontal lobe, in front of the leg motor area. A scalp site commonly used for
    the SMA is on the midline 3 cm anterior to Cz; 5 cm anterior is also used
    :footcite:`janssen2015` (table read; its primary sources not verified). The
    point is walked ``anterior_cm`` from Cz along the midline of the fitted
    template, then ``lateral_cm`` towards the target hemisphere (0 by default: on
    the midline, where the coil covers the SMC of both hemispheres; a small offset
    and the coil orientation favour one). Lee et al. (2015) placed the SMC with
    neuronavigation; prefer MRI guidance where available.

    Parameters
    ----------
    head : HeadMeasurements
        The tape measurements.
    hemisphere : Hemisphere | str
        ``left`` or ``right``: the SMC to stimulate.
    anterior_cm : float
        Distance from Cz along the midline towards the nasion, cm, in [1, 8]
        (3 by default).
    lateral_cm : float
        Offset from the midline towards ``hemisphere``, cm, in [0, 1.5]
        (0 by default).
    montage : str
        Template montage.

    Returns
    -------
    position : ScalpPosition
        The site (``side`` is ``midline`` within 2.5 mm of the midline).

    Raises
    ------
    ValueError
        If ``hemisphere`` is not ``left`` or ``right`` or a distance is out of
        range.

    References
    ----------
    .. footbibliography::
    """
    side = _side(hemisphere)
    check_range(anterior_cm, "anterior_cm", 1.0, 8.0, unit="cm")
    check_range(lateral_cm, "lateral_cm", 0.0, SMC_LATERAL_MAX_CM, unit="cm")
    model = fit_head(head, montage)
    u = model.offset(model.template.cz, anterior_cm * 10.0, lateral_cm * 10.0, side)
    where = "midline" if lateral_cm == 0.0 else side
    lateral = (
        ""
        if lateral_cm == 0.0
        else f", then {lateral_cm:g} cm towards the {side} (plptms option)"
    )
    return position_on_model(
        model,
        f"SMC ({where}, Cz +{anterior_cm:g} cm)",
        u,
        "janssen2015",
        f"{anterior_cm:g} cm anterior to Cz along the midline{lateral}; SMA scalp "
        "sites 3 and 5 cm anterior to Cz as listed by Janssen et al., 2015 "
        f"(primary sources not verified). Target: the {side} SMC.",
    )
