"""A treatment plan for one patient: calendar, intensity, follow-up, safety."""

from __future__ import annotations

import datetime as dt
import logging
import math
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from ..protocol import (
    PlannedBlock,
    Protocol,
    TargetBasis,
    TargetDeviation,
    TargetSite,
    plan_blocks,
)
from ..safety import (
    Decision,
    Override,
    RuleStatus,
    SafetyContraindicationError,
    ScreeningStatus,
    UnsafeProtocolError,
    Verdict,
    check_protocol,
)
from ..utils import check_range, check_type
from ._constants import (
    DEFAULT_FOLLOW_UP_WEEKS,
    DEFAULT_SESSIONS_PER_WEEK,
    IMMPACT_MODERATE_PCT,
    MAX_CALENDAR_SESSIONS_PER_WEEK,
)
from ._override import OVERRIDE_REQUIREMENT, override_needs, override_text
from ._patient import PatientContext
from ._rank import INCOMPLETE_FLAG

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..safety import SafetyPolicy

__all__ = [
    "FollowUpVisit",
    "SessionVisit",
    "TreatmentPlan",
    "follow_up_date",
    "make_plan",
]

logger = logging.getLogger(__name__)

_FROZEN = ConfigDict(frozen=True, extra="forbid")

#: Weekdays (Monday = 0) used for k sessions a week, spread over the week.
_WEEKDAYS: dict[int, tuple[int, ...]] = {
    1: (0,),
    2: (0, 3),
    3: (0, 2, 4),
    4: (0, 1, 3, 4),
    5: (0, 1, 2, 3, 4),
}

_LOCATE: dict[TargetSite, str] = {
    TargetSite.M1: "motor hotspot of the missing limb's area (MEP hunting)",
    TargetSite.M1_HAND: "hand-area motor hotspot (MEP hunting, e.g. FDI)",
    TargetSite.M1_LEG: "leg-area motor hotspot (MEP hunting, e.g. tibialis anterior)",
    TargetSite.S1: "postcentral gyrus behind the motor hotspot (neuronavigation)",
    TargetSite.SMC: "supplementary motor complex, anterior to the leg motor area on "
    "the midline (see the targeting sheet)",
    TargetSite.DLPFC: "DLPFC by the Beam F3 method or neuronavigation",
}


class SessionVisit(BaseModel):
    """One treatment session in the calendar.

    Attributes
    ----------
    number : int
        1-based session number.
    date : datetime.date
        A weekday.
    blocks : tuple of str
        Labels of the blocks given in this session.
    """

    model_config = _FROZEN

    number: int
    date: dt.date
    blocks: tuple[str, ...]


class FollowUpVisit(BaseModel):
    """A follow-up visit after the course.

    Attributes
    ----------
    weeks_after_course : int
        Weeks after the last session.
    date : datetime.date
        A weekday (moved to Monday when it falls on a weekend).
    assessment : str
        What to assess and how to read it.
    """

    model_config = _FROZEN

    weeks_after_course: int
    date: dt.date
    assessment: str


class TreatmentPlan(BaseModel):
    """A treatment plan for one patient.

    Attributes
    ----------
    protocol_id : str
        Protocol planned.
    patient_id : str | None
        Patient.
    blocks : tuple of PlannedBlock
        Target, hemisphere and intensity (% RMT, % MSO when the RMT is known).
    localisation : tuple of str
        How to find each block's target.
    sessions_per_week : int
        Sessions a week used for the calendar.
    sessions : tuple of SessionVisit
        The calendar.
    follow_ups : tuple of FollowUpVisit
        Follow-up visits.
    maintenance : str
        When to consider maintenance sessions.
    verdict : Verdict
        Safety verdict of the protocol with the patient's RMT (and the recorded
        overrides, if any).
    warnings : tuple of str
        Assumptions made and what must be done before delivery, including every
        target that was not studied (inferred area or recorded deviation) and
        every override.
    target_deviations : tuple of TargetDeviation
        Recorded decisions to plan a block on a target its study did not use.
    """

    model_config = _FROZEN

    protocol_id: str
    patient_id: str | None
    rmt_pct_mso: float | None
    blocks: tuple[PlannedBlock, ...]
    localisation: tuple[str, ...]
    sessions_per_week: int
    sessions: tuple[SessionVisit, ...]
    follow_ups: tuple[FollowUpVisit, ...]
    maintenance: str
    verdict: Verdict
    warnings: tuple[str, ...]
    target_deviations: tuple[TargetDeviation, ...] = ()

    @property
    def all_studied(self) -> bool:
        """Whether every block is planned on the target its study used."""
        return all(b.basis is TargetBasis.STUDIED for b in self.blocks)


