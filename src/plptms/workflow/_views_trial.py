"""Read models and guarded use cases of the trial pages (web and API).

Every function checks the permission table first (:func:`plptms.access.require`
with the site, or :func:`plptms.access.require_sites` for trial-wide actions,
which need every site of the trial among the user's), then calls one trial
use case with the signed-in user as the audited actor and the role mapped onto
the engine's role strings (:data:`plptms.workflow.ARM_VIEW_ROLES`,
:data:`plptms.workflow.UNBLIND_ROLES`, :data:`plptms.workflow.ANALYSIS_ROLES`).

Site isolation: the role is checked first (:class:`plptms.access.AccessDeniedError`,
before any record is read); then a trial none of whose sites is the user's, or
another site's calendar, is reported as a trial that does not exist
(:class:`TrialNotFoundError`), and a patient of another site as a missing one
(:class:`plptms.workflow.PatientNotFoundError`), with the same messages.
Per-patient reads and writes run on ``reg.scoped(principal.sites)`` (row-level
security on PostgreSQL). What needs the whole trial runs on the full registry
after those checks, and only the user's sites' rows are kept: the allocation
(minimisation balances over every site's enrolments), the stopping rules (they
count every site's adverse events) and every listing of enrolments (the
registry refuses a partial allocation history, which is what a scoped view of
a user with some of the trial's sites sees on PostgreSQL).

The writes (enrolment, visits, adverse events, unblinding) are in
:mod:`plptms.workflow._views_trial_actions`; the trial-wide analyses and
exports in :mod:`plptms.workflow._views_trial_data`.

Blinding: the arm of a patient, the arms' labels and conditions are given only
to roles holding ``trial.arm.read``, whose engine role is in
:data:`plptms.workflow.ARM_VIEW_ROLES` (the statistician); every other role
sees the number of arms and the kit codes.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, ConfigDict

from ..access import Permission, Principal, Role, require
from ..registry import RecordNotFoundError
from ._views import PatientNotFoundError, _patient_in_scope

if TYPE_CHECKING:
    from ..registry import Registry
    from ..trial import TrialDefinition
    from ._trial_followup import PatientVisits, TrialVisitLists

__all__ = [
    "ArmLine",
    "EnrolCandidate",
    "EnrolForm",
    "EnrolmentLine",
    "FactorLine",
    "TrialLine",
    "TrialNotFoundError",
    "TrialPage",
    "TrialPatientPage",
    "engine_role",
    "enrol_form",
    "list_trials_for",
    "trial_page",
    "trial_patient_page",
    "trial_visit_lists_for",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")

#: plptms.access roles onto the trial engine's role strings (the same words; a
#: role absent from the engine's tuples is refused by the engine as well).
_ENGINE_ROLES: Final[dict[Role, str]] = {
    Role.STATISTICIAN: "statistician",
    Role.PHYSICIAN: "physician",
    Role.OPERATOR: "operator",
    Role.RATER: "rater",
    Role.MONITOR: "monitor",
    Role.ADMINISTRATOR: "administrator",
}


class TrialNotFoundError(RecordNotFoundError):
    """No such trial at the user's sites (absent and foreign trials alike)."""


class TrialLine(BaseModel):
    """A trial in the list (no arm)."""

    model_config = _FROZEN

    trial_id: str
    title: str
    version: int
    sites: tuple[str, ...]
    my_sites: tuple[str, ...]
    n_arms: int
    enrolled_at_my_sites: int


class ArmLine(BaseModel):
    """An arm of the definition (shown to ``trial.arm.read`` only)."""

    model_config = _FROZEN

    id: str
    label: str
    condition: str
    ratio: int


class FactorLine(BaseModel):
    """A stratification factor and its levels."""

    model_config = _FROZEN

    id: str
    levels: tuple[str, ...]


