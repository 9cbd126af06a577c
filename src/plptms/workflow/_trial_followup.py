"""Trial follow-up use cases: record scheduled visits, list them per site, withdraw.

Every date of the follow-up is a calendar date at the patient's site
(:func:`plptms.workflow.site_today`): the randomisation date is the enrolment's
moment in the site's time zone, and a visit's window is computed from it with
:func:`plptms.trial.visit_calendar` on the definition in force (the newest
version).

- :func:`record_trial_visit` stores a visit dated inside its window; outside it,
  the visit is refused with the window in the message, unless a deviation reason
  is given: it is then stored as a protocol deviation (days outside, reason).
  It is linked to the registry visit of that date, whose assessments belong to
  it; the registry visit's kind follows :func:`trial_visit_kind`.
- :func:`trial_visit_lists` gives each patient's visit states at a site
  (:func:`plptms.trial.visit_status`) and the due, overdue and missed lists, by
  kit code, never the arm; after a withdrawal, visits are ``withdrawn`` (not
  expected), not missed.
- :func:`withdraw_patient` records a withdrawal once; nothing is deleted, and
  :func:`plptms.workflow.prepare_trial_session` refuses a withdrawn patient.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..registry import VisitKind
from ._sites import site_today
from ._trials import _definition_of

if TYPE_CHECKING:
    from ..registry import EnrolmentOut, Registry, TrialVisitOut, WithdrawalOut

__all__ = [
    "FollowUpRefusedError",
    "PatientVisits",
    "TrialVisitInput",
    "TrialVisitLists",
    "VisitLine",
    "WithdrawalInput",
    "randomisation_date",
    "record_trial_visit",
    "trial_visit_kind",
    "trial_visit_lists",
    "withdraw_patient",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")

#: The states of a visit in the lists: those of :func:`plptms.trial.visit_status`
#: and ``withdrawn`` (not expected: the patient withdrew before its window closed).
VisitLineState = Literal[
    "due", "overdue", "missed", "done", "done_out_of_window", "upcoming", "withdrawn"
]


class FollowUpRefusedError(ValueError):
    """A follow-up record is refused (outside the window, withdrawn, wrong role)."""


class TrialVisitInput(BaseModel):
    """A scheduled trial visit to record.

    Attributes
    ----------
    trial_id : str
        The trial.
    site, code : str
        The enrolled patient.
    visit_id : str
        A visit of the schedule (e.g. ``followup_1m``).
    visit_date : datetime.date
        The date it took place (at the site; not in the future).
    deviation_reason : str | None
        Only for a date outside the window: why (at least 5 characters); the
        visit is then stored as a protocol deviation.
    """

    model_config = _FROZEN

    trial_id: str = Field(min_length=1, max_length=64)
    site: str = Field(min_length=1, max_length=32)
    code: str = Field(min_length=1, max_length=64)
    visit_id: str = Field(min_length=1, max_length=64)
    visit_date: dt.date
    deviation_reason: str | None = Field(default=None, max_length=2000)


class WithdrawalInput(BaseModel):
    """A patient's withdrawal from a trial.

    Attributes
    ----------
    trial_id : str
        The trial.
    site, code : str
        The enrolled patient.
    on : datetime.date
        The date of withdrawal (from randomisation to today, at the site).
    reason : str
        ``withdrew_consent``, ``lost_to_follow_up``, ``adverse_event``,
        ``death``, ``investigator_decision`` or ``other``.
    detail : str
        Free text (0-2000 characters).
    """

    model_config = _FROZEN

    trial_id: str = Field(min_length=1, max_length=64)
    site: str = Field(min_length=1, max_length=32)
    code: str = Field(min_length=1, max_length=64)
    on: dt.date
    reason: Literal[
        "withdrew_consent",
        "lost_to_follow_up",
        "adverse_event",
        "death",
        "investigator_decision",
        "other",
    ]
    detail: str = Field(default="", max_length=2000)


class VisitLine(BaseModel):
    """One visit of one patient, as the site's lists show it (no arm).

    Attributes
    ----------
    site, code : str
        The patient.
    kit_code : str
        The patient's kit code.
    visit_id : str
        The schedule's visit.
    state : str
        ``due``, ``overdue``, ``missed``, ``done``, ``done_out_of_window``,
        ``upcoming`` or ``withdrawn`` (not expected after a withdrawal).
    due, window_start, window_end : datetime.date
        Due date and window (ends included).
    done_on : datetime.date | None
        The recorded date, if any.
    days_outside : int
        For ``done_out_of_window``: days before (negative) or after the window.
    """

    model_config = _FROZEN

    site: str
    code: str
    kit_code: str
    visit_id: str
    state: VisitLineState
    due: dt.date
    window_start: dt.date
    window_end: dt.date
    done_on: dt.date | None
    days_outside: int


class PatientVisits(BaseModel):
    """One patient's calendar and visit states.

    Attributes
    ----------
    site, code : str
        The patient.
    kit_code : str
        The kit code.
    randomised_on : datetime.date
        Randomisation date (day 0) at the site.
    withdrawn_on : datetime.date | None
        Withdrawal date, if withdrawn.
    visits : tuple of VisitLine
        Every visit of the schedule, in order.
    """

    model_config = _FROZEN

    site: str
    code: str
    kit_code: str
    randomised_on: dt.date
    withdrawn_on: dt.date | None
    visits: tuple[VisitLine, ...]


class TrialVisitLists(BaseModel):
    """A site's follow-up on one day: each patient's visits, and what is pending.

    Attributes
    ----------
    trial_id : str
        The trial.
    site : str
        The site.
    today : datetime.date
        The day the states are for.
    version : int
        The definition version whose schedule is used.
    patients : tuple of PatientVisits
        The site's enrolled patients, by allocation.
    due, overdue, missed : tuple of VisitLine
        The visits in each state, by due date.
    """

    model_config = _FROZEN

    trial_id: str
    site: str
    today: dt.date
    version: int
    patients: tuple[PatientVisits, ...]
    due: tuple[VisitLine, ...]
    overdue: tuple[VisitLine, ...]
    missed: tuple[VisitLine, ...]


def randomisation_date(reg: Registry, enrolment: EnrolmentOut) -> dt.date:
    """Return a patient's randomisation date (day 0) at their site.

    Parameters
    ----------
    reg : Registry
        The registry (it holds the site's time zone).
    enrolment : plptms.registry.EnrolmentOut
        The enrolment.

    Returns
    -------
    date : datetime.date
        The enrolment's moment as a date in the site's time zone.
    """
    return site_today(reg, enrolment.site, at=enrolment.enrolled_at)


def _course_days(definition: Any) -> int:
    """Longest stimulation course of the trial's arms, days (0 if unreported)."""
    longest = 0.0
    for arm in definition.arms:
        phases: dict[int, float] = {}
        for block in definition.arm_protocol(arm.id).blocks:
            weeks = block.course_weeks or 0.0
            phases[block.phase] = max(phases.get(block.phase, 0.0), weeks)
        longest = max(longest, 7.0 * sum(phases.values()))
    return int(longest)


def trial_visit_kind(definition: Any, visit_id: str) -> VisitKind:
    """Return the registry visit kind of a scheduled visit (a plptms rule).

    The first visit is the baseline; a visit before the end of the longest
    stimulation course of the arms (7 days per course week, phases in
    sequence) is a treatment visit; the first visit on or after it is the
    post-treatment visit; later ones are follow-ups. The rule depends on the
    schedule only, never on the patient's arm.

    Parameters
    ----------
    definition : plptms.trial.TrialDefinition
        The definition.
    visit_id : str
        A visit of its schedule.

    Returns
    -------
    kind : plptms.registry.VisitKind
        The kind.

    Raises
    ------
    KeyError
        If the visit is not in the schedule.
    """
    visit = definition.visit(visit_id)
    if visit.id == definition.baseline_visit.id:
        return VisitKind.BASELINE
    end = _course_days(definition)
    if visit.day < end:
        return VisitKind.TREATMENT
    after = [v.id for v in definition.visits if v.day >= end and v.day > 0]
    return VisitKind.POST_TREATMENT if after[:1] == [visit.id] else VisitKind.FOLLOW_UP


def _schedule_visit(definition: Any, visit_id: str) -> Any:
    ids = [v.id for v in definition.visits]
    if visit_id not in ids:
        raise ValueError(
            f"Invalid value for 'visit_id': got {visit_id!r}; allowed values are "
            f"{', '.join(ids)}."
        )
    return definition.visit(visit_id)


def record_trial_visit(
    reg: Registry,
    visit: TrialVisitInput,
    *,
    actor: str,
    definition_type: Any | None = None,
) -> TrialVisitOut:
    """Record a scheduled visit of an enrolled patient (audited).

    Parameters
    ----------
    reg : Registry
        The registry.
    visit : TrialVisitInput
        The patient, the schedule's visit, its date and, outside the window, the
        deviation reason.
    actor : str
        Who records it.
    definition_type : type | None
        The definition class (:class:`plptms.trial.TrialDefinition` by default).

    Returns
    -------
    visit : plptms.registry.TrialVisitOut
        The stored trial visit (with its kit code, never the arm).

    Raises
    ------
    plptms.registry.RecordNotFoundError
        If the trial does not exist or the patient is not enrolled.
    ValueError
        If the visit is not in the schedule, or the date is in the future.
    FollowUpRefusedError
        If the date is outside the visit's window and no deviation reason is
        given, or a deviation reason is given for a date inside it.
    plptms.registry.DuplicateRecordError
        If the visit is already recorded.
    plptms.registry.RegistryError
        If the patient withdrew before the date, or on bad input (nothing is
        stored).
    """
    from ..trial import visit_calendar

    trial = reg.get_trial(visit.trial_id)
    definition = _definition_of(trial, definition_type)
    spec = _schedule_visit(definition, visit.visit_id)
    enrolment = reg.get_enrolment(visit.trial_id, visit.site, visit.code)
    today = site_today(reg, visit.site)
    if visit.visit_date > today:
        raise ValueError(
            f"Invalid value for 'visit_date': got {visit.visit_date.isoformat()}; "
            f"allowed: a date not in the future (on or before {today.isoformat()} "
            f"at site {visit.site})."
        )
    start = randomisation_date(reg, enrolment)
    planned = next(
        p for p in visit_calendar(definition, start) if p.visit_id == spec.id
    )
    window = (
        f"{planned.window_start.isoformat()} to {planned.window_end.isoformat()} "
        f"(due {planned.due.isoformat()}, day {spec.day} from randomisation on "
        f"{start.isoformat()})"
    )
    day = visit.visit_date
    outside = 0
    if day < planned.window_start:
        outside = (day - planned.window_start).days
    elif day > planned.window_end:
        outside = (day - planned.window_end).days
    if outside and visit.deviation_reason is None:
        raise FollowUpRefusedError(
            f"Invalid value for 'visit_date': got {day.isoformat()} for visit "
            f"{spec.id!r}, {abs(outside)} day(s) {'before' if outside < 0 else 'after'}"
            f" its window; allowed: {window}, or give a deviation_reason to record "
            "it as a protocol deviation."
        )
    if not outside and visit.deviation_reason is not None:
        raise FollowUpRefusedError(
            f"Invalid value for 'deviation_reason': got {visit.deviation_reason!r} "
            f"for {day.isoformat()}, inside the window of {spec.id!r} ({window}); "
            "allowed: none inside the window."
        )
    return reg.record_trial_visit(
        visit.trial_id,
        visit.site,
        visit.code,
        visit_id=spec.id,
        version=trial.version,
        done_on=day,
        kind=trial_visit_kind(definition, spec.id),
        days_outside=outside,
        deviation_reason=visit.deviation_reason,
        actor=actor,
    )


def _lines(
    enrolment: EnrolmentOut,
    calendar: list[Any],
    done: dict[str, dt.date],
    today: dt.date,
    withdrawn_on: dt.date | None,
) -> tuple[VisitLine, ...]:
    from ..trial import visit_status

    out = []
    for st in visit_status(calendar, done, today):
        p = st.planned
        state: VisitLineState = st.state
        if (
            withdrawn_on is not None
            and st.done_on is None
            and p.window_end >= withdrawn_on
        ):
            state = "withdrawn"
        out.append(
            VisitLine(
                site=enrolment.site,
                code=enrolment.code,
                kit_code=enrolment.kit_code,
                visit_id=st.visit_id,
                state=state,
                due=p.due,
                window_start=p.window_start,
                window_end=p.window_end,
                done_on=st.done_on,
                days_outside=st.days_outside,
            )
        )
    return tuple(out)


def trial_visit_lists(
    reg: Registry,
    trial_id: str,
    site: str,
    *,
    today: dt.date | None = None,
    definition_type: Any | None = None,
) -> TrialVisitLists:
    """Return a site's visit states and its due, overdue and missed lists.

    Parameters
    ----------
    reg : Registry
        The registry.
    trial_id : str
        The trial.
    site : str
        The site.
    today : datetime.date | None
        The day the states are for; the site's today when ``None``. Visits
        recorded after it are not counted.
    definition_type : type | None
        The definition class (:class:`plptms.trial.TrialDefinition` by default).

    Returns
    -------
    lists : TrialVisitLists
        Per patient (kit code, never the arm) and per state.

    Raises
    ------
    plptms.registry.RecordNotFoundError
        If the trial does not exist.
    ValueError
        If the site is not one of the trial's sites.
    """
    from ..trial import visit_calendar

    trial = reg.get_trial(trial_id)
    definition = _definition_of(trial, definition_type)
    sites = [s.code for s in definition.sites]
    if site not in sites:
        raise ValueError(
            f"Invalid value for 'site': got {site!r}; allowed values are "
            f"{', '.join(sites)}."
        )
    day = site_today(reg, site) if today is None else today
    schedule = {v.id for v in definition.visits}
    recorded: dict[str, dict[str, dt.date]] = {}
    for v in reg.list_trial_visits(trial_id, site=site):
        if v.visit_id in schedule and v.done_on <= day:
            recorded.setdefault(v.code, {})[v.visit_id] = v.done_on
    withdrawn = {
        w.code: w.withdrawn_on for w in reg.list_withdrawals(trial_id) if w.site == site
    }
    patients = []
    for e in reg.list_enrolments(trial_id):
        if e.site != site:
            continue
        start = randomisation_date(reg, e)
        lines = _lines(
            e,
            visit_calendar(definition, start),
            recorded.get(e.code, {}),
            day,
            withdrawn.get(e.code),
        )
        patients.append(
            PatientVisits(
                site=e.site,
                code=e.code,
                kit_code=e.kit_code,
                randomised_on=start,
                withdrawn_on=withdrawn.get(e.code),
                visits=lines,
            )
        )

    def pick(state: str) -> tuple[VisitLine, ...]:
        found = [v for p in patients for v in p.visits if v.state == state]
        return tuple(sorted(found, key=lambda v: (v.due, v.code)))

    return TrialVisitLists(
        trial_id=trial_id,
        site=site,
        today=day,
        version=trial.version,
        patients=tuple(patients),
        due=pick("due"),
        overdue=pick("overdue"),
        missed=pick("missed"),
    )


def withdraw_patient(
    reg: Registry, withdrawal: WithdrawalInput, *, actor: str
) -> WithdrawalOut:
    """Record a patient's withdrawal from a trial (once; audited; nothing deleted).

    Parameters
    ----------
    reg : Registry
        The registry.
    withdrawal : WithdrawalInput
        The patient, the date and the reason.
    actor : str
        Who records it.

    Returns
    -------
    withdrawal : plptms.registry.WithdrawalOut
        The stored withdrawal.

    Raises
    ------
    plptms.registry.RecordNotFoundError
        If the patient is not enrolled in the trial.
    ValueError
        If the date is before randomisation or in the future (at the site).
    plptms.registry.DuplicateRecordError
        If the patient has already withdrawn.
    plptms.registry.RegistryError
        If a trial visit is recorded after the date (nothing is stored).
    """
    w = withdrawal
    enrolment = reg.get_enrolment(w.trial_id, w.site, w.code)
    start = randomisation_date(reg, enrolment)
    today = site_today(reg, w.site)
    if not start <= w.on <= today:
        raise ValueError(
            f"Invalid value for 'on': got {w.on.isoformat()}; allowed range is "
            f"[{start.isoformat()}, {today.isoformat()}] (from randomisation to "
            f"today at site {w.site})."
        )
    return reg.record_withdrawal(
        w.trial_id,
        w.site,
        w.code,
        on=w.on,
        reason=w.reason,
        detail=w.detail,
        actor=actor,
    )