def session_dates(
    start_date: dt.date, n_sessions: int, sessions_per_week: int
) -> tuple[dt.date, ...]:
    """Dates of ``n_sessions`` sessions on weekdays, from ``start_date`` on.

    Parameters
    ----------
    start_date : datetime.date
        First possible day; the first session falls on the first scheduled weekday
        on or after it.
    n_sessions : int
        Number of sessions, >= 1.
    sessions_per_week : int
        Sessions a week in [1, 5]: Monday; Monday and Thursday; Monday, Wednesday
        and Friday; every weekday but Wednesday; every weekday.

    Returns
    -------
    dates : tuple of datetime.date
        Ascending weekday dates.

    Raises
    ------
    ValueError
        If a count is out of range.
    """
    check_range(n_sessions, "n_sessions", 1, None, unit="sessions")
    check_range(
        sessions_per_week,
        "sessions_per_week",
        1,
        MAX_CALENDAR_SESSIONS_PER_WEEK,
        unit="sessions/week",
    )
    days = _WEEKDAYS[int(sessions_per_week)]
    out: list[dt.date] = []
    day = start_date
    while len(out) < n_sessions:
        if day.weekday() in days:
            out.append(day)
        day += dt.timedelta(days=1)
    return tuple(out)


def _next_weekday(day: dt.date) -> dt.date:
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def follow_up_date(last_session: dt.date, weeks: int) -> dt.date:
    """Date of the follow-up visit ``weeks`` weeks after the last session.

    The day ``last_session + weeks`` weeks, moved to the next Monday when it
    falls on a Saturday or a Sunday (the rule of :func:`make_plan`'s
    follow-ups).

    Parameters
    ----------
    last_session : datetime.date
        Date of the last session of the course.
    weeks : int
        Weeks after it, >= 1.

    Returns
    -------
    date : datetime.date
        A weekday.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``weeks`` is below 1.
    """
    check_type(last_session, dt.date, "last_session")
    check_type(weeks, int, "weeks")
    check_range(weeks, "weeks", 1, None, unit="weeks")
    return _next_weekday(last_session + dt.timedelta(weeks=int(weeks)))


def _sessions_per_week(
    protocol: Protocol, requested: int | None, warnings: list[str]
) -> int:
    if requested is not None:
        check_type(requested, int, "sessions_per_week")
        check_range(
            requested,
            "sessions_per_week",
            1,
            MAX_CALENDAR_SESSIONS_PER_WEEK,
            unit="sessions/week",
        )
        return requested
    values = [b.mean_sessions_per_week for b in protocol.blocks]
    known = [v for v in values if v is not None]
    if not known:
        warnings.append(
            f"sessions per week not reported: assumed {DEFAULT_SESSIONS_PER_WEEK} "
            "(one each weekday)"
        )
        return DEFAULT_SESSIONS_PER_WEEK
    spw = max(known)
    k = math.ceil(spw - 1e-9)
    if k > MAX_CALENDAR_SESSIONS_PER_WEEK:
        raise ValueError(
            f"Invalid value for 'sessions_per_week': got {spw:g} from the protocol; "
            f"allowed range is [1, {MAX_CALENDAR_SESSIONS_PER_WEEK}] sessions/week "
            "(one session a weekday): pass sessions_per_week explicitly."
        )
    if not math.isclose(k, spw) or any(
        b.sessions_per_week is None for b in protocol.blocks
    ):
        warnings.append(
            f"sessions per week derived from the protocol ({spw:g}), planned as {k}"
        )
    return k


