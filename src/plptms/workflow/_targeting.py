"""Targeting use cases: a patient's scalp targets and the targeting sheet.

:func:`plan_patient_targets` reads the patient's amputation (PLP history) and
the protocol to plan (given, or the one assigned last) from the registry and
resolves every target with :func:`plptms.targeting.plan_targets`; the guarded
:func:`targeting_for` is what the web pages and the API call. The command line
(``plptms target plan``) calls the same functions, so no shell picks targets.

Blinding: the targets reveal the protocol (M1 or DLPFC, which hemisphere), so
every guarded read needs ``treatment.read``, which the blinded rater does not
hold.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from ..access import Permission, Principal, require
from ..protocol import Amputation, Laterality, TargetSite
from ..targeting import BeamVariant, HeadMeasurements, TargetPlan
from ._views import PatientSummary, _patient_in_scope

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..protocol import Protocol
    from ..registry import AssignmentOut, Registry

__all__ = [
    "HeadField",
    "PatientTargets",
    "TargetingForm",
    "plan_file_targets",
    "plan_patient_targets",
    "targeting_for",
    "targeting_form_for",
    "targeting_sheet_png",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")

#: Resolution of the targeting sheet PNG (A4 portrait), dots per inch.
SHEET_DPI = 110

_HEAD_LABELS = {
    "nasion_inion_cm": "Nasion to inion, over the vertex",
    "tragus_tragus_cm": "Tragus to tragus, over the vertex",
    "circumference_cm": "Head circumference",
}

Source = Literal["targets", "assignment", "library"]


class PatientTargets(BaseModel):
    """A patient's planned targets, and where the list of targets came from.

    Attributes
    ----------
    code : str
        Pseudonymous code (``SITE/CODE`` shells show it with the site).
    site : str | None
        The patient's site; ``None`` for a patient file outside the registry.
    amputation : plptms.protocol.Amputation
        The amputation the hemispheres follow.
    head : plptms.targeting.HeadMeasurements
        The tape measurements, cm.
    protocol_id : str | None
        The protocol whose blocks gave the targets; ``None`` for targets given
        one by one.
    source : {"targets", "assignment", "library"}
        ``targets`` (given), ``assignment`` (the protocol as assigned to this
        patient) or ``library`` (the shipped protocol library).
    beam_variant : plptms.targeting.BeamVariant
        Beam F3 formulas used for the DLPFC.
    plans : tuple of plptms.targeting.TargetPlan
        One plan per distinct (target, laterality), in block order.
    """

    model_config = _FROZEN

    code: str
    site: str | None
    amputation: Amputation
    head: HeadMeasurements
    protocol_id: str | None
    source: Source
    beam_variant: BeamVariant
    plans: tuple[TargetPlan, ...]


class HeadField(BaseModel):
    """One tape measurement of the form: its name, label and allowed range, cm."""

    model_config = _FROZEN

    name: str
    label: str
    min_cm: float
    max_cm: float


class TargetingForm(BaseModel):
    """What the targeting form offers for one patient.

    Attributes
    ----------
    patient : PatientSummary
        The patient.
    fields : tuple of HeadField
        The three measurements with their ranges.
    assigned : tuple of str
        Protocols assigned to the patient, oldest first.
    library : tuple of str
        Protocols of the shipped library.
    default_protocol : str | None
        The protocol assigned last (``None`` when none is).
    beam_variants : tuple of str
        Beam F3 variants.
    """

    model_config = _FROZEN

    patient: PatientSummary
    fields: tuple[HeadField, ...]
    assigned: tuple[str, ...]
    library: tuple[str, ...]
    default_protocol: str | None
    beam_variants: tuple[str, ...]


def _library_ids() -> tuple[str, ...]:
    from ..protocol import load_library

    return tuple(sorted(load_library().protocols))


def _library_protocol(protocol_id: str) -> Protocol:
    from ..protocol import load_library
    from ..utils import check_option

    check_option(protocol_id, "protocol_id", _library_ids())
    return load_library().protocol(protocol_id)


def _wanted(
    targets: Sequence[str | TargetSite] | None, protocol: Protocol | None
) -> list[tuple[TargetSite, Laterality | None]]:
    from ..utils import check_option

    wanted: list[tuple[TargetSite, Laterality | None]] = []
    if targets is not None:
        allowed = [t.value for t in TargetSite]
        for t in targets:
            check_option(str(t), "targets", allowed)
            wanted.append((TargetSite(t), Laterality.CONTRALATERAL))
    elif protocol is not None:
        wanted = [(b.dose.target, b.dose.laterality) for b in protocol.blocks]
    return list(dict.fromkeys(wanted))  # each (target, laterality) once


def _check_choice(
    targets: Sequence[str | TargetSite] | None, protocol_id: str | None
) -> None:
    if targets is not None and protocol_id is not None:
        raise ValueError(
            f"Invalid value for 'targets': got {[str(t) for t in targets]} with "
            f"protocol_id {protocol_id!r}; allowed: targets or protocol_id, not both."
        )
    if targets is not None and not targets:
        raise ValueError(
            "Invalid value for 'targets': got none; allowed: one or more of "
            f"{', '.join(t.value for t in TargetSite)}."
        )


def _plan(
    code: str,
    site: str | None,
    amputation: Amputation,
    head: HeadMeasurements,
    *,
    targets: Sequence[str | TargetSite] | None,
    protocol: Protocol | None,
    source: Source,
    beam_variant: BeamVariant | str,
) -> PatientTargets:
    from ..targeting import plan_targets
    from ..utils import check_option, check_type

    check_type(head, HeadMeasurements, "head")
    variant = BeamVariant(
        check_option(str(beam_variant), "beam_variant", [v.value for v in BeamVariant])
    )
    plans = tuple(
        plan_targets(amputation, t, head, laterality=lat, beam_variant=variant)
        for t, lat in _wanted(targets, protocol)
    )
    return PatientTargets(
        code=code,
        site=site,
        amputation=amputation,
        head=head,
        protocol_id=None if protocol is None else protocol.id,
        source=source,
        beam_variant=variant,
        plans=plans,
    )


def plan_file_targets(
    code: str,
    amputation: Amputation,
    head: HeadMeasurements,
    *,
    targets: Sequence[str | TargetSite] | None = None,
    protocol_id: str | None = None,
    beam_variant: BeamVariant | str = "web",
) -> PatientTargets:
    """Plan the targets of a patient outside the registry (a patient file).

    Parameters
    ----------
    code : str
        Pseudonymous code printed on the sheet.
    amputation : plptms.protocol.Amputation
        The amputation.
    head : plptms.targeting.HeadMeasurements
        Tape measurements, cm.
    targets : sequence of str | None
        Targets (``m1``, ``m1_hand``, ``m1_leg``, ``s1``, ``smc``, ``dlpfc``),
        each contralateral to the amputation.
    protocol_id : str | None
        A library protocol whose blocks give the targets and lateralities.
    beam_variant : {"web", "paper"}
        Beam F3 formulas for the DLPFC.

    Returns
    -------
    targets : PatientTargets
        The plans (``site`` is ``None``).

    Raises
    ------
    ValueError
        If neither or both of ``targets`` and ``protocol_id`` are given, or a
        value is not allowed (the message names the field and lists the
        allowed values).
    """
    _check_choice(targets, protocol_id)
    if targets is None and protocol_id is None:
        raise ValueError(
            "Invalid value for 'protocol_id': got None and no targets; allowed: "
            f"targets ({', '.join(t.value for t in TargetSite)}) or a library "
            "protocol_id."
        )
    protocol = None if protocol_id is None else _library_protocol(protocol_id)
    return _plan(
        code,
        None,
        amputation,
        head,
        targets=targets,
        protocol=protocol,
        source="targets" if targets is not None else "library",
        beam_variant=beam_variant,
    )


def _amputation(reg: Registry, site: str, code: str) -> Amputation:
    from ..scales import PLPHistory

    patient = reg.get_patient(site, code)
    if not patient.history:
        raise ValueError(
            f"Invalid value for 'history': patient {site}/{code} has no PLP history "
            "recorded; allowed: a recorded history (amputation side and limb)."
        )
    return PLPHistory.model_validate(patient.history).amputation


def _assigned_protocol(
    assignments: Sequence[AssignmentOut], protocol_id: str
) -> Protocol | None:
    from ..protocol import Protocol

    for a in reversed(assignments):
        if a.protocol_id == protocol_id:
            return Protocol.model_validate(a.protocol)
    return None


def plan_patient_targets(
    reg: Registry,
    site: str,
    code: str,
    head: HeadMeasurements,
    *,
    targets: Sequence[str | TargetSite] | None = None,
    protocol_id: str | None = None,
    beam_variant: BeamVariant | str = "web",
) -> PatientTargets:
    """Plan a registered patient's targets from their amputation and protocol.

    The targets are, in this order of choice: ``targets`` as given (each
    contralateral to the amputation); the blocks of ``protocol_id`` (as
    assigned to this patient if it is, else from the shipped library); the
    blocks of the protocol assigned to the patient last. Nothing is stored.

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    site, code : str
        The patient.
    head : plptms.targeting.HeadMeasurements
        Tape measurements, cm.
    targets : sequence of str | None
        Targets (``m1``, ``m1_hand``, ``m1_leg``, ``s1``, ``smc``, ``dlpfc``).
    protocol_id : str | None
        A protocol assigned to the patient or of the library.
    beam_variant : {"web", "paper"}
        Beam F3 formulas for the DLPFC.

    Returns
    -------
    targets : PatientTargets
        The plans and where they came from.

    Raises
    ------
    plptms.registry.RecordNotFoundError
        If there is no such patient.
    ValueError
        If the patient has no PLP history; if neither targets nor a protocol
        are given and none is assigned (the message says what to give); if
        both are given; if a value is not allowed.
    """
    _check_choice(targets, protocol_id)
    amputation = _amputation(reg, site, code)
    protocol: Protocol | None = None
    source: Source = "targets"
    if targets is None:
        assignments = reg.list_assignments(site, code)
        if protocol_id is None:
            if not assignments:
                raise ValueError(
                    f"Invalid value for 'protocol_id': got None; patient "
                    f"{site}/{code} has no assigned protocol; allowed: a protocol_id "
                    f"({', '.join(_library_ids())}) or targets "
                    f"({', '.join(t.value for t in TargetSite)})."
                )
            protocol_id = assignments[-1].protocol_id
        protocol = _assigned_protocol(assignments, protocol_id)
        source = "assignment"
        if protocol is None:
            protocol, source = _library_protocol(protocol_id), "library"
    return _plan(
        code,
        site,
        amputation,
        head,
        targets=targets,
        protocol=protocol,
        source=source,
        beam_variant=beam_variant,
    )


def targeting_form_for(
    reg: Registry, principal: Principal, site: str, code: str
) -> TargetingForm:
    """Return what the targeting form offers for a patient.

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in user.
    site, code : str
        The patient.

    Returns
    -------
    form : TargetingForm
        The measurements with their ranges, the protocols (assigned and
        library) and the default (assigned last).

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not read treatment (targets reveal the protocol).
    PatientNotFoundError
        If there is no such patient at the user's sites.
    """
    require(principal, Permission.TREATMENT_READ)
    reg = reg.scoped(principal.sites)  # row-level security on PostgreSQL too
    patient = _patient_in_scope(reg, principal, site, code)
    assigned = tuple(a.protocol_id for a in reg.list_assignments(site, code))
    return TargetingForm(
        patient=patient,
        fields=tuple(
            HeadField(name=name, label=_HEAD_LABELS[name], min_cm=lo, max_cm=hi)
            for name, (lo, hi) in HeadMeasurements.RANGES_CM.items()
        ),
        assigned=tuple(dict.fromkeys(assigned)),
        library=_library_ids(),
        default_protocol=assigned[-1] if assigned else None,
        beam_variants=tuple(v.value for v in BeamVariant),
    )


def targeting_for(
    reg: Registry,
    principal: Principal,
    site: str,
    code: str,
    head: HeadMeasurements,
    *,
    targets: Sequence[str | TargetSite] | None = None,
    protocol_id: str | None = None,
    beam_variant: BeamVariant | str = "web",
) -> PatientTargets:
    """Plan a patient's targets for the signed-in user (guarded).

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in user.
    site, code : str
        The patient.
    head : plptms.targeting.HeadMeasurements
        Tape measurements, cm.
    targets, protocol_id, beam_variant
        As :func:`plan_patient_targets`.

    Returns
    -------
    targets : PatientTargets
        The plans.

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not read treatment (a blinded rater).
    PatientNotFoundError
        If there is no such patient at the user's sites.
    ValueError
        As :func:`plan_patient_targets`.
    """
    require(principal, Permission.TREATMENT_READ)
    reg = reg.scoped(principal.sites)  # row-level security on PostgreSQL too
    _patient_in_scope(reg, principal, site, code)
    return plan_patient_targets(
        reg,
        site,
        code,
        head,
        targets=targets,
        protocol_id=protocol_id,
        beam_variant=beam_variant,
    )


def targeting_sheet_png(result: PatientTargets, *, dpi: int = SHEET_DPI) -> bytes:
    """Draw the targeting sheet of a plan as PNG bytes (A4 portrait).

    Parameters
    ----------
    result : PatientTargets
        Planned targets (:func:`plan_patient_targets` or :func:`targeting_for`).
    dpi : int
        Resolution, dots per inch.

    Returns
    -------
    png : bytes
        The sheet (:func:`plptms.targeting.plot_targeting_sheet`), rendered
        with Matplotlib's Agg canvas.

    Raises
    ------
    ValueError
        If the result holds no plan.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from ..targeting import plot_targeting_sheet

    code = result.code if result.site is None else f"{result.site}/{result.code}"
    fig = plot_targeting_sheet(list(result.plans), patient_code=code)
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
