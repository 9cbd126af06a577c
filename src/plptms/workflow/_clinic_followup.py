"""The clinic's follow-up calendar: patients treated outside a trial, after the course.

Application layer: it reads the registry and hands the planner plain values.
For each patient with an assigned protocol (the latest assignment) at the sites
asked for:

- *course progress*: sessions delivered / sessions planned. The planned number
  is the protocol's (its phases in turn, a phase's blocks together); a session
  is delivered when a completed treatment session is recorded for its number
  or a delivery of that number completed (the delivery's date is its start in
  the site's time zone). Partial, aborted and missed sessions do not count.
  While sessions are missing the course is *in course*, with the next session
  number to give.
- once the course is complete (every planned session delivered), a follow-up
  visit at each of the planner's weeks (:data:`plptms.planner`'s
  ``DEFAULT_FOLLOW_UP_WEEKS``) after the last delivered session, dated by the
  planner's rule (:func:`plptms.planner.follow_up_date`: a Saturday or Sunday
  moves to the Monday), each with a window of
  :data:`FOLLOW_UP_WINDOW_DAYS` days either side of its date, ends included.

The state of a visit on a day ``on``:

- ``done``: a pain-intensity assessment (one of :data:`FOLLOW_UP_PAIN_SCALES`)
  is recorded at a visit dated inside the window (one outside it does not
  count);
- ``upcoming``: not done, and ``on`` is before the window;
- ``due``: not done, and ``on`` is inside the window;
- ``overdue``: not done, and the window has closed.

A patient enrolled in a trial is listed with the trial's id only ("see the
trial calendar"): no protocol, no session count, no visit here, so nothing of
the allocation shows on this page.

Blinding and roles: the protocol name and the session counts are given only
to roles holding ``treatment.read`` (the rater rates the visits but sees no
treatment).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import BaseModel, ConfigDict

from ..access import Permission, Principal, require
from ..registry import RecordNotFoundError
from ..scales import pain_intensity_scale_id
from ..utils import check_type
from ._sites import site_today

if TYPE_CHECKING:
    from collections.abc import Collection

    from ..registry import AssessmentOut, AssignmentOut, Registry

__all__ = [
    "FOLLOW_UP_PAIN_SCALES",
    "FOLLOW_UP_WINDOW_DAYS",
    "ClinicFollowUp",
    "ClinicFollowUpRow",
    "ClinicFollowUpVisit",
    "FollowUpSiteNotFoundError",
    "SiteFollowUp",
    "clinic_followup",
    "clinic_followup_for",
]

logger = logging.getLogger(__name__)

_FROZEN = ConfigDict(frozen=True, extra="forbid")

#: Days either side of a clinic follow-up visit's date in which it counts as done
#: (both ends included). No source gives a window for clinical follow-up after
#: rTMS for PLP; one week either side lets the visit fit a weekly clinic slot,
#: keeps the 4- and 12-week visits apart, and is the window of the 1-month
#: follow-up of plptms's example trial. [design]
FOLLOW_UP_WINDOW_DAYS: Final[int] = 7

#: The scales that make a follow-up visit done: phantom pain intensity, average
#: over the recall period, on a VAS or an NRS. The planner's follow-up reads
#: pain intensity against baseline, and pain intensity (VAS) was the primary
#: outcome of the PLP trials of the source review (domain brief, Table 2).
FOLLOW_UP_PAIN_SCALES: Final[tuple[str, ...]] = (
    pain_intensity_scale_id("vas", "phantom", "average"),
    pain_intensity_scale_id("nrs", "phantom", "average"),
)

VisitStatus = Literal["done", "due", "overdue", "upcoming"]
RowStatus = Literal["overdue", "due", "in_course", "upcoming", "done", "trial"]

#: Order of the rows: the most urgent first.
_URGENCY: Final[dict[str, int]] = {
    "overdue": 0,
    "due": 1,
    "in_course": 2,
    "upcoming": 3,
    "done": 4,
    "trial": 5,
}


class FollowUpSiteNotFoundError(RecordNotFoundError):
    """A site filter names a site that is not the user's (or does not exist).

    Reported alike for both, as a patient of another site is: nothing tells
    another site's calendar from a missing one.
    """


class ClinicFollowUpVisit(BaseModel):
    """One follow-up visit after a complete course.

    Attributes
    ----------
    weeks_after_course : int
        Weeks after the last delivered session.
    date : datetime.date
        The planner's date (a weekday).
    window_start, window_end : datetime.date
        The window, both ends included.
    status : {'done', 'due', 'overdue', 'upcoming'}
        State on the calendar's day.
    done_on : datetime.date | None
        The earliest pain assessment inside the window (``done`` only).
    """

    model_config = _FROZEN

    weeks_after_course: int
    date: dt.date
    window_start: dt.date
    window_end: dt.date
    status: VisitStatus
    done_on: dt.date | None = None


class ClinicFollowUpRow(BaseModel):
    """One patient of the calendar.

    Attributes
    ----------
    site, code : str
        The patient.
    status : {'overdue', 'due', 'in_course', 'upcoming', 'done', 'trial'}
        The most urgent state: the earliest visit not done (``done`` when every
        visit is), ``in_course`` before the course is complete, ``trial`` for a
        patient enrolled in a trial.
    protocol_id : str | None
        The assigned protocol; ``None`` for a role without ``treatment.read``
        and for a trial patient.
    assigned_on : datetime.date | None
        Date of the assignment (``None`` for a trial patient).
    sessions_delivered, sessions_planned : int | None
        Course progress (``None`` without ``treatment.read``, for a trial
        patient, and, for the planned count, when the protocol reports none).
    next_session : int | None
        The next session number to give while in course (``treatment.read``
        only).
    last_session_on : datetime.date | None
        Date of the last delivered session (``treatment.read`` only).
    visits : tuple of ClinicFollowUpVisit
        The follow-up visits once the course is complete, by date.
    pain_scale_id : str
        The scale to record at a follow-up: the patient's own phantom pain
        scale (the first of :data:`FOLLOW_UP_PAIN_SCALES` recorded for them),
        else the first of them.
    trial_id : str | None
        The trial the patient is enrolled in.
    note : str
        What the row means, in words, where the state needs it (empty for a
        role without ``treatment.read``, but for a trial patient).
    """

    model_config = _FROZEN

    site: str
    code: str
    status: RowStatus
    protocol_id: str | None
    assigned_on: dt.date | None
    sessions_delivered: int | None
    sessions_planned: int | None
    next_session: int | None
    last_session_on: dt.date | None
    visits: tuple[ClinicFollowUpVisit, ...]
    pain_scale_id: str
    trial_id: str | None = None
    note: str = ""


class SiteFollowUp(BaseModel):
    """One site's calendar.

    Attributes
    ----------
    site : str
        The site.
    on : datetime.date
        The day of the states (the site's date unless given).
    rows : tuple of ClinicFollowUpRow
        Overdue first, then due, in course, upcoming, done, trial patients;
        within a state by the date of the earliest visit not done, then code.
    """

    model_config = _FROZEN

    site: str
    on: dt.date
    rows: tuple[ClinicFollowUpRow, ...]


class ClinicFollowUp(BaseModel):
    """The clinic's follow-up calendar, a table per site.

    Attributes
    ----------
    sites : tuple of SiteFollowUp
        By site code.
    follow_up_weeks : tuple of int
        The planner's follow-up weeks.
    window_days : int
        :data:`FOLLOW_UP_WINDOW_DAYS`.
    pain_scales : tuple of str
        :data:`FOLLOW_UP_PAIN_SCALES`.
    shows_treatment : bool
        Whether protocols and session counts are shown (``treatment.read``).
    """

    model_config = _FROZEN

    sites: tuple[SiteFollowUp, ...]
    follow_up_weeks: tuple[int, ...]
    window_days: int
    pain_scales: tuple[str, ...]
    shows_treatment: bool


def _visit(
    last: dt.date, weeks: int, on: dt.date, assessed: list[dt.date]
) -> ClinicFollowUpVisit:
    from ..planner import follow_up_date

    date = follow_up_date(last, weeks)
    start = date - dt.timedelta(days=FOLLOW_UP_WINDOW_DAYS)
    end = date + dt.timedelta(days=FOLLOW_UP_WINDOW_DAYS)
    inside = sorted(d for d in assessed if start <= d <= end)
    status: VisitStatus
    if inside:
        status = "done"
    elif on < start:
        status = "upcoming"
    elif on <= end:
        status = "due"
    else:
        status = "overdue"
    return ClinicFollowUpVisit(
        weeks_after_course=weeks,
        date=date,
        window_start=start,
        window_end=end,
        status=status,
        done_on=inside[0] if inside else None,
    )


def _delivered(reg: Registry, site: str, assignment_id: int) -> dict[int, dt.date]:
    """Date of each delivered session number (completed record or delivery)."""
    out: dict[int, dt.date] = {}
    for s in reg.list_sessions(assignment_id):
        if s.status.value == "completed":
            out[s.number] = max(out.get(s.number, s.session_date), s.session_date)
    for d in reg.list_deliveries(assignment_id):
        if d.status == "completed":
            day = site_today(reg, site, d.started_at)
            out[d.number] = max(out.get(d.number, day), day)
    return out


def _planned(protocol: dict[str, Any]) -> int | None:
    """Sessions of the assigned protocol, ``None`` when it reports none."""
    from ..protocol import Protocol
    from ._trial_data import _planned_sessions

    try:
        return _planned_sessions(Protocol.model_validate(protocol))
    except ValueError:
        return None


def _trial_of(reg: Registry, sites: Collection[str]) -> dict[tuple[str, str], str]:
    """Map each enrolled patient of ``sites`` to their trial."""
    out: dict[tuple[str, str], str] = {}
    for trial_id in reg.list_trial_ids():
        for e in reg.list_enrolments(trial_id):
            if e.site in sites:
                out.setdefault((e.site, e.code), trial_id)
    return out


def _row(
    reg: Registry,
    site: str,
    code: str,
    assignment: AssignmentOut,
    assessments: list[AssessmentOut],
    *,
    on: dt.date,
    weeks: tuple[int, ...],
    treatment: bool,
) -> ClinicFollowUpRow:
    pain = [a for a in assessments if a.scale_id in FOLLOW_UP_PAIN_SCALES]
    used = {a.scale_id for a in pain}
    scale = next((s for s in FOLLOW_UP_PAIN_SCALES if s in used), None)
    scale = scale or FOLLOW_UP_PAIN_SCALES[0]
    delivered = _delivered(reg, site, assignment.id)
    planned = _planned(assignment.protocol)
    last = max(delivered.values()) if delivered else None
    visits: tuple[ClinicFollowUpVisit, ...] = ()
    status: RowStatus
    next_session = None
    if planned is None or last is None or len(delivered) < planned:
        status = "in_course"
        if planned is not None:
            next_session = next(n for n in range(1, planned + 2) if n not in delivered)
        note = (
            "the protocol reports no number of sessions: the course end is not known"
            if planned is None
            else ""
        )
    else:
        dates = [a.visit_date for a in pain]
        visits = tuple(_visit(last, w, on, dates) for w in weeks)
        pending = [v for v in visits if v.status != "done"]
        status = pending[0].status if pending else "done"
        note = f"course complete on {last.isoformat()}"
    return ClinicFollowUpRow(
        site=site,
        code=code,
        status=status,
        protocol_id=assignment.protocol_id if treatment else None,
        assigned_on=assignment.assigned_on,
        sessions_delivered=len(delivered) if treatment else None,
        sessions_planned=planned if treatment else None,
        next_session=next_session if treatment else None,
        last_session_on=last if treatment else None,
        visits=visits,
        pain_scale_id=scale,
        note=note if treatment else "",
    )


def _sort_key(row: ClinicFollowUpRow) -> tuple[int, dt.date, str]:
    pending = [v.date for v in row.visits if v.status != "done"]
    first = pending[0] if pending else dt.date.max
    return (_URGENCY[row.status], first, row.code)


def clinic_followup(
    reg: Registry,
    *,
    sites: Collection[str] | None,
    on: dt.date | None = None,
    treatment: bool = True,
) -> ClinicFollowUp:
    """Build the clinic's follow-up calendar of ``sites`` (unguarded).

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry (scoped to the user's sites by the guarded wrapper).
    sites : collection of str | None
        The sites, each a table; ``None``: every site with a patient.
    on : datetime.date | None
        The day of the states; each site's own date when ``None``.
    treatment : bool
        Show protocols and session counts (``treatment.read``).

    Returns
    -------
    calendar : ClinicFollowUp
        A table per site, the most urgent rows first.

    Raises
    ------
    TypeError
        If ``on`` is not a date.
    plptms.registry.RegistryError
        If a site code is invalid.
    """
    from ..planner import DEFAULT_FOLLOW_UP_WEEKS

    if on is not None:
        check_type(on, dt.date, "on")
    weeks = tuple(sorted(DEFAULT_FOLLOW_UP_WEEKS))
    if sites is None:
        sites = sorted({p.site for p in reg.list_patients()})
    trials = _trial_of(reg, sites)
    tables: list[SiteFollowUp] = []
    for site in sorted(sites):
        day = on if on is not None else site_today(reg, site)
        rows: list[ClinicFollowUpRow] = []
        for p in reg.list_patients(site):
            trial_id = trials.get((site, p.code))
            if trial_id is not None:
                rows.append(
                    ClinicFollowUpRow(
                        site=site, code=p.code, status="trial", protocol_id=None,
                        assigned_on=None, sessions_delivered=None,
                        sessions_planned=None, next_session=None,
                        last_session_on=None, visits=(),
                        pain_scale_id=FOLLOW_UP_PAIN_SCALES[0], trial_id=trial_id,
                        note="enrolled in a trial: see the trial calendar",
                    )
                )  # fmt: skip
                continue
            assignments = reg.list_assignments(site, p.code)
            if not assignments:
                continue
            rows.append(
                _row(
                    reg,
                    site,
                    p.code,
                    assignments[-1],
                    reg.list_assessments(site, p.code),
                    on=day,
                    weeks=weeks,
                    treatment=treatment,
                )
            )
        rows.sort(key=_sort_key)
        tables.append(SiteFollowUp(site=site, on=day, rows=tuple(rows)))
    logger.debug("Clinic follow-up of %s built.", ", ".join(sorted(sites)))
    return ClinicFollowUp(
        sites=tuple(tables),
        follow_up_weeks=weeks,
        window_days=FOLLOW_UP_WINDOW_DAYS,
        pain_scales=FOLLOW_UP_PAIN_SCALES,
        shows_treatment=treatment,
    )


def clinic_followup_for(
    reg: Registry,
    principal: Principal,
    *,
    site: str | None = None,
    on: dt.date | None = None,
) -> ClinicFollowUp:
    """Return the follow-up calendar of the user's sites (or one of them).

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in user.
    site : str | None
        Only this site, one of the user's.
    on : datetime.date | None
        The day of the states; each site's own date when ``None``.

    Returns
    -------
    calendar : ClinicFollowUp
        A table per site; protocols and session counts only for roles with
        ``treatment.read``.

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not read patients.
    FollowUpSiteNotFoundError
        If ``site`` is not one of the user's (another site's calendar is
        reported as a missing one).
    """
    require(principal, Permission.PATIENT_READ)
    if site is not None and site not in principal.sites:
        mine = ", ".join(sorted(principal.sites)) or "none"
        raise FollowUpSiteNotFoundError(
            f"Invalid value for 'site': got {site!r}; allowed values are {mine} "
            "(your sites)."
        )
    sites = sorted(principal.sites) if site is None else [site]
    for s in sites:
        require(principal, Permission.PATIENT_READ, site=s)
    scoped = reg.scoped(principal.sites)  # row-level security on PostgreSQL too
    return clinic_followup(
        scoped,
        sites=sites,
        on=on,
        treatment=principal.may(Permission.TREATMENT_READ),
    )
