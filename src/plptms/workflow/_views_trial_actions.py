"""Guarded trial writes: enrol, record a visit or an adverse event, unblind.

Each checks the role (:func:`plptms.access.require`), then the trial and the
patient among the user's sites (404 alike for absent and foreign records,
:mod:`plptms.workflow._views_trial`), then calls one trial use case with the
signed-in user as the audited actor. The allocation and the stopping rules run
on the full registry (they balance and count over every site); the visit and
the unblinding on ``reg.scoped(principal.sites)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..access import Permission, Principal, require
from ._views import _patient_in_scope
from ._views_trial import _trial_in_scope, engine_role

if TYPE_CHECKING:
    from ..registry import AdverseEventIn, Registry, TrialVisitOut
    from ._trial_followup import TrialVisitInput
    from ._trial_safety import TrialAdverseEvent
    from ._trials import Enrolment, UnblindingResult

__all__ = ["enrol_for", "record_trial_ae_for", "record_trial_visit_for", "unblind_for"]


def enrol_for(
    reg: Registry,
    principal: Principal,
    trial_id: str,
    site: str,
    code: str,
    factors: dict[str, str],
) -> Enrolment:
    """Enrol a patient of the user's site (the user is the audited actor).

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in user.
    trial_id : str
        The trial.
    site, code : str
        The patient.
    factors : dict of str to str
        A level for every stratification factor (``site`` is filled in).

    Returns
    -------
    enrolment : plptms.workflow.Enrolment
        The kit code and allocation index (never the arm).

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not enrol.
    TrialNotFoundError, PatientNotFoundError
        If the trial or the patient is not among the user's sites.
    plptms.workflow.EnrolmentRefusedError
        Not eligible, a wrong factor level, enrolment paused by a stopping rule.
    plptms.registry.DuplicateRecordError
        If the patient is already enrolled. Nothing is stored on any refusal.
    """
    from ._trials import enrol_patient

    require(principal, Permission.TRIAL_ENROL)
    _trial_in_scope(reg, principal, trial_id)
    _patient_in_scope(reg.scoped(principal.sites), principal, site, code)
    # the full registry: minimisation balances over every site's enrolments,
    # and the stopping rules count every site's adverse events
    return enrol_patient(reg, trial_id, site, code, factors, actor=principal.username)


def record_trial_visit_for(
    reg: Registry, principal: Principal, visit: TrialVisitInput
) -> TrialVisitOut:
    """Record a scheduled visit with the user as the actor.

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in user.
    visit : plptms.workflow.TrialVisitInput
        Patient, visit id, date and (outside the window) a deviation reason.

    Returns
    -------
    visit : plptms.registry.TrialVisitOut
        The stored visit.

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not record trial visits.
    TrialNotFoundError, PatientNotFoundError
        If the trial or the patient is not among the user's sites.
    plptms.workflow.FollowUpRefusedError
        Outside the window without a deviation reason (the window named).
    ValueError
        An unknown visit, a future date, a visit recorded twice. Nothing stored.
    """
    from ._trial_followup import record_trial_visit

    require(principal, Permission.TRIAL_VISIT_WRITE)
    _trial_in_scope(reg, principal, visit.trial_id)
    scoped = reg.scoped(principal.sites)
    _patient_in_scope(scoped, principal, visit.site, visit.code)
    return record_trial_visit(scoped, visit, actor=principal.username)


def record_trial_ae_for(
    reg: Registry,
    principal: Principal,
    trial_id: str,
    site: str,
    code: str,
    event: AdverseEventIn,
) -> TrialAdverseEvent:
    """Record an adverse event of an enrolled patient; apply the stopping rules.

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in user (the audited actor).
    trial_id : str
        The trial.
    site, code : str
        The patient.
    event : plptms.registry.AdverseEventIn
        The event.

    Returns
    -------
    result : plptms.workflow.TrialAdverseEvent
        The stored event, whether it is serious, the rules it met and why.

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not record adverse events.
    TrialNotFoundError, PatientNotFoundError
        If the trial or the patient is not among the user's sites.
    plptms.registry.RecordNotFoundError
        If the patient is not enrolled (nothing stored).
    """
    from ._adverse import AdverseEventInput
    from ._trial_safety import record_trial_adverse_event

    require(principal, Permission.AE_WRITE)
    _trial_in_scope(reg, principal, trial_id)
    _patient_in_scope(reg.scoped(principal.sites), principal, site, code)
    data = AdverseEventInput.model_validate(
        {**event.model_dump(), "site": site, "code": code, "actor": principal.username}
    )
    # the full registry: the stopping rules count every site's events
    return record_trial_adverse_event(reg, trial_id, data)


def unblind_for(
    reg: Registry,
    principal: Principal,
    trial_id: str,
    site: str,
    code: str,
    reason: str,
) -> UnblindingResult:
    """Unblind one patient in an emergency (stored and audited first).

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in user.
    trial_id : str
        The trial.
    site, code : str
        The patient.
    reason : str
        Why (at least :data:`plptms.workflow.UNBLIND_REASON_MIN_CHARS` characters).

    Returns
    -------
    result : plptms.workflow.UnblindingResult
        The arm and the stored unblinding.

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not unblind.
    TrialNotFoundError, PatientNotFoundError
        If the trial or the patient is not among the user's sites.
    plptms.workflow.UnblindingRefusedError
        A reason too short (nothing stored).
    """
    from ._trials import unblind

    require(principal, Permission.TRIAL_UNBLIND)
    _trial_in_scope(reg, principal, trial_id)
    scoped = reg.scoped(principal.sites)
    _patient_in_scope(scoped, principal, site, code)
    return unblind(
        scoped,
        trial_id,
        site,
        code,
        role=engine_role(principal),
        reason=reason,
        actor=principal.username,
    )
