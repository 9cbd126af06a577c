"""10-20 / 10-10 scalp positions with tape distances a technician can measure.

Two tape systems describe a point on the scalp:

- **polar** (as in the Beam F3 method :footcite:`beam2009`): mark the circumference
  ``ring_from_fpz_cm`` from Fpz towards the point's ear, then measure
  ``from_vertex_cm`` from Cz (the vertex) towards that mark;
- **sagittal**: measure ``from_nasion_cm`` from the nasion along the midline, then
  ``lateral_cm`` from there towards the point's tragus, on the line joining both
  tragi.

:func:`jasper_positions` builds the classical 10-20 system analytically from the
three measurements :footcite:`jasper1958`; :func:`scalp_positions` places the 10-05
positions of an MNE-Python template :footcite:`gramfort2013` on the template head
scaled to the patient (see :mod:`plptms.targeting._model`).

.. footbibliography::
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, computed_field

from ..utils import check_option, check_range
from ._constants import (
    BEAM_ARC_FRACTION,
    TEN_TWENTY_CORONAL_PCT_TT,
    TEN_TWENTY_MIDLINE_PCT_NI,
    TEN_TWENTY_RING_PCT_CF,
)
from ._model import DEFAULT_MONTAGE, fit_head

if TYPE_CHECKING:
    from collections.abc import Iterable

    from numpy.typing import NDArray

    from ._head import HeadMeasurements
    from ._model import HeadModel

__all__ = [
    "JASPER_METHOD",
    "ScalpPosition",
    "jasper_positions",
    "scalp_position_from_tape",
    "scalp_positions",
]

#: Method label of the analytic 10-20 construction.
JASPER_METHOD = "jasper_10_20_analytic"

_SIDES = ("left", "right", "midline")


def _fmt(value: float) -> str:
    return f"{value:.1f}"


class ScalpPosition(BaseModel):
    """A point on the scalp with tape distances (cm) and head coordinates (mm).

    Parameters
    ----------
    name : str
        Label (10-05 name such as ``"C3"``, or a target name).
    method : str
        How the point was obtained (e.g. ``"jasper_10_20_analytic"``,
        ``"template:colin27_1005"``, ``"beam_f3:web"``).
    side : {"left", "right", "midline"}
        Side of the head.
    from_vertex_cm : float | None
        Tape distance from Cz to the point, cm (polar system).
    ring_from_fpz_cm : float | None
        Distance along the circumference from Fpz towards ``side`` to the mark
        that the tape from Cz aims at, cm (polar system; ``None`` at Cz).
    from_nasion_cm : float | None
        Distance from the nasion along the midline, cm (sagittal system).
    lateral_cm : float | None
        Distance from that midline point towards the tragus on ``side``, on the
        line joining both tragi, cm (sagittal system).
    x_mm, y_mm, z_mm : float | None
        Head-frame coordinates of the fitted template (origin between the
        preauricular points, x right, y towards the nasion, z up), mm; ``None``
        for the analytic construction.
    note : str
        Source, caveats.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    method: str
    side: Literal["left", "right", "midline"]
    from_vertex_cm: float | None = None
    ring_from_fpz_cm: float | None = None
    from_nasion_cm: float | None = None
    lateral_cm: float | None = None
    x_mm: float | None = None
    y_mm: float | None = None
    z_mm: float | None = None
    note: str = ""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def how_to_measure(self) -> str:
        """Plain-language tape instructions (cm, one decimal)."""
        ways: list[str] = []
        if self.from_nasion_cm is not None and self.lateral_cm is not None:
            text = (
                f"from the nasion measure {_fmt(self.from_nasion_cm)} cm along the "
                "midline towards the inion"
            )
            if self.side != "midline" and self.lateral_cm > 0.05:
                text += (
                    f", then {_fmt(self.lateral_cm)} cm towards the {self.side} "
                    "tragus (on the line joining both tragi)"
                )
            ways.append(text)
        if self.from_vertex_cm is not None and self.side != "midline":
            if self.ring_from_fpz_cm is not None:
                ways.append(
                    f"mark the circumference {_fmt(self.ring_from_fpz_cm)} cm from "
                    f"Fpz towards the {self.side} ear, then measure "
                    f"{_fmt(self.from_vertex_cm)} cm from Cz towards that mark"
                )
        elif self.from_vertex_cm is not None and self.from_vertex_cm < 0.05:
            ways.append("at the vertex (Cz)")
        if not ways:
            return "no tape construction available"
        text = "; or ".join(ways)
        return text[0].upper() + text[1:] + "."