def _visits(protocol: Protocol) -> list[tuple[str, ...]]:
    """Blocks given at each session, phase after phase.

    A block added to another's sessions from session ``from_session`` on is given
    in sessions ``from_session`` to ``from_session + sessions - 1`` of its phase.
    """
    visits: list[tuple[str, ...]] = []
    for phase in sorted({b.phase for b in protocol.blocks}):
        blocks = [b for b in protocol.blocks if b.phase == phase]
        for b in blocks:
            if b.sessions is None:
                raise ValueError(
                    f"Invalid value for 'sessions': got 'unreported' for block "
                    f"{b.label!r} of {protocol.id!r}; allowed: a reported number of "
                    "sessions (the calendar cannot be built without it)."
                )
        spans = {
            b.label: (b.from_session - 1, b.from_session - 1 + int(b.sessions or 0))
            for b in blocks
        }
        n = max(end for _, end in spans.values())
        for k in range(n):
            visits.append(
                tuple(
                    b.label
                    for b in blocks
                    if spans[b.label][0] <= k < spans[b.label][1]
                )
            )
    return visits


def _target_warnings(blocks: tuple[PlannedBlock, ...]) -> list[str]:
    out = []
    for b in blocks:
        studied = "?" if b.studied_target is None else b.studied_target.value
        if b.basis is TargetBasis.INFERRED:
            out.append(
                f"block {b.label}: area {b.target.value} inferred from the amputation, "
                f"not studied (the study gave {studied} without its area)"
            )
        elif b.basis is TargetBasis.NOT_STUDIED and b.deviation is not None:
            out.append(
                f"block {b.label}: target {b.target.value} NOT STUDIED (the study "
                f"used {studied}); deviation recorded by {b.deviation.operator}: "
                f"{b.deviation.reason}"
            )
    return out


