"""The Beam F3 method for the DLPFC (Beam et al., 2009)."""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, computed_field

from ..utils import check_option
from ._constants import (
    BEAM_ARC_FRACTION,
    BEAM_F7_ANGLE_DEG,
    BEAM_PAPER_FP1_ANGLE_DEG,
    BEAM_PAPER_Y_FACTOR,
    BEAM_WEB_FP1_ANGLE_DEG,
    BEAM_WEB_Y_FACTOR,
)
from ._head import HeadMeasurements

__all__ = ["BeamResult", "BeamVariant", "beam_f3"]


class BeamVariant(StrEnum):
    """Which Beam F3 formulas to use.

    ``web`` is the freely available web calculator (Fp1 at 298 deg, F7 placed at
    x = R2, Y = 0.91 r); ``paper`` is the geometric construction printed in the
    paper (Fp1 at 288 deg, F7 on the circle of radius R2 at 324 deg, Y = 0.9 r).
    """

    WEB = "web"
    PAPER = "paper"


def _sind(deg: float) -> float:
    return math.sin(math.radians(deg))


def _cosd(deg: float) -> float:
    return math.cos(math.radians(deg))


class BeamResult(BaseModel):
    """Tape distances of F3 (or F4) by the Beam method.

    Parameters
    ----------
    head : HeadMeasurements
        The measurements used.
    variant : BeamVariant
        ``web`` or ``paper``.
    side : {"left", "right"}
        Hemisphere: left gives F3, right its mirror image F4.
    target : {"F3", "F4"}
        The 10-20 position located.
    x_cm : float
        Distance along the circumference from Fpz towards the ``side`` ear to the
        mark A, cm (Beam's X).
    y_cm : float
        Distance from Cz (the vertex) towards mark A, where F3/F4 lies, cm (Beam's
        Y).
    r_cm : float
        Distance from Cz to the F3 crossing in Beam's flat chart, before the
        0.91 (web) or 0.9 (paper) factor, cm.
    theta_deg : float
        Angle of the crossing below the left-right axis in the chart, degrees
        (negative: towards the nose).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    head: HeadMeasurements
    variant: BeamVariant
    side: Literal["left", "right"]
    target: Literal["F3", "F4"]
    x_cm: float
    y_cm: float
    r_cm: float
    theta_deg: float

    @computed_field  # type: ignore[prop-decorator]
    @property
    def how_to_measure(self) -> str:
        """Plain-language tape instructions (cm, one decimal)."""
        return (
            "Cz (vertex) lies at the middle of both the nasion-inion and the "
            "tragus-tragus arcs. "
            f"Measure {self.x_cm:.1f} cm along the circumference from Fpz towards the "
            f"{self.side} ear and mark point A; from Cz measure {self.y_cm:.1f} cm "
            f"towards A: that is {self.target}."
        )


def beam_f3(
    head: HeadMeasurements,
    variant: BeamVariant | str = BeamVariant.WEB,
    side: Literal["left", "right"] | str = "left",
) -> BeamResult:
    """Locate F3 (left DLPFC) or F4 (right) from three tape measurements.

    With R1 = 0.4 NI and R2 = 0.4 TT (the arcs from Cz to Fpz and to T7), the
    method works in a flat chart centred on Cz (x towards the target's ear, y
    towards the back) and crosses the Fz-F7 line with the Fp1-C3 line
    :footcite:`beam2009`:

    - ``A = (R2 sin 324 + R1/2) / R2`` (web) or ``/ (R2 cos 324)`` (paper);
    - ``B = R1 sin a / (R1 cos a - R2/2)`` with a = 298 (web) or 288 (paper);
    - ``x = (R1 - R2 B) / (2 (A - B))``, ``y = A x - R1/2``,
      ``r = sqrt(x^2 + y^2)``, ``theta = atan(y / x)`` in degrees;
    - ``X = CF/4 (90 + theta) / 90`` and ``Y = 0.91 r`` (web) or ``0.9 r``
      (paper).

    The web formulas are verified from a public transcription of the calculator
    and its X against a public worked example; the paper formulas are the
    geometric construction as read from public transcriptions, to verify against
    the printed paper. F4 is the mirror image of F3 (same X and Y towards the
    right ear).

    Parameters
    ----------
    head : HeadMeasurements
        NI, TT and CF in cm.
    variant : BeamVariant | str
        ``"web"`` (default) or ``"paper"``.
    side : {"left", "right"}
        ``"left"`` for F3, ``"right"`` for F4.

    Returns
    -------
    result : BeamResult
        X and Y in cm with instructions.

    Raises
    ------
    ValueError
        If ``variant`` or ``side`` is not allowed.

    References
    ----------
    .. footbibliography::
    """
    variant = BeamVariant(
        check_option(str(variant), "variant", [v.value for v in BeamVariant])
    )
    side_ = check_option(str(side), "side", ["left", "right"])
    r1 = BEAM_ARC_FRACTION * head.nasion_inion_cm
    r2 = BEAM_ARC_FRACTION * head.tragus_tragus_cm
    cf = head.circumference_cm
    if variant is BeamVariant.WEB:
        a = (r2 * _sind(BEAM_F7_ANGLE_DEG) + r1 / 2) / r2
        fp1, factor = BEAM_WEB_FP1_ANGLE_DEG, BEAM_WEB_Y_FACTOR
    else:
        a = (r2 * _sind(BEAM_F7_ANGLE_DEG) + r1 / 2) / (r2 * _cosd(BEAM_F7_ANGLE_DEG))
        fp1, factor = BEAM_PAPER_FP1_ANGLE_DEG, BEAM_PAPER_Y_FACTOR
    b = r1 * _sind(fp1) / (r1 * _cosd(fp1) - r2 / 2)
    x = (r1 - r2 * b) / (2 * (a - b))
    y = a * x - r1 / 2
    r = math.hypot(x, y)
    theta = math.degrees(math.atan(y / x))
    return BeamResult(
        head=head,
        variant=variant,
        side="left" if side_ == "left" else "right",
        target="F3" if side_ == "left" else "F4",
        x_cm=cf / 4 * (90 + theta) / 90,
        y_cm=factor * r,
        r_cm=r,
        theta_deg=theta,
    )
