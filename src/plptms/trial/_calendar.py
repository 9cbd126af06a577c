"""A patient's visit calendar from the trial's schedule, and the state of each visit.

Dates are calendar dates (:class:`datetime.date`), counted in whole days from the
randomisation date (day 0), so leap days count as days like any other. A visit
``v`` is due on ``randomised_on + v.day`` and its window runs from
``due - window_before_days`` to ``due + window_after_days``, both ends included.

Months are not calendar months: a schedule gives days. To turn months into days,
plptms uses the mean Gregorian month, ``365.2425 / 12 = 30.436875`` days (the
Gregorian calendar has 97 leap years in 400, so its mean year is
``(400 * 365 + 97) / 400 = 365.2425`` days), rounded down
(:func:`months_to_days`): 1 month = 30 days, 3 = 91, 6 = 182, 12 = 365. This is a
plptms convention, not taken from a published source.

States of a visit on a given day (:func:`visit_status`):

- ``done``: a record dated inside the window;
- ``done_out_of_window``: a record dated outside the window;
- ``upcoming``: no record, and the window has not opened;
- ``due``: no record, the window is open and the due date is today or later;
- ``overdue``: no record, the due date has passed but the window is still open;
- ``missed``: no record, and the window has closed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from ..utils import check_type

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from ._definition import TrialDefinition

__all__ = [
    "DAYS_PER_MONTH",
    "PlannedVisit",
    "VisitState",
    "VisitStatus",
    "months_to_days",
    "visit_calendar",
    "visit_status",
]

#: Mean Gregorian month, days: 365.2425 / 12 (97 leap years in 400; arithmetic, no
#: source needed). plptms convention for month follow-ups. [design]
DAYS_PER_MONTH: Final[float] = 365.2425 / 12

VisitState = Literal[
    "due", "overdue", "missed", "done", "done_out_of_window", "upcoming"
]


@dataclass(frozen=True, slots=True)
class PlannedVisit:
    """One visit of a patient's calendar.

    Parameters
    ----------
    visit_id : str
        The visit (a :class:`~._definition.VisitSpec` id).
    due : datetime.date
        Due date: randomisation date plus the visit's day.
    window_start, window_end : datetime.date
        First and last day of the window, both included.
    """

    visit_id: str
    due: dt.date
    window_start: dt.date
    window_end: dt.date

    def in_window(self, day: dt.date) -> bool:
        """Whether ``day`` falls in the window (ends included).

        Parameters
        ----------
        day : datetime.date
            The day.

        Returns
        -------
        inside : bool
            ``True`` if ``window_start <= day <= window_end``.
        """
        return self.window_start <= day <= self.window_end


@dataclass(frozen=True, slots=True)
class VisitStatus:
    """The state of one visit on a given day.

    Parameters
    ----------
    visit_id : str
        The visit.
    state : {'due', 'overdue', 'missed', 'done', 'done_out_of_window', 'upcoming'}
        Its state (see the module docstring).
    planned : PlannedVisit
        The calendar entry.
    done_on : datetime.date | None
        The recorded date, if any.
    days_outside : int
        For ``done_out_of_window``: days before the window (negative) or after it
        (positive); else 0.
    """

    visit_id: str
    state: VisitState
    planned: PlannedVisit
    done_on: dt.date | None = None
    days_outside: int = 0


def _check_date(value: object, field: str) -> dt.date:
    # a datetime is a date subclass: refuse it, a time of day has no meaning here
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise TypeError(
            f"Invalid type for {field!r}: got {type(value).__name__} ({value!r}); "
            "allowed: datetime.date."
        )
    return value


def months_to_days(months: int) -> int:
    """Convert whole months to days by the plptms convention.

    Parameters
    ----------
    months : int
        Whole months, >= 0.

    Returns
    -------
    days : int
        ``floor(months * 365.2425 / 12)``: 1 -> 30, 3 -> 91, 6 -> 182, 12 -> 365.

    Raises
    ------
    TypeError
        If ``months`` is not an int.
    ValueError
        If ``months`` is negative.
    """
    check_type(months, int, "months")
    if months < 0:
        raise ValueError(
            f"Invalid value for 'months': got {months!r}; allowed range is [0, inf)."
        )
    # exact in integers: 365.2425 / 12 = 146097 / 4800
    return (months * 146097) // 4800


def visit_calendar(defn: TrialDefinition, randomised_on: dt.date) -> list[PlannedVisit]:
    """Return a patient's visit calendar.

    Parameters
    ----------
    defn : TrialDefinition
        The trial definition (version under which the patient is followed).
    randomised_on : datetime.date
        The randomisation date (day 0).

    Returns
    -------
    calendar : list of PlannedVisit
        One entry per visit, in schedule order.

    Raises
    ------
    TypeError
        If ``randomised_on`` is not a date (a datetime is refused).
    ValueError
        If a date falls outside the supported calendar (years 1-9999).
    """
    from ._definition import TrialDefinition

    check_type(defn, TrialDefinition, "defn")
    start = _check_date(randomised_on, "randomised_on")
    out: list[PlannedVisit] = []
    for v in defn.visits:
        try:
            due = start + dt.timedelta(days=v.day)
            lo = due - dt.timedelta(days=v.window_before_days)
            hi = due + dt.timedelta(days=v.window_after_days)
        except OverflowError:
            raise ValueError(
                f"Invalid value for 'randomised_on': got {start.isoformat()}; allowed: "
                f"a date whose visit {v.id!r} (day {v.day}) and its window fall in "
                "years 1-9999."
            ) from None
        out.append(PlannedVisit(visit_id=v.id, due=due, window_start=lo, window_end=hi))
    return out


def visit_status(
    calendar: Sequence[PlannedVisit],
    done: Mapping[str, dt.date],
    today: dt.date,
) -> list[VisitStatus]:
    """Return the state of every visit on ``today``.

    Parameters
    ----------
    calendar : sequence of PlannedVisit
        The patient's calendar (:func:`visit_calendar`).
    done : Mapping[str, datetime.date]
        Visit id to the date it was recorded.
    today : datetime.date
        The day the states are for.

    Returns
    -------
    statuses : list of VisitStatus
        One per calendar entry, in calendar order (see the module docstring for
        the states).

    Raises
    ------
    TypeError
        If a date is not a :class:`datetime.date` (a datetime is refused).
    ValueError
        If ``done`` names a visit not in the calendar, or a record is dated after
        ``today``.
    """
    now = _check_date(today, "today")
    ids = [p.visit_id for p in calendar]
    unknown = sorted(set(done) - set(ids))
    if unknown:
        raise ValueError(
            f"Invalid value for 'done': got visits {unknown} not in the calendar; "
            f"allowed values are {ids}."
        )
    out: list[VisitStatus] = []
    for p in calendar:
        if p.visit_id in done:
            on = _check_date(done[p.visit_id], f"done[{p.visit_id!r}]")
            if on > now:
                raise ValueError(
                    f"Invalid value for 'done[{p.visit_id!r}]': got {on.isoformat()}; "
                    f"allowed: on or before today ({now.isoformat()})."
                )
            if p.in_window(on):
                out.append(VisitStatus(p.visit_id, "done", p, on))
            else:
                outside = (
                    (on - p.window_start).days
                    if on < p.window_start
                    else (on - p.window_end).days
                )
                out.append(
                    VisitStatus(p.visit_id, "done_out_of_window", p, on, outside)
                )
            continue
        state: VisitState
        if now < p.window_start:
            state = "upcoming"
        elif now <= p.due:
            state = "due"
        elif now <= p.window_end:
            state = "overdue"
        else:
            state = "missed"
        out.append(VisitStatus(p.visit_id, state, p))
    return out
