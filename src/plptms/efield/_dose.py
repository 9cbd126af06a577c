"""Dose: the field at a target, and dose transfer between targets, coils and devices.

Two ways of carrying the motor threshold to another target, side by side:

* **E-field matched**: the intensity that reproduces at the target the field that the
  motor threshold produced at the M1 hotspot, from the spherical model. The field is
  linear in the output, so ``I_target = RMT x E1(hotspot) / E1(target)`` with ``E1``
  the field per % MSO at each scalp-to-cortex distance.
* **Distance adjusted** :footcite:`stokes2005`: ``adjusted MT = MT + 3 % MSO x
  (D_target - D_M1)`` with D the scalp-to-cortex distance in mm (2.8 %/mm in the
  separator experiment :footcite:`stokes2007`).

The prescribed intensity (``intensity_pct_rmt`` of the transferred threshold) always
goes through the safety engine: the stimulator ceiling (100 % MSO) and, when a
:class:`~plptms.protocol.StimulationDose` is given, every rule of
:func:`plptms.safety.check_dose` at that intensity. A value over a limit is refused
with :class:`DoseRefusedError`; nothing is clamped.

.. footbibliography::
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..safety import RuleResult, SafetyError
from ..utils import check_option, check_range, check_type
from . import _constants as C
from ._coils import Coil
from ._pose import CoilPose, pose_on_sphere
from ._sphere import SphereHead, as_points, e_field_sphere
from ._stimulators import Stimulator, get_stimulator

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike, NDArray

    from ..protocol import StimulationDose
    from ..safety import SafetyPolicy

__all__ = [
    "CoilTransfer",
    "DoseRefusedError",
    "DoseTransfer",
    "FieldAtTarget",
    "field_at_target",
    "transfer_between_coils",
    "transfer_dose",
]

_Vec3 = tuple[float, float, float]
Method = Literal["efield", "stokes"]
_METHODS: tuple[str, ...] = ("efield", "stokes")
_FROZEN = ConfigDict(frozen=True, extra="forbid")


class DoseRefusedError(SafetyError):
    """A transferred intensity breaks a limit; it is refused, not clamped.

    Attributes
    ----------
    failures : tuple of str
        One message per broken limit (field, value, limit).
    result : DoseTransfer | CoilTransfer
        The unclamped computation, for display.
    """

    def __init__(
        self,
        message: str,
        failures: tuple[str, ...],
        result: DoseTransfer | CoilTransfer,
    ) -> None:
        super().__init__(message)
        self.failures = failures
        self.result = result


class FieldAtTarget(BaseModel):
    """The induced field at one target.

    Attributes
    ----------
    coil, stimulator : str
        Coil model and stimulator-coil key.
    intensity_pct_mso : float
        Output, % MSO.
    didt_a_per_s : float
        Coil current rate of change, A/s.
    target_m : tuple of float
        Target, head coordinates, m.
    pose : CoilPose
        Coil pose.
    e_field_v_per_m : tuple of float
        Field vector, V/m.
    magnitude_v_per_m : float
        Its magnitude, V/m.
    """

    model_config = _FROZEN

    coil: str
    stimulator: str
    intensity_pct_mso: float
    didt_a_per_s: float
    target_m: _Vec3
    pose: CoilPose
    e_field_v_per_m: _Vec3
    magnitude_v_per_m: float


def _resolve_stimulator(stimulator: Stimulator | str) -> Stimulator:
    if isinstance(stimulator, str):
        return get_stimulator(stimulator)
    check_type(stimulator, Stimulator, "stimulator")
    return stimulator


def _vec(v: NDArray[np.float64]) -> _Vec3:
    return (float(v[0]), float(v[1]), float(v[2]))


def _check_on_axis(e_per_didt: float, coil: Coil, field: str) -> None:
    if not e_per_didt > 1e-9:
        raise ValueError(
            f"Invalid value for {field!r}: got {coil.name!r}, whose field under the "
            f"coil centre is {e_per_didt:.3g} V/m per A/us; allowed: a coil with a "
            "field under its centre (figure-of-eight): dose transfer puts the target "
            "under the coil centre."
        )


def _check_scd(scd_mm: float, head: SphereHead, field: str) -> float:
    return check_range(
        scd_mm,
        field,
        0.0,
        head.scalp_radius_m * 1e3,
        low_inclusive=False,
        high_inclusive=False,
        unit="mm",
    )


def field_at_target(
    coil: Coil,
    stimulator: Stimulator | str,
    intensity_pct_mso: float,
    *,
    pose: CoilPose | None = None,
    scalp_to_cortex_mm: float | None = None,
    target_m: ArrayLike | None = None,
    head: SphereHead | None = None,
) -> FieldAtTarget:
    """Compute the field at a cortical target in the spherical head model.

    Parameters
    ----------
    coil : Coil
        The coil model.
    stimulator : Stimulator | str
        Stimulator-coil pair (or its key in :data:`STIMULATORS`).
    intensity_pct_mso : float
        Output, % MSO, in (0, 100].
    pose : CoilPose | None
        Coil pose; default: on the scalp above the target (or the vertex), angle 0.
    scalp_to_cortex_mm : float | None
        Target depth below the scalp point under the coil centre, mm (default 15 mm
        :footcite:`deng2013`); ignored if ``target_m`` is given.
    target_m : array-like, shape (3,) | None
        Explicit target, head coordinates, m.
    head : SphereHead | None
        Head model (default: 85 mm sphere at the origin).

    Returns
    -------
    result : FieldAtTarget
        Field vector and magnitude, V/m.

    Raises
    ------
    ValueError
        If the output exceeds 100 % MSO (refused, not clamped), the depth is outside
        (0, R) mm, or the target is not inside the head.

    .. footbibliography::
    """
    check_type(coil, Coil, "coil")
    stim = _resolve_stimulator(stimulator)
    hd = SphereHead() if head is None else head
    didt = stim.didt_a_per_s(intensity_pct_mso)
    if target_m is not None:
        target = as_points(target_m, "target_m", ndim2=False)
        if pose is None:
            rel = target - hd.center
            direction = rel if np.linalg.norm(rel) > 0 else np.array([0.0, 0.0, 1.0])
            pose = pose_on_sphere(hd, direction)
    else:
        if pose is None:
            pose = pose_on_sphere(hd, (0.0, 0.0, 1.0))
        scd = C.CORTEX_DEPTH_MM if scalp_to_cortex_mm is None else scalp_to_cortex_mm
        scd = _check_scd(scd, hd, "scalp_to_cortex_mm")
        u = pose.center - hd.center
        u = u / np.linalg.norm(u)
        target = hd.center + (hd.scalp_radius_m - scd * 1e-3) * u
    dist = float(np.linalg.norm(target - hd.center))
    if not dist < hd.scalp_radius_m:
        raise ValueError(
            f"Invalid value for 'target_m': got a point {dist * 1e3:.1f} mm from the "
            f"centre; allowed: inside the head (< {hd.scalp_radius_m * 1e3:g} mm)."
        )
    pos, mom = coil.in_head(pose)
    e = e_field_sphere(pos, mom, target, didt, center_m=hd.center)[0]
    return FieldAtTarget(
        coil=coil.name,
        stimulator=stim.key,
        intensity_pct_mso=float(intensity_pct_mso),
        didt_a_per_s=didt,
        target_m=_vec(target),
        pose=pose,
        e_field_v_per_m=_vec(e),
        magnitude_v_per_m=float(np.linalg.norm(e)),
    )


def field_per_didt_on_axis(
    coil: Coil,
    scalp_to_cortex_mm: float,
    *,
    head: SphereHead | None = None,
    coil_distance_mm: float = 0.0,
) -> float:
    """Field magnitude under the coil centre per unit dI/dt, V/m per A/us.

    By the symmetry of the sphere this does not depend on the coil's angle about the
    normal nor on where on the scalp it sits.

    Parameters
    ----------
    coil : Coil
        The coil.
    scalp_to_cortex_mm : float
        Depth below the scalp, mm.
    head : SphereHead | None
        Head model.
    coil_distance_mm : float
        Gap between scalp and coil, mm.

    Returns
    -------
    e_per_didt : float
        |E| at 1 A/us, V/m.

    Raises
    ------
    ValueError
        If the depth is outside (0, R) mm.
    """
    hd = SphereHead() if head is None else head
    scd = _check_scd(scalp_to_cortex_mm, hd, "scalp_to_cortex_mm")
    pose = pose_on_sphere(hd, (0.0, 0.0, 1.0), coil_distance_mm=coil_distance_mm)
    pos, mom = coil.in_head(pose)
    target = hd.center + np.array([0.0, 0.0, hd.scalp_radius_m - scd * 1e-3])
    e = e_field_sphere(pos, mom, target, 1e6, center_m=hd.center)[0]
    return float(np.linalg.norm(e))


class DoseTransfer(BaseModel):
    """Motor threshold carried to another target, by both methods, side by side.

    Attributes
    ----------
    rmt_pct_mso : float
        Resting motor threshold at the M1 hotspot, % MSO.
    hotspot_scd_mm, target_scd_mm : float
        Scalp-to-cortex distances, mm.
    intensity_pct_rmt : float
        Prescribed intensity, % of the (transferred) threshold.
    field_at_hotspot_rmt_v_per_m : float
        Model field at the hotspot at the RMT, V/m.
    efield_threshold_pct_mso, efield_pct_mso : float
        E-field-matched threshold at the target and the prescribed intensity, % MSO.
    stokes_threshold_pct_mso, stokes_pct_mso : float
        Distance-adjusted threshold and prescribed intensity, % MSO.
    stokes_slope_pct_mso_per_mm : float
        Slope used for the distance adjustment.
    field_at_target_efield_v_per_m, field_at_target_stokes_v_per_m : float
        Model field at the target at each method's prescribed intensity, V/m.
    methods : tuple of str
        Methods checked by the safety engine.
    safety : tuple of RuleResult
        Safety-engine results for each method's dose (block label = method), when a
        dose was given.
    """

    model_config = _FROZEN

    coil: str
    stimulator: str
    rmt_pct_mso: float
    hotspot_scd_mm: float
    target_scd_mm: float
    intensity_pct_rmt: float
    field_at_hotspot_rmt_v_per_m: float
    efield_threshold_pct_mso: float
    efield_pct_mso: float
    stokes_threshold_pct_mso: float
    stokes_pct_mso: float
    stokes_slope_pct_mso_per_mm: float
    field_at_target_efield_v_per_m: float
    field_at_target_stokes_v_per_m: float
    methods: tuple[str, ...]
    safety: tuple[RuleResult, ...] = ()

    def table(self) -> list[tuple[str, float, float, float]]:
        """Rows ``(method, threshold % MSO, intensity % MSO, field V/m)``."""
        return [
            (
                "E-field matched",
                self.efield_threshold_pct_mso,
                self.efield_pct_mso,
                self.field_at_target_efield_v_per_m,
            ),
            (
                f"Stokes 2005 ({self.stokes_slope_pct_mso_per_mm:g} %/mm)",
                self.stokes_threshold_pct_mso,
                self.stokes_pct_mso,
                self.field_at_target_stokes_v_per_m,
            ),
        ]


def _ceiling_failure(field: str, value: float) -> str | None:
    if value <= C.MAX_PCT_MSO * (1.0 + 1e-12) and value > 0.0:
        return None
    return (
        f"Invalid value for {field!r}: got {value:.2f} % MSO; allowed range is "
        f"(0, {C.MAX_PCT_MSO:g}] % MSO (the stimulator cannot deliver it; refused, "
        "not clamped)."
    )


def _safety_failures(
    method: str,
    pct_mso: float,
    rmt_pct_mso: float,
    dose: StimulationDose,
    policy: SafetyPolicy | None,
) -> tuple[list[str], list[RuleResult]]:
    from ..protocol import StimulationDose as _Dose
    from ..safety import RuleStatus, check_dose

    pct_rmt = pct_mso / rmt_pct_mso * 100.0
    try:
        new = _Dose.model_validate({**dose.model_dump(), "intensity_pct_rmt": pct_rmt})
    except ValueError as err:
        return [f"{method}: {err}"], []
    results = check_dose(new, block=method, rmt_pct_mso=rmt_pct_mso, policy=policy)
    failures = [
        f"{method}: {r.message}" for r in results if r.status is RuleStatus.FAILED
    ]
    return failures, results


def transfer_dose(
    coil: Coil,
    stimulator: Stimulator | str,
    *,
    rmt_pct_mso: float,
    hotspot_scd_mm: float,
    target_scd_mm: float,
    intensity_pct_rmt: float = 100.0,
    head: SphereHead | None = None,
    coil_distance_mm: float = 0.0,
    stokes_slope_pct_mso_per_mm: float = C.STOKES2005_SLOPE_PCT_MSO_PER_MM,
    dose: StimulationDose | None = None,
    policy: SafetyPolicy | None = None,
    methods: Sequence[str] = _METHODS,
) -> DoseTransfer:
    """Carry the motor threshold from the M1 hotspot to another target.

    Parameters
    ----------
    coil : Coil
        Coil used at both sites.
    stimulator : Stimulator | str
        Stimulator-coil pair.
    rmt_pct_mso : float
        Resting motor threshold at the hotspot, % MSO, in (0, 100].
    hotspot_scd_mm, target_scd_mm : float
        Scalp-to-cortex distance at the hotspot and at the target, mm.
    intensity_pct_rmt : float
        Prescribed intensity, % of the transferred threshold, in (0, 250].
    head : SphereHead | None
        Head model.
    coil_distance_mm : float
        Scalp-coil gap, mm (the same at both sites).
    stokes_slope_pct_mso_per_mm : float
        Slope of the distance adjustment, % MSO per mm, in [0, 10]; 3.0
        :footcite:`stokes2005` or 2.8 :footcite:`stokes2007`.
    dose : StimulationDose | None
        The session dose at the target; if given, each method's intensity (as % of
        the hotspot RMT) is checked with every rule of the safety engine.
    policy : SafetyPolicy | None
        Safety-engine settings.
    methods : sequence of str
        Methods whose result must pass the limits: ``"efield"``, ``"stokes"``.

    Returns
    -------
    transfer : DoseTransfer
        Both methods side by side, unclamped.

    Raises
    ------
    DoseRefusedError
        If a requested method's intensity exceeds 100 % MSO or fails a safety rule;
        the error names the field, value and limit and carries the computation.
    ValueError
        If an input is out of range.

    .. footbibliography::
    """
    check_type(coil, Coil, "coil")
    stim = _resolve_stimulator(stimulator)
    hd = SphereHead() if head is None else head
    rmt = check_range(
        rmt_pct_mso,
        "rmt_pct_mso",
        0.0,
        C.MAX_PCT_MSO,
        low_inclusive=False,
        unit="% MSO",
    )
    d_m1 = _check_scd(hotspot_scd_mm, hd, "hotspot_scd_mm")
    d_t = _check_scd(target_scd_mm, hd, "target_scd_mm")
    pct = check_range(
        intensity_pct_rmt,
        "intensity_pct_rmt",
        0.0,
        250.0,
        low_inclusive=False,
        unit="% RMT",
    )
    slope = check_range(
        stokes_slope_pct_mso_per_mm,
        "stokes_slope_pct_mso_per_mm",
        0.0,
        10.0,
        unit="% MSO/mm",
    )
    wanted = tuple(check_option(m, "methods", _METHODS) for m in methods)
    e_m1 = field_per_didt_on_axis(
        coil, d_m1, head=hd, coil_distance_mm=coil_distance_mm
    )
    e_t = field_per_didt_on_axis(coil, d_t, head=hd, coil_distance_mm=coil_distance_mm)
    _check_on_axis(min(e_m1, e_t), coil, "coil")
    per_pct = stim.max_didt_a_per_us / 100.0  # A/us per % MSO
    ef_thr = rmt * e_m1 / e_t
    st_thr = rmt + slope * (d_t - d_m1)
    ef_pct = ef_thr * pct / 100.0
    st_pct = st_thr * pct / 100.0
    failures: list[str] = []
    safety: list[RuleResult] = []
    for method, value in (("efield", ef_pct), ("stokes", st_pct)):
        if method not in wanted:
            continue
        msg = _ceiling_failure(f"{method}_pct_mso", value)
        if msg is not None:
            failures.append(msg)
            continue
        if dose is not None:
            f, results = _safety_failures(method, value, rmt, dose, policy)
            failures.extend(f)
            safety.extend(results)
    result = DoseTransfer(
        coil=coil.name,
        stimulator=stim.key,
        rmt_pct_mso=rmt,
        hotspot_scd_mm=d_m1,
        target_scd_mm=d_t,
        intensity_pct_rmt=pct,
        field_at_hotspot_rmt_v_per_m=e_m1 * per_pct * rmt,
        efield_threshold_pct_mso=ef_thr,
        efield_pct_mso=ef_pct,
        stokes_threshold_pct_mso=st_thr,
        stokes_pct_mso=st_pct,
        stokes_slope_pct_mso_per_mm=slope,
        field_at_target_efield_v_per_m=e_t * per_pct * ef_pct,
        field_at_target_stokes_v_per_m=e_t * per_pct * st_pct,
        methods=wanted,
        safety=tuple(safety),
    )
    if failures:
        raise DoseRefusedError(
            "Dose transfer refused: " + " ".join(failures), tuple(failures), result
        )
    return result


class CoilTransfer(BaseModel):
    """The same field at the target with another coil or stimulator.

    Attributes
    ----------
    from_coil, from_stimulator, to_coil, to_stimulator : str
        The two set-ups.
    from_pct_mso, to_pct_mso : float
        Output settings, % MSO (``to`` unclamped).
    field_v_per_m : float
        The matched field at the target, V/m.
    scalp_to_cortex_mm : float
        Target depth, mm.
    """

    model_config = _FROZEN

    from_coil: str
    from_stimulator: str
    to_coil: str
    to_stimulator: str
    from_pct_mso: float
    to_pct_mso: float
    field_v_per_m: float
    scalp_to_cortex_mm: float


def transfer_between_coils(
    coil_from: Coil,
    stimulator_from: Stimulator | str,
    intensity_pct_mso: float,
    coil_to: Coil,
    stimulator_to: Stimulator | str,
    *,
    scalp_to_cortex_mm: float = C.CORTEX_DEPTH_MM,
    head: SphereHead | None = None,
    coil_distance_mm: float = 0.0,
) -> CoilTransfer:
    """Output setting that gives the same field at the target with another set-up.

    Parameters
    ----------
    coil_from, stimulator_from : Coil, Stimulator | str
        The set-up the intensity was determined with.
    intensity_pct_mso : float
        Its output, % MSO, in (0, 100].
    coil_to, stimulator_to : Coil, Stimulator | str
        The new set-up.
    scalp_to_cortex_mm : float
        Target depth under the coil centre, mm.
    head : SphereHead | None
        Head model.
    coil_distance_mm : float
        Scalp-coil gap, mm.

    Returns
    -------
    transfer : CoilTransfer
        The new setting and the matched field.

    Raises
    ------
    DoseRefusedError
        If the new setting exceeds 100 % MSO (refused, not clamped).
    ValueError
        If an input is out of range.
    """
    check_type(coil_from, Coil, "coil_from")
    check_type(coil_to, Coil, "coil_to")
    s_from = _resolve_stimulator(stimulator_from)
    s_to = _resolve_stimulator(stimulator_to)
    didt_from = s_from.didt_a_per_s(intensity_pct_mso)
    e_from = field_per_didt_on_axis(
        coil_from, scalp_to_cortex_mm, head=head, coil_distance_mm=coil_distance_mm
    )
    e_to = field_per_didt_on_axis(
        coil_to, scalp_to_cortex_mm, head=head, coil_distance_mm=coil_distance_mm
    )
    _check_on_axis(e_from, coil_from, "coil_from")
    _check_on_axis(e_to, coil_to, "coil_to")
    field = e_from * didt_from * 1e-6
    to_pct = field / (e_to * s_to.max_didt_a_per_us / 100.0)
    result = CoilTransfer(
        from_coil=coil_from.name,
        from_stimulator=s_from.key,
        to_coil=coil_to.name,
        to_stimulator=s_to.key,
        from_pct_mso=float(intensity_pct_mso),
        to_pct_mso=to_pct,
        field_v_per_m=field,
        scalp_to_cortex_mm=float(scalp_to_cortex_mm),
    )
    msg = _ceiling_failure("to_pct_mso", to_pct)
    if msg is not None:
        raise DoseRefusedError(f"Coil transfer refused: {msg}", (msg,), result)
    return result