# ---------------------------------------------------------------------------
# Analytic 10-20 construction
# ---------------------------------------------------------------------------


def _intersect(
    p1: NDArray[np.float64],
    p2: NDArray[np.float64],
    q1: NDArray[np.float64],
    q2: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Intersection of lines p1-p2 and q1-q2 in the plane."""
    a = np.array([p2 - p1, q1 - q2]).T
    s = np.linalg.solve(a, q1 - p1)
    out: NDArray[np.float64] = p1 + s[0] * (p2 - p1)
    return out


def _jasper_chart(head: HeadMeasurements) -> dict[str, NDArray[np.float64]]:
    """10-20 positions in a flat chart centred on Cz (cm; x right, y anterior).

    The chart is azimuthal about the vertex: distances from Cz along the midline
    and the central line are exact tape distances; the circumference maps to the
    ellipse with semi-axes 0.4 NI (front-back) and 0.4 TT (left-right).
    """
    ni, tt = head.nasion_inion_cm, head.tragus_tragus_cm
    r1, r2 = BEAM_ARC_FRACTION * ni, BEAM_ARC_FRACTION * tt
    pts: dict[str, NDArray[np.float64]] = {}
    for name, pct in TEN_TWENTY_MIDLINE_PCT_NI:
        pts[name] = np.array([0.0, (0.5 - pct / 100.0) * ni])
    for name, pct in TEN_TWENTY_CORONAL_PCT_TT:
        pts[name] = np.array([(pct / 100.0 - 0.5) * tt, 0.0])
    for name, pct in TEN_TWENTY_RING_PCT_CF:
        alpha = 2 * math.pi * pct / 100.0
        left = np.array([-r2 * math.sin(alpha), r1 * math.cos(alpha)])
        pts[name] = left
        pts[_mirror_name(name)] = left * np.array([-1.0, 1.0])
    pts["F3"] = _intersect(pts["Fz"], pts["F7"], pts["Fp1"], pts["C3"])
    pts["F4"] = _intersect(pts["Fz"], pts["F8"], pts["Fp2"], pts["C4"])
    pts["P3"] = _intersect(pts["Pz"], pts["P7"], pts["O1"], pts["C3"])
    pts["P4"] = _intersect(pts["Pz"], pts["P8"], pts["O2"], pts["C4"])
    return pts


def _mirror_name(name: str) -> str:
    digits = "".join(c for c in name if c.isdigit())
    return name[: len(name) - len(digits)] + str(int(digits) + 1)


def jasper_positions(head: HeadMeasurements) -> dict[str, ScalpPosition]:
    """Construct the 21 positions of the 10-20 system from the measurements.

    Midline positions are at 10, 30, 50, 70 and 90 % of the nasion-inion arc, the
    central line at 10, 30, 50, 70 and 90 % of the tragus-tragus arc through Cz,
    and the circumference positions (Fp1, F7, T7, P7, O1 and their mirror images)
    every 10 % of the half-circumference from Fpz :footcite:`jasper1958`. F3 (F4)
    is the crossing of the Fz-F7 (Fz-F8) and Fp1-C3 (Fp2-C4) lines, P3 (P4) that
    of the Pz-P7 and O1-C3 lines, in a flat chart centred on the vertex.

    Parameters
    ----------
    head : HeadMeasurements
        The tape measurements.

    Returns
    -------
    positions : dict of str to ScalpPosition
        Modern names (T7/T8, P7/P8 for the older T3/T4, T5/T6). Sagittal tape
        distances are given for the midline and central positions, where they
        are exact; polar distances (from Cz, and the circumference mark) for
        all.

    Notes
    -----
    The flat chart makes the F3/F4/P3/P4 crossings and the polar distances of the
    circumference positions approximate (the scalp is curved); the tests bound
    the difference from the template head.

    References
    ----------
    .. footbibliography::
    """
    ni, tt, cf = head.nasion_inion_cm, head.tragus_tragus_cm, head.circumference_cm
    r1, r2 = BEAM_ARC_FRACTION * ni, BEAM_ARC_FRACTION * tt
    chart = _jasper_chart(head)
    midline_pct = dict(TEN_TWENTY_MIDLINE_PCT_NI)
    coronal_pct = dict(TEN_TWENTY_CORONAL_PCT_TT)
    out: dict[str, ScalpPosition] = {}
    for name, (x, y) in chart.items():
        side: Literal["left", "right", "midline"]
        side = "midline" if abs(x) < 1e-9 else ("left" if x < 0 else "right")
        radius = float(math.hypot(x, y))
        ring: float | None
        if radius < 1e-9:
            ring = None
        else:
            alpha = math.atan2(abs(x) / r2, y / r1)
            ring = alpha / (2 * math.pi) * cf
        from_nasion: float | None = None
        lateral: float | None = None
        if name in midline_pct:
            from_nasion, lateral = midline_pct[name] / 100.0 * ni, 0.0
        elif name in coronal_pct:
            from_nasion, lateral = 0.5 * ni, abs(coronal_pct[name] / 100.0 - 0.5) * tt
        out[name] = ScalpPosition(
            name=name,
            method=JASPER_METHOD,
            side=side,
            from_vertex_cm=radius,
            ring_from_fpz_cm=ring,
            from_nasion_cm=from_nasion,
            lateral_cm=lateral,
            note="International 10-20 system (Jasper, 1958), analytic construction.",
        )
    return out


# ---------------------------------------------------------------------------
# Template positions fitted to the patient
# ---------------------------------------------------------------------------


def position_on_model(
    model: HeadModel, name: str, u: NDArray[np.float64], method: str, note: str = ""
) -> ScalpPosition:
    """Describe sphere-space direction ``u`` of a fitted head as a ScalpPosition."""
    from_vertex, ring = model.polar(u)
    sag = model.sagittal(u)
    xyz = model.xyz(u)
    return ScalpPosition(
        name=name,
        method=method,
        side=model.side(u),
        from_vertex_cm=from_vertex / 10.0,
        ring_from_fpz_cm=None if ring is None else ring / 10.0,
        from_nasion_cm=None if sag is None else sag[0] / 10.0,
        lateral_cm=None if sag is None else sag[1] / 10.0,
        x_mm=float(xyz[0]),
        y_mm=float(xyz[1]),
        z_mm=float(xyz[2]),
        note=note,
    )


def direction_on_model(
    model: HeadModel, position: ScalpPosition
) -> NDArray[np.float64]:
    """Sphere-space direction of ``position`` on ``model``.

    Uses the sagittal tape distances if given, else the polar ones, else the
    head coordinates.
    """
    side = position.side
    if position.from_nasion_cm is not None and position.lateral_cm is not None:
        return model.from_sagittal(
            position.from_nasion_cm * 10.0, position.lateral_cm * 10.0, side
        )
    if position.from_vertex_cm is not None and (
        position.ring_from_fpz_cm is not None or position.from_vertex_cm < 1e-6
    ):
        if position.ring_from_fpz_cm is None:
            return model.template.cz
        ring_side = side if side != "midline" else "left"
        return model.from_polar(
            position.from_vertex_cm * 10.0, position.ring_from_fpz_cm * 10.0, ring_side
        )
    if position.x_mm is not None and position.y_mm is not None:
        xyz = np.array([position.x_mm, position.y_mm, position.z_mm or 0.0])
        u = (xyz - model.centre) / model.axes
        out: NDArray[np.float64] = u / np.linalg.norm(u)
        return out
    raise ValueError(
        f"Invalid value for 'position': got {position.name!r} without tape "
        "distances or coordinates; allowed: a position with sagittal or polar tape "
        "distances, or head coordinates."
    )


def scalp_positions(
    head: HeadMeasurements,
    *,
    montage: str = DEFAULT_MONTAGE,
    names: Iterable[str] | None = None,
) -> dict[str, ScalpPosition]:
    """10-05 positions of an MNE-Python template fitted to the patient's head.

    The template positions are moved to the head frame, an ellipsoid is fitted to
    them, and the template is scaled along x, y and z so that its nasion-inion,
    tragus-tragus and circumference arcs equal the measurements
    :footcite:`gramfort2013`. Each position then gets head coordinates (mm) and
    both tape systems (cm), measured on the scaled ellipsoid.

    Parameters
    ----------
    head : HeadMeasurements
        The tape measurements.
    montage : str
        ``"colin27_1005"`` (default; MNE's former ``"standard_1005"``),
        ``"fsaverage_1005"`` or ``"standard_1005"``.
    names : iterable of str | None
        Positions to return (default: all of the montage).

    Returns
    -------
    positions : dict of str to ScalpPosition
        By name. Sagittal distances are ``None`` where the line through both tragi
        is undefined (at the ears) or meets the midline outside the nasion-inion
        arc.

    Raises
    ------
    ValueError
        If the montage or a requested name is unknown.

    Notes
    -----
    Needs MNE-Python and SciPy (imported on first use).

    References
    ----------
    .. footbibliography::
    """
    model = fit_head(head, montage)
    available = model.template.u
    wanted = list(available) if names is None else list(names)
    for name in wanted:
        check_option(name, "names", sorted(available))
    method = f"template:{model.template.montage}"
    note = (
        f"MNE-Python {model.template.montage} template scaled to the measurements "
        "(ellipsoid fit)."
    )
    return {n: position_on_model(model, n, available[n], method, note) for n in wanted}


def scalp_position_from_tape(
    head: HeadMeasurements,
    name: str,
    *,
    side: Literal["left", "right", "midline"],
    from_nasion_cm: float | None = None,
    lateral_cm: float | None = None,
    from_vertex_cm: float | None = None,
    ring_from_fpz_cm: float | None = None,
    montage: str = DEFAULT_MONTAGE,
) -> ScalpPosition:
    """Place a point measured with a tape (e.g. the motor hotspot) on the head.

    Give either the sagittal pair (``from_nasion_cm``, ``lateral_cm``) or the
    polar pair (``from_vertex_cm``, ``ring_from_fpz_cm``).

    Parameters
    ----------
    head : HeadMeasurements
        The tape measurements.
    name : str
        Label of the point.
    side : {"left", "right", "midline"}
        Side of the head.
    from_nasion_cm, lateral_cm : float | None
        Sagittal tape distances, cm.
    from_vertex_cm, ring_from_fpz_cm : float | None
        Polar tape distances, cm.
    montage : str
        Template montage.

    Returns
    -------
    position : ScalpPosition
        The point with both tape systems and head coordinates.

    Raises
    ------
    ValueError
        If neither or both pairs are given, a distance is negative or too long
        (beyond the nasion-inion arc, half the tragus-tragus arc or half the
        circumference), or the point lies off the head.
    """
    check_option(side, "side", _SIDES)
    sagittal = from_nasion_cm is not None or lateral_cm is not None
    polar = from_vertex_cm is not None or ring_from_fpz_cm is not None
    if sagittal == polar:
        raise ValueError(
            "Invalid value for 'from_nasion_cm': got "
            f"{from_nasion_cm!r} with from_vertex_cm {from_vertex_cm!r}; allowed: "
            "exactly one pair, (from_nasion_cm, lateral_cm) or (from_vertex_cm, "
            "ring_from_fpz_cm)."
        )
    model = fit_head(head, montage)
    try:
        ni, tt = head.nasion_inion_cm, head.tragus_tragus_cm
        if sagittal:
            fn = check_range(
                from_nasion_cm or 0.0, "from_nasion_cm", 0.0, ni, unit="cm"
            )
            lat = check_range(lateral_cm or 0.0, "lateral_cm", 0.0, tt / 2, unit="cm")
            u = model.from_sagittal(fn * 10.0, lat * 10.0, side)
        else:
            fv = check_range(
                from_vertex_cm or 0.0, "from_vertex_cm", 0.0, max(ni, tt) / 2, unit="cm"
            )
            ring = check_range(
                ring_from_fpz_cm or 0.0,
                "ring_from_fpz_cm",
                0.0,
                head.circumference_cm / 2,
                unit="cm",
            )
            ring_side = "left" if side == "midline" else side
            u = model.from_polar(fv * 10.0, ring * 10.0, ring_side)
    except ValueError as err:
        if str(err).startswith("Invalid value"):
            raise
        raise ValueError(
            f"Invalid value for 'name': got {name!r} at tape distances beyond the "
            f"head ({err}); allowed: a point on the scalp above the tragi."
        ) from err
    method = f"tape:{model.template.montage}"
    return position_on_model(model, name, u, method, "Measured with a tape.")