def make_plan(
    protocol: Protocol,
    patient: PatientContext,
    *,
    start_date: dt.date,
    rmt_pct_mso: float | None = None,
    sessions_per_week: int | None = None,
    follow_up_weeks: Sequence[int] = DEFAULT_FOLLOW_UP_WEEKS,
    overrides: Sequence[Override] = (),
    target_deviations: Sequence[TargetDeviation] = (),
    policy: SafetyPolicy | None = None,
) -> TreatmentPlan:
    """Plan a course of ``protocol`` for ``patient``.

    Parameters
    ----------
    protocol : Protocol
        The protocol.
    patient : PatientContext
        The patient.
    start_date : datetime.date
        First possible treatment day.
    rmt_pct_mso : float | None
        RMT, % MSO, in (0, 100]; default the patient's.
    sessions_per_week : int | None
        Sessions a week in [1, 5]; default the protocol's (rounded up), else 5.
    follow_up_weeks : sequence of int
        Follow-up visits, weeks after the last session (each >= 1).
    overrides : sequence of plptms.safety.Override
        Recorded operator overrides of overridable refusals (each with its
        reason); the plan then needs physician review.
    target_deviations : sequence of plptms.protocol.TargetDeviation
        Recorded decisions to plan a block on a target its study did not use;
        shown as not studied.
    policy : plptms.safety.SafetyPolicy | None
        The site's safety policy; the default policy when ``None``.

    Returns
    -------
    plan : TreatmentPlan
        Calendar, intensities, follow-ups, maintenance note and safety verdict.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    SafetyContraindicationError
        If screening excluded the patient.
    UnsafeProtocolError
        If the safety engine refuses the protocol; the message lists, per refused
        rule, the field, value and limit and whether (and how) it can be
        overridden.
    ValueError
        If a value is out of range, a block's number of sessions is unreported, a
        laterality cannot be resolved for this amputation, an override targets a
        rule that cannot be overridden, or a deviation is invalid.
    """
    check_type(protocol, Protocol, "protocol")
    check_type(patient, PatientContext, "patient")
    check_type(start_date, dt.date, "start_date")
    for w in follow_up_weeks:
        check_range(w, "follow_up_weeks", 1, None, unit="weeks")
    rmt = patient.rmt_pct_mso if rmt_pct_mso is None else rmt_pct_mso
    if rmt is not None:
        check_range(rmt, "rmt_pct_mso", 0.0, 100.0, low_inclusive=False, unit="% MSO")
    if patient.screening is ScreeningStatus.EXCLUDED:
        raise SafetyContraindicationError(
            "Invalid value for 'screening': got 'excluded'; allowed: 'eligible' or "
            "'needs_physician_review' (an absolute contraindication was found)."
        )
    verdict = check_protocol(
        protocol, rmt_pct_mso=rmt, overrides=overrides, policy=policy
    )
    if verdict.decision is Decision.REFUSED:
        lines = [f"Protocol {protocol.id!r} refused; no plan is made:"]
        lines += [f"  - [{r.block}] {r.message}" for r in verdict.failures]
        lines += [f"  - {override_text(n)}" for n in override_needs(verdict)]
        raise UnsafeProtocolError("\n".join(lines), verdict)
    warnings: list[str] = []
    for r in verdict.rules:
        if r.status is RuleStatus.OVERRIDDEN:
            warnings.append(
                f"safety rule {r.rule_id} [{r.block}] overridden: "
                f"{OVERRIDE_REQUIREMENT}"
            )
    if verdict.decision is Decision.INCOMPLETE:
        missing = sorted({r.field for r in verdict.not_checked})
        warnings.append(f"{INCOMPLETE_FLAG} (not checked: {', '.join(missing)})")
    if patient.screening is None:
        warnings.append("safety screening not done: screen before delivery")
    elif patient.screening is ScreeningStatus.NEEDS_REVIEW:
        warnings.append("screening needs physician review before delivery")
    if rmt is None:
        warnings.append("RMT not measured: intensity in % MSO set after measuring it")
    blocks = plan_blocks(
        protocol, patient.amputation, rmt, deviations=tuple(target_deviations)
    )
    warnings.extend(_target_warnings(blocks))
    spw = _sessions_per_week(protocol, sessions_per_week, warnings)
    visits = _visits(protocol)
    dates = session_dates(start_date, len(visits), spw)
    sessions = tuple(
        SessionVisit(number=k + 1, date=d, blocks=v)
        for k, (d, v) in enumerate(zip(dates, visits, strict=True))
    )
    last = dates[-1]
    follow_ups = tuple(
        FollowUpVisit(
            weeks_after_course=int(w),
            date=follow_up_date(last, int(w)),
            assessment=(
                "pain intensity against baseline; a reduction of at least "
                f"{IMMPACT_MODERATE_PCT:g} % is moderately important (IMMPACT)"
            ),
        )
        for w in sorted(follow_up_weeks)
    )
    maintenance = (
        "If pain returns - a reduction from baseline below "
        f"{IMMPACT_MODERATE_PCT:g} % (IMMPACT) at a follow-up - consider maintenance "
        "sessions of the same protocol, each checked again by the safety engine; "
        "effects often fade after the course and no trial defines a maintenance "
        "schedule."
    )
    logger.info("Planned %s: %d sessions from %s.", protocol.id, len(dates), dates[0])
    return TreatmentPlan(
        protocol_id=protocol.id,
        patient_id=patient.patient_id,
        rmt_pct_mso=rmt,
        blocks=blocks,
        localisation=tuple(f"{b.label}: {_LOCATE[b.target]}" for b in blocks),
        sessions_per_week=spw,
        sessions=sessions,
        follow_ups=follow_ups,
        maintenance=maintenance,
        verdict=verdict,
        warnings=tuple(warnings),
        target_deviations=tuple(target_deviations),
    )