class EnrolmentLine(BaseModel):
    """An enrolment at one of the user's sites; ``arm_id`` only for arm readers."""

    model_config = _FROZEN

    site: str
    code: str
    kit_code: str
    allocation_index: int
    enrolled_at: dt.datetime
    arm_id: str | None


class TrialPage(BaseModel):
    """The trial page, filtered by the user's role and sites.

    Attributes
    ----------
    trial : TrialLine
        The trial.
    arms : tuple of ArmLine | None
        The arms, or ``None`` for a role without ``trial.arm.read``.
    kit_codes : tuple of str
        Kit codes of the enrolments at the user's sites.
    factors : tuple of FactorLine
        Stratification factors.
    visits : tuple of (str, str, int)
        The schedule: visit id, label, day from randomisation.
    enrolments : tuple of EnrolmentLine
        Enrolments at the user's sites (arm only for arm readers).
    rules : tuple of StoppingRuleState
        Every stopping rule's state (counts over every site).
    alerts : tuple of str
        A met rule, or an unreviewed serious adverse event at the user's sites.
    enrolment_paused : bool
        Whether a met rule holds enrolment.
    may : dict of str to bool
        Which actions the page offers (``enrol``, ``visit``, ``ae``,
        ``unblind``, ``analyse``, ``export``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    trial: TrialLine
    arms: tuple[ArmLine, ...] | None
    kit_codes: tuple[str, ...]
    factors: tuple[FactorLine, ...]
    visits: tuple[tuple[str, str, int], ...]
    enrolments: tuple[EnrolmentLine, ...]
    rules: tuple[Any, ...]
    alerts: tuple[str, ...]
    enrolment_paused: bool
    may: dict[str, bool]


class EnrolCandidate(BaseModel):
    """A patient of the user's trial sites with their screening and enrolment."""

    model_config = _FROZEN

    site: str
    code: str
    screening: str
    enrolled: bool


class EnrolForm(BaseModel):
    """What the enrolment form offers."""

    model_config = _FROZEN

    trial: TrialLine
    candidates: tuple[EnrolCandidate, ...]
    factors: tuple[FactorLine, ...]


