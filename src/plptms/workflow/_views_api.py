"""Guarded use cases the JSON API needs beyond the pages' own.

The RMT of a patient (its history as the patient page shows it, and recording
a measured one), an enrolment answered as the role may see it, a trial's
follow-up calendar over all the user's sites, and the CONSORT counts as data.

Every function checks the permission table first (:func:`plptms.access.require`),
then the patient or the trial among the user's sites (absent and foreign
records are refused alike: :class:`plptms.workflow.PatientNotFoundError`,
:class:`plptms.workflow.TrialNotFoundError`), then calls one use case with the
signed-in user as the audited actor. Per-patient reads and writes run on
``reg.scoped(principal.sites)`` (row-level security on PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from ..access import Permission, Principal, require
from ._views import RMTView, _patient_in_scope, _rmt_history
from ._views_trial import _not_found, _sees_arms, _trial_in_scope, engine_role
from ._views_trial_data import _trial_wide

if TYPE_CHECKING:
    from ..registry import Registry
    from ._threshold import RMTInput, RMTRecorded
    from ._trial_followup import TrialVisitLists

__all__ = [
    "ConsortArmCounts",
    "ConsortCounts",
    "EnrolmentView",
    "enrol_view_for",
    "record_rmt_for",
    "rmt_history_for",
    "trial_calendar_for",
    "trial_consort_counts_for",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- RMT
def rmt_history_for(
    reg: Registry, principal: Principal, site: str, code: str
) -> list[RMTView]:
    """Return every stored RMT of a patient, oldest first (the patient page's).

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
    history : list of RMTView
        Date, RMT (% MSO), method, hemisphere, muscle and pulses of each hunt.

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not read patients and their assessments.
    PatientNotFoundError
        If there is no such patient at the user's sites.
    """
    require(principal, Permission.PATIENT_READ)
    require(principal, Permission.ASSESSMENT_READ)
    scoped = reg.scoped(principal.sites)
    _patient_in_scope(scoped, principal, site, code)
    return list(_rmt_history(scoped, site, code))


def record_rmt_for(reg: Registry, principal: Principal, rmt: RMTInput) -> RMTRecorded:
    """Store a measured RMT (the user is the audited actor); check the doses.

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in user.
    rmt : plptms.workflow.RMTInput
        The patient, the converged hunt, hemisphere, muscle, stimulator, date.

    Returns
    -------
    recorded : plptms.workflow.RMTRecorded
        The RMT stored and each current assignment's verdict with it.

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not record an RMT.
    PatientNotFoundError
        If there is no such patient at the user's sites.
    plptms.registry.RegistryError, plptms.motor.ThresholdNotFoundError
        A hunt that did not converge, a future date (nothing is stored).
    """
    from ._threshold import record_rmt

    require(principal, Permission.RMT_WRITE)
    scoped = reg.scoped(principal.sites)
    _patient_in_scope(scoped, principal, rmt.site, rmt.code)
    return record_rmt(scoped, rmt, actor=principal.username)


# --------------------------------------------------------------------- enrolment
class EnrolmentView(BaseModel):
    """An enrolment as the enrolling user may see it.

    Attributes
    ----------
    trial_id : str
        The trial.
    version : int
        The definition version in force.
    site, code : str
        The patient.
    allocation_index : int
        0-based index of the allocation.
    kit_code : str
        The kit to deliver.
    enrolled_at : datetime.datetime
        When (UTC).
    arm_id : str | None
        The arm, only for a role holding ``trial.arm.read``; ``None`` otherwise.
    """

    model_config = _FROZEN

    trial_id: str
    version: int
    site: str
    code: str
    allocation_index: int
    kit_code: str
    enrolled_at: dt.datetime
    arm_id: str | None


def enrol_view_for(
    reg: Registry,
    principal: Principal,
    trial_id: str,
    site: str,
    code: str,
    factors: dict[str, str],
) -> EnrolmentView:
    """Enrol and randomise a patient; answer with what the role may see.

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
    factors : dict of str to str
        A level for every stratification factor but ``site``.

    Returns
    -------
    enrolment : EnrolmentView
        The kit code; the arm only for ``trial.arm.read``.

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
    from ._trials import allocation_for
    from ._views_trial_actions import enrol_for

    e = enrol_for(reg, principal, trial_id, site, code, factors)
    arm = None
    if _sees_arms(principal):
        view = allocation_for(
            reg.scoped(principal.sites),
            trial_id,
            site,
            code,
            role=engine_role(principal),
        )
        arm = view.arm_id
    return EnrolmentView(**e.model_dump(), arm_id=arm)


# ---------------------------------------------------------------------- calendar
def trial_calendar_for(
    reg: Registry,
    principal: Principal,
    trial_id: str,
    site: str | None = None,
    *,
    today: dt.date | None = None,
) -> list[TrialVisitLists]:
    """Return the follow-up calendar of one or every trial site of the user.

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in user.
    trial_id : str
        The trial.
    site : str | None
        One of the user's trial sites; ``None`` for all of them.
    today : datetime.date | None
        The day of the states (each site's today when ``None``).

    Returns
    -------
    lists : list of plptms.workflow.TrialVisitLists
        Per site, in site order: the patients' visits and the due, overdue and
        missed ones, by kit code (never the arm).

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not read trials.
    TrialNotFoundError
        If the trial is not among the user's sites, or ``site`` is not one of
        the user's trial sites (reported as a missing trial).
    """
    from ._trial_followup import trial_visit_lists

    require(principal, Permission.TRIAL_READ)
    line, _ = _trial_in_scope(reg, principal, trial_id)
    if site is not None and site not in line.my_sites:
        raise _not_found(trial_id)
    sites = line.my_sites if site is None else (site,)
    # the full registry: the lists read the whole allocation history (a scoped
    # view on PostgreSQL holds part of it); each returns its own site's rows
    return [trial_visit_lists(reg, trial_id, s, today=today) for s in sites]


# ----------------------------------------------------------------------- CONSORT
class ConsortArmCounts(BaseModel):
    """One arm of the CONSORT flow, with its derived counts.

    Attributes
    ----------
    label : str
        The arm as drawn.
    allocated, received, analysed : int
        Allocated; received the allocated intervention; analysed.
    not_received, lost, discontinued, excluded_from_analysis : dict of str to int
        By reason.
    """

    model_config = _FROZEN

    label: str
    allocated: int
    received: int
    analysed: int
    not_received: dict[str, int]
    lost: dict[str, int]
    discontinued: dict[str, int]
    excluded_from_analysis: dict[str, int]


class ConsortCounts(BaseModel):
    """The CONSORT 2010 flow of a trial as numbers (the diagram's counts).

    Attributes
    ----------
    trial_id : str
        The trial.
    assessed : int
        Assessed for eligibility.
    excluded : dict of str to int
        Excluded before randomisation, by reason.
    randomised : int
        The sum of the arms' allocations.
    arms : tuple of ConsortArmCounts
        The arms, in the order drawn.
    """

    model_config = _FROZEN

    trial_id: str
    assessed: int
    excluded: dict[str, int]
    randomised: int
    arms: tuple[ConsortArmCounts, ...]


def trial_consort_counts_for(
    reg: Registry, principal: Principal, trial_id: str
) -> ConsortCounts:
    """Count the CONSORT flow (statistician, every trial site).

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in user.
    trial_id : str
        The trial.

    Returns
    -------
    counts : ConsortCounts
        The counts :func:`plptms.workflow.trial_consort` gives, with the
        randomised, received and analysed totals.

    Raises
    ------
    plptms.access.AccessDeniedError
        Without ``trial.analyse`` at every site of the trial.
    TrialNotFoundError
        If the trial is not among the user's sites.
    """
    from ._trial_data import trial_consort

    scoped = _trial_wide(reg, principal, trial_id, Permission.TRIAL_ANALYSE)
    flow = trial_consort(scoped, trial_id, role=engine_role(principal))
    return ConsortCounts(
        trial_id=trial_id,
        assessed=flow.assessed,
        excluded=dict(flow.excluded),
        randomised=flow.randomised,
        arms=tuple(
            ConsortArmCounts(
                label=a.label,
                allocated=a.allocated,
                received=a.received,
                analysed=a.analysed,
                not_received=dict(a.not_received),
                lost=dict(a.lost),
                discontinued=dict(a.discontinued),
                excluded_from_analysis=dict(a.excluded_from_analysis),
            )
            for a in flow.arms
        ),
    )
