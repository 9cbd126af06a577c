"""Read models and guarded use cases for the web pages and the API.

The web application and the API hold no rule of their own: every page and
endpoint calls one function here with the signed-in :class:`plptms.access.Principal`,
and the function checks the permission table (:func:`plptms.access.require`) and
the user's sites before it reads or writes anything.

Site isolation: a patient of a site the user is not assigned to is reported
exactly as a patient that does not exist (:class:`PatientNotFoundError`, the
same message), so guessing codes at another site reveals nothing. A role that
lacks a permission gets :class:`plptms.access.AccessDeniedError`, decided by
the role alone, before any record is looked up.

Blinding: the treatment section (assignments, sessions, adverse events) is
built only for roles holding ``treatment.read`` (never for the blinded rater),
and shows no protocol condition (active or sham), so an operator stays blind
to a trial arm.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, StrictFloat, StrictInt

from ..access import Permission, Principal, require
from ..registry import (
    AssessmentOut,
    RecordNotFoundError,
    TreatmentSessionOut,
    VisitIn,
)

if TYPE_CHECKING:
    from ..registry import Registry

__all__ = [
    "AdverseEventLine",
    "AssessmentEntry",
    "AssignmentView",
    "DeliveryLine",
    "ItemField",
    "PatientNotFoundError",
    "PatientPage",
    "PatientSummary",
    "RMTView",
    "ScaleForm",
    "ScreeningView",
    "TreatmentView",
    "check_items",
    "entry_patient",
    "list_patients_for",
    "patient_assessments",
    "patient_page",
    "record_assessment_for",
    "scale_form",
    "scale_forms",
    "trajectory_svg",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")

#: Most patients one listing returns (a search narrows it).
LIST_LIMIT = 500


class PatientNotFoundError(RecordNotFoundError):
    """No such patient among the user's sites.

    Raised alike for a patient that does not exist and for one at a site the
    user is not assigned to, with the same message: nothing tells them apart.
    """


class PatientSummary(BaseModel):
    """A patient as the list shows them (pseudonymous code, no name)."""

    model_config = _FROZEN

    site: str
    code: str
    amputation_date: dt.date | None
    created_at: dt.datetime


class ScreeningView(BaseModel):
    """The latest screening: its verdict and why."""

    model_config = _FROZEN

    status: str
    screened_on: dt.date | None
    reasons: tuple[str, ...]


class RMTView(BaseModel):
    """A resting motor threshold (the latest, or one of the history)."""

    model_config = _FROZEN

    rmt_pct_mso: float
    measured_on: dt.date
    method: str | None = None
    hemisphere: str | None = None
    muscle: str | None = None
    pulses_used: int | None = None


class DeliveryLine(BaseModel):
    """A delivery session (no plan, no condition: blind-safe)."""

    model_config = _FROZEN

    number: int
    status: str
    device: str
    blinded: bool
    started_at: dt.datetime
    ended_at: dt.datetime | None


class AssignmentView(BaseModel):
    """A protocol assignment with its sessions (the protocol's condition hidden)."""

    model_config = _FROZEN

    id: int
    protocol_id: str
    decision: str
    assigned_on: dt.date
    sessions: tuple[TreatmentSessionOut, ...]
    deliveries: tuple[DeliveryLine, ...]


class AdverseEventLine(BaseModel):
    """An adverse event as the patient page lists it."""

    model_config = _FROZEN

    id: int
    onset_on: dt.date
    term: str
    severity: str
    serious: bool
    reviewed: bool


class TreatmentView(BaseModel):
    """What only roles with ``treatment.read`` see."""

    model_config = _FROZEN

    assignments: tuple[AssignmentView, ...]
    adverse_events: tuple[AdverseEventLine, ...]


class PatientPage(BaseModel):
    """Everything the patient page shows, filtered by the user's role.

    Attributes
    ----------
    patient : PatientSummary
        The patient.
    history : tuple of (str, str)
        PLP history as (label, text) rows.
    assessments : tuple of AssessmentOut
        Every assessment by visit date.
    screening : ScreeningView | None
        The latest screening, if any.
    rmt : RMTView | None
        The latest RMT, if any.
    rmt_history : tuple of RMTView
        Every stored RMT, oldest first.
    treatment : TreatmentView | None
        Assignments, sessions and adverse events; ``None`` for a role without
        ``treatment.read`` (the section is not shown at all).
    may_record_assessment : bool
        Whether the user may record an assessment of this patient.
    """

    model_config = _FROZEN

    patient: PatientSummary
    history: tuple[tuple[str, str], ...]
    assessments: tuple[AssessmentOut, ...]
    screening: ScreeningView | None
    rmt: RMTView | None
    rmt_history: tuple[RMTView, ...] = ()
    treatment: TreatmentView | None
    may_record_assessment: bool


class ItemField(BaseModel):
    """One item of an entry form: its id and range, never its wording."""

    model_config = _FROZEN

    id: str
    min: float
    max: float
    integer: bool
    unit: str


class ScaleForm(BaseModel):
    """An assessment entry form generated from a scale definition."""

    model_config = _FROZEN

    id: str
    name: str
    items: tuple[ItemField, ...]


class AssessmentEntry(BaseModel):
    """An administration entered by the signed-in user.

    Parameters
    ----------
    scale_id : str
        Scale (see :func:`scale_forms`).
    visit : plptms.registry.VisitIn
        Visit date and kind (matched, or created).
    items : dict of str to int | float | None
        Raw item values, already strictly typed by the shell; checked and
        scored by :func:`plptms.scales.score_record`.
    """

    model_config = _FROZEN

    scale_id: str
    visit: VisitIn
    items: dict[str, StrictInt | StrictFloat | None]


def _not_found(site: str, code: str) -> PatientNotFoundError:
    return PatientNotFoundError(
        f"Invalid value for 'code': got {site}/{code}; no such patient at your sites."
    )


def _patient_in_scope(
    reg: Registry, principal: Principal, site: str, code: str
) -> PatientSummary:
    """Return the patient, or refuse alike when absent or at another site."""
    if site not in principal.sites:
        raise _not_found(site, code)
    try:
        p = reg.get_patient(site, code)
    except RecordNotFoundError:
        raise _not_found(site, code) from None
    return PatientSummary(
        site=p.site,
        code=p.code,
        amputation_date=p.amputation_date,
        created_at=p.created_at,
    )


def list_patients_for(
    reg: Registry,
    principal: Principal,
    *,
    site: str | None = None,
    query: str | None = None,
) -> list[PatientSummary]:
    """List the patients of the user's sites, optionally of one site or matching.

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in user.
    site : str | None
        Only this site; a site the user is not assigned to lists nothing (as a
        site with no patients).
    query : str | None
        Case-insensitive part of the pseudonymous code.

    Returns
    -------
    patients : list of PatientSummary
        By site and code, at most 500.

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not read patients.
    """
    require(principal, Permission.PATIENT_READ)
    reg = reg.scoped(principal.sites)  # row-level security on PostgreSQL too
    sites = sorted(principal.sites) if site is None else [site]
    needle = (query or "").strip().casefold()
    out: list[PatientSummary] = []
    for s in sites:
        if s not in principal.sites:
            continue
        for p in reg.list_patients(s):
            if needle and needle not in p.code.casefold():
                continue
            out.append(
                PatientSummary(
                    site=p.site,
                    code=p.code,
                    amputation_date=p.amputation_date,
                    created_at=p.created_at,
                )
            )
            if len(out) >= LIST_LIMIT:
                return out
    return out


def patient_page(
    reg: Registry, principal: Principal, site: str, code: str
) -> PatientPage:
    """Build the patient page for the user's role.

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
    page : PatientPage
        History, assessments, screening and RMT; assignments, sessions and
        adverse events only for roles with ``treatment.read``.

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not read patients or assessments.
    PatientNotFoundError
        If there is no such patient at the user's sites.
    """
    from ..report import history_rows

    require(principal, Permission.PATIENT_READ)
    require(principal, Permission.ASSESSMENT_READ)
    reg = reg.scoped(principal.sites)  # row-level security on PostgreSQL too
    summary = _patient_in_scope(reg, principal, site, code)
    patient = reg.get_patient(site, code)
    screening = reg.latest_screening(site, code)
    rmt = reg.latest_rmt(site, code)
    treatment = None
    if principal.may(Permission.TREATMENT_READ):
        treatment = _treatment(reg, site, code)
    return PatientPage(
        patient=summary,
        history=tuple(history_rows(patient.history)),
        assessments=tuple(reg.list_assessments(site, code)),
        screening=None
        if screening is None
        else ScreeningView(
            status=screening.status.value,
            screened_on=screening.screened_on,
            reasons=screening.reasons,
        ),
        rmt=None if rmt is None else RMTView(rmt_pct_mso=rmt[0], measured_on=rmt[1]),
        rmt_history=_rmt_history(reg, site, code),
        treatment=treatment,
        may_record_assessment=principal.may(Permission.ASSESSMENT_WRITE),
    )


def _rmt_history(reg: Registry, site: str, code: str) -> tuple[RMTView, ...]:
    """Every stored RMT of a patient, oldest first (the stimulator left out)."""
    return tuple(
        RMTView(**{k: v for k, v in r.items() if k != "stimulator"})
        for r in reg.list_rmt(site, code)
    )


def _treatment(reg: Registry, site: str, code: str) -> TreatmentView:
    assignments = []
    for a in reg.list_assignments(site, code):
        assignments.append(
            AssignmentView(
                id=a.id,
                protocol_id=a.protocol_id,
                decision=a.decision,
                assigned_on=a.assigned_on,
                sessions=tuple(reg.list_sessions(a.id)),
                deliveries=tuple(
                    DeliveryLine(
                        number=d.number,
                        status=d.status,
                        device=d.device,
                        blinded=d.blinded,
                        started_at=d.started_at,
                        ended_at=d.ended_at,
                    )
                    for d in reg.list_deliveries(a.id)
                ),
            )
        )
    events = tuple(
        AdverseEventLine(
            id=e.id,
            onset_on=e.onset_on,
            term=e.term.value,
            severity=e.severity.value,
            serious=e.serious,
            reviewed=e.reviewed,
        )
        for e in reg.list_adverse_events(site, code)
    )
    return TreatmentView(assignments=tuple(assignments), adverse_events=events)


def entry_patient(
    reg: Registry, principal: Principal, site: str, code: str
) -> PatientSummary:
    """Return the patient whose assessment the user is about to enter.

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
    patient : PatientSummary
        The patient.

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not record assessments.
    PatientNotFoundError
        If there is no such patient at the user's sites.
    """
    require(principal, Permission.ASSESSMENT_WRITE)
    return _patient_in_scope(reg.scoped(principal.sites), principal, site, code)


def patient_assessments(
    reg: Registry, principal: Principal, site: str, code: str
) -> list[AssessmentOut]:
    """List a patient's assessments.

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
    assessments : list of plptms.registry.AssessmentOut
        By visit date.

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not read assessments.
    PatientNotFoundError
        If there is no such patient at the user's sites.
    """
    require(principal, Permission.ASSESSMENT_READ)
    reg = reg.scoped(principal.sites)  # row-level security on PostgreSQL too
    _patient_in_scope(reg, principal, site, code)
    return reg.list_assessments(site, code)


def trajectory_svg(
    reg: Registry, principal: Principal, site: str, code: str
) -> str | None:
    """Plot the preferred pain scale over time as SVG.

    The scale is the first of :data:`plptms.workflow.PAIN_SCALE_PREFERENCE`
    with a computed total; the figure is :func:`plptms.report.plot_trajectory`
    with the IMMPACT responder lines (Dworkin et al., 2008).

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
    svg : str | None
        The SVG document, or ``None`` when no pain score is recorded.

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not read assessments.
    PatientNotFoundError
        If there is no such patient at the user's sites.
    """
    from ..report import plot_trajectory
    from ..scales import IMMPACT_MODERATE_PCT, IMMPACT_SUBSTANTIAL_PCT
    from ._planning import PAIN_SCALE_PREFERENCE

    assessments = patient_assessments(reg, principal, site, code)
    scored = {a.scale_id for a in assessments if a.total is not None}
    scale_id = next((s for s in PAIN_SCALE_PREFERENCE if s in scored), None)
    if scale_id is None:
        return None
    fig = plot_trajectory(
        assessments,
        scale_id=scale_id,
        title=f"{code}: {scale_id}",
        moderate_pct=IMMPACT_MODERATE_PCT,
        substantial_pct=IMMPACT_SUBSTANTIAL_PCT,
    )
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()


def scale_forms() -> list[ScaleForm]:
    """Return an entry form for every scale (item ids and ranges only).

    Returns
    -------
    forms : list of ScaleForm
        One per scale of :func:`plptms.scales.list_scales`, in its order.
    """
    from ..scales import list_scales

    return [_form(s.id) for s in list_scales()]


def scale_form(scale_id: str) -> ScaleForm:
    """Return the entry form of one scale.

    Parameters
    ----------
    scale_id : str
        The scale.

    Returns
    -------
    form : ScaleForm
        Its item ids and ranges.

    Raises
    ------
    ValueError
        If there is no such scale (the message lists the scale ids).
    """
    return _form(scale_id)


def _form(scale_id: str) -> ScaleForm:
    from ..scales import get_scale

    s = get_scale(scale_id)
    return ScaleForm(
        id=s.id,
        name=s.name,
        items=tuple(
            ItemField(id=i.id, min=i.min, max=i.max, integer=i.integer, unit=i.unit)
            for i in s.items
        ),
    )


def check_items(scale_id: str, items: dict[str, object]) -> dict[str, str]:
    """Check every item of an entry and collect one message per bad item.

    Parameters
    ----------
    scale_id : str
        The scale (must exist).
    items : dict of str to object
        Raw values by item id (``None`` is missing).

    Returns
    -------
    errors : dict of str to str
        Item id to message (naming the item and its allowed range); empty when
        every item is valid.

    Raises
    ------
    ValueError
        If there is no such scale.
    """
    from ..scales import get_scale, validate_item

    scale = get_scale(scale_id)
    known = set(scale.item_ids)
    errors: dict[str, str] = {}
    for item_id, value in items.items():
        if item_id not in known:
            errors[item_id] = (
                f"Invalid value for '{scale_id}.item': got {item_id!r}; allowed "
                f"values are {', '.join(scale.item_ids)}."
            )
            continue
        try:
            validate_item(scale_id, item_id, value)
        except (TypeError, ValueError) as exc:
            errors[item_id] = str(exc)
    return errors


def record_assessment_for(
    reg: Registry, principal: Principal, site: str, code: str, entry: AssessmentEntry
) -> AssessmentOut:
    """Score and store an assessment with the signed-in user as the actor.

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in user (the audited actor).
    site, code : str
        The patient.
    entry : AssessmentEntry
        Scale, visit and raw items.

    Returns
    -------
    assessment : plptms.registry.AssessmentOut
        The stored, scored assessment.

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not record assessments.
    PatientNotFoundError
        If there is no such patient at the user's sites.
    TypeError, ValueError
        From :func:`plptms.workflow.record_assessment` (an item out of range,
        named with its range; the scale already recorded at that visit, ...).
        Nothing is stored.
    """
    from ._records import AssessmentInput, record_assessment

    require(principal, Permission.ASSESSMENT_WRITE)
    reg = reg.scoped(principal.sites)  # row-level security on PostgreSQL too
    _patient_in_scope(reg, principal, site, code)
    return record_assessment(
        reg,
        AssessmentInput(
            site=site,
            code=code,
            visit=entry.visit,
            scale_id=entry.scale_id,
            items=entry.items,
        ),
        actor=principal.username,
    )