class TrialPatientPage(BaseModel):
    """An enrolled patient's calendar (kit code; arm only for arm readers)."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    trial: TrialLine
    visits: Any
    arm_id: str | None
    visit_ids: tuple[str, ...]


def engine_role(principal: Principal) -> str:
    """Return the trial engine's role string for the user's role.

    Parameters
    ----------
    principal : plptms.access.Principal
        The signed-in user.

    Returns
    -------
    role : str
        ``"statistician"``, ``"physician"``, ... (the role's own word).
    """
    return _ENGINE_ROLES[principal.role]


def _sees_arms(principal: Principal) -> bool:
    from ._trials import ARM_VIEW_ROLES

    return (
        principal.may(Permission.TRIAL_ARM_READ)
        and engine_role(principal) in ARM_VIEW_ROLES
    )


def _trial_ids(reg: Registry) -> list[str]:
    """Every trial id (the trials table holds no patient data)."""
    return reg.list_trial_ids()


def _not_found(trial_id: str) -> TrialNotFoundError:
    return TrialNotFoundError(
        f"Invalid value for 'trial_id': got {trial_id!r}; no such trial at your sites."
    )


def _trial_in_scope(
    reg: Registry, principal: Principal, trial_id: str
) -> tuple[TrialLine, TrialDefinition]:
    """Return the trial, or refuse alike when absent or at none of the user's sites."""
    from ..registry import RegistryError
    from ._trials import _definition_of

    try:
        trial = reg.get_trial(trial_id)
    except RegistryError:  # unknown, or an id that is not even well formed
        raise _not_found(trial_id) from None
    defn: TrialDefinition = _definition_of(trial, None)
    sites = tuple(s.code for s in defn.sites)
    mine = tuple(s for s in sites if s in principal.sites)
    if not mine:
        raise _not_found(trial_id)
    enrolled = reg.scoped(principal.sites).list_enrolments(trial_id)
    return (
        TrialLine(
            trial_id=trial.trial_id,
            title=trial.title,
            version=trial.version,
            sites=sites,
            my_sites=mine,
            n_arms=len(defn.arms),
            enrolled_at_my_sites=sum(e.site in mine for e in enrolled),
        ),
        defn,
    )


def _factors(defn: TrialDefinition) -> tuple[FactorLine, ...]:
    return tuple(
        FactorLine(id=f.id, levels=tuple(str(v) for v in f.levels))
        for f in defn.stratification
    )


def list_trials_for(reg: Registry, principal: Principal) -> list[TrialLine]:
    """List the trials that run at one of the user's sites.

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in user.

    Returns
    -------
    trials : list of TrialLine
        By trial id (no arm).

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not read trials.
    """
    require(principal, Permission.TRIAL_READ)
    out = []
    for tid in _trial_ids(reg):
        try:
            out.append(_trial_in_scope(reg, principal, tid)[0])
        except TrialNotFoundError:
            continue
    return out


def trial_page(reg: Registry, principal: Principal, trial_id: str) -> TrialPage:
    """Build the trial page for the user's role and sites.

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
    page : TrialPage
        Definition summary, enrolments at the user's sites, stopping rules and
        alerts (arms only for ``trial.arm.read``).

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not read trials.
    TrialNotFoundError
        If the trial does not exist or runs at none of the user's sites.
    """
    from ._trial_safety import stopping_rule_states

    require(principal, Permission.TRIAL_READ)
    line, defn = _trial_in_scope(reg, principal, trial_id)
    scoped = reg.scoped(principal.sites)
    arms = _sees_arms(principal)
    enrolments = tuple(
        EnrolmentLine(
            site=e.site,
            code=e.code,
            kit_code=e.kit_code,
            allocation_index=e.allocation_index,
            enrolled_at=e.enrolled_at,
            arm_id=e.arm_id if arms else None,
        )
        for e in scoped.list_enrolments(trial_id)
        if e.site in line.my_sites
    )
    status = stopping_rule_states(reg, trial_id)  # every site's events count
    alerts = [
        f"Stopping rule {r.rule_id!r} is met ({r.description}): adverse event(s) "
        f"{', '.join(map(str, r.counted))}; action: {r.action.replace('_', ' ')}."
        for r in status.rules
        if r.met
    ]
    for e in enrolments:
        for ae in scoped.list_adverse_events(e.site, e.code):
            if ae.serious and not ae.reviews:
                alerts.append(
                    f"Unreviewed serious adverse event {ae.id} ({ae.term.value}, "
                    f"onset {ae.onset_on}) of kit {e.kit_code} at {e.site}: a "
                    "physician must review it."
                )
    may = {
        "enrol": principal.may(Permission.TRIAL_ENROL),
        "visit": principal.may(Permission.TRIAL_VISIT_WRITE),
        "ae": principal.may(Permission.AE_WRITE),
        "unblind": principal.may(Permission.TRIAL_UNBLIND),
        "analyse": principal.may(Permission.TRIAL_ANALYSE)
        and set(line.sites) <= principal.sites,
        "export": principal.may(Permission.TRIAL_EXPORT)
        and set(line.sites) <= principal.sites,
    }
    return TrialPage(
        trial=line,
        arms=tuple(
            ArmLine(id=a.id, label=a.label, condition=str(a.condition), ratio=a.ratio)
            for a in defn.arms
        )
        if arms
        else None,
        kit_codes=tuple(e.kit_code for e in enrolments),
        factors=_factors(defn),
        visits=tuple((v.id, v.label, v.day) for v in defn.visits),
        enrolments=enrolments,
        rules=status.rules,
        alerts=tuple(alerts),
        enrolment_paused=status.enrolment_paused,
        may=may,
    )


def enrol_form(reg: Registry, principal: Principal, trial_id: str) -> EnrolForm:
    """Return the enrolment form: the patients of the user's trial sites, factors.

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
    form : EnrolForm
        Every patient of the user's trial sites with their latest screening
        verdict and whether they are enrolled; the factors but ``site`` (the
        enrolling site fills it).

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not enrol.
    TrialNotFoundError
        If the trial does not exist or runs at none of the user's sites.
    """
    require(principal, Permission.TRIAL_ENROL)
    line, defn = _trial_in_scope(reg, principal, trial_id)
    scoped = reg.scoped(principal.sites)
    enrolled = {
        (e.site, e.code)
        for e in scoped.list_enrolments(trial_id)
        if e.site in line.my_sites
    }
    candidates = []
    for site in line.my_sites:
        for p in scoped.list_patients(site):
            s = scoped.latest_screening(site, p.code)
            candidates.append(
                EnrolCandidate(
                    site=site,
                    code=p.code,
                    screening="not screened" if s is None else s.status.value,
                    enrolled=(site, p.code) in enrolled,
                )
            )
    return EnrolForm(
        trial=line,
        candidates=tuple(candidates),
        factors=tuple(f for f in _factors(defn) if f.id != "site"),
    )


def trial_visit_lists_for(
    reg: Registry,
    principal: Principal,
    trial_id: str,
    site: str,
    *,
    today: dt.date | None = None,
) -> TrialVisitLists:
    """Return a site's follow-up calendar: due, overdue and missed visits.

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in user.
    trial_id : str
        The trial.
    site : str
        One of the user's sites.
    today : datetime.date | None
        The day of the states (the site's today when ``None``).

    Returns
    -------
    lists : plptms.workflow.TrialVisitLists
        Per patient and per state, by kit code (never the arm).

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not read trials.
    TrialNotFoundError
        If the trial does not exist, runs at none of the user's sites or not at
        this one (another site's calendar is reported as a missing one).
    """
    from ._trial_followup import trial_visit_lists

    require(principal, Permission.TRIAL_READ)
    line, _ = _trial_in_scope(reg, principal, trial_id)
    if site not in line.my_sites:
        raise _not_found(trial_id)
    # the full registry: the lists read the whole allocation history (a scoped
    # view on PostgreSQL holds part of it); they return this site's rows only
    return trial_visit_lists(reg, trial_id, site, today=today)


def trial_patient_page(
    reg: Registry,
    principal: Principal,
    trial_id: str,
    site: str,
    code: str,
    *,
    action: Permission | None = None,
) -> TrialPatientPage:
    """Return an enrolled patient's own calendar.

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
    action : plptms.access.Permission | None
        A permission the page is for (a form: ``trial.unblind``, ``ae.write``,
        ...), required at the patient's site too.

    Returns
    -------
    page : TrialPatientPage
        Their visits (states, windows), the schedule's visit ids, the arm for
        arm readers only.

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not read trials (or lacks ``action``).
    TrialNotFoundError, PatientNotFoundError
        If the trial or the patient is not among the user's sites, or the
        patient is not enrolled.
    """
    from ._trials import allocation_for

    require(principal, Permission.TRIAL_READ)
    if action is not None:
        require(principal, action)
    line, defn = _trial_in_scope(reg, principal, trial_id)
    scoped = reg.scoped(principal.sites)
    _patient_in_scope(scoped, principal, site, code)
    lists = trial_visit_lists_for(reg, principal, trial_id, site)
    mine: PatientVisits | None = next(
        (p for p in lists.patients if p.code == code), None
    )
    if mine is None:
        raise PatientNotFoundError(
            f"Invalid value for 'code': got {site}/{code}; not enrolled in "
            f"{trial_id!r} at your sites."
        )
    view = allocation_for(scoped, trial_id, site, code, role=engine_role(principal))
    return TrialPatientPage(
        trial=line,
        visits=mine,
        arm_id=view.arm_id if _sees_arms(principal) else None,
        visit_ids=tuple(v.id for v in defn.visits),
    )
