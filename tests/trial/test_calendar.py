"""Tests of the visit calendar and visit states, on hand-worked dates."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plptms.protocol import load_data
from plptms.trial._calendar import (
    PlannedVisit,
    months_to_days,
    visit_calendar,
    visit_status,
)
from plptms.trial._definition import TrialDefinition

EXAMPLE = Path(str(resources.files("plptms.trial") / "data" / "example_trial.yaml"))
D = dt.date


@pytest.fixture(scope="module")
def example() -> TrialDefinition:
    return TrialDefinition.model_validate(load_data(EXAMPLE))


def _by_id(cal: list[PlannedVisit]) -> dict[str, PlannedVisit]:
    return {p.visit_id: p for p in cal}


def test_months_to_days_convention() -> None:
    """floor(k * 365.2425 / 12): the mean Gregorian month (97 leap years in 400).

    Hand-worked: 30.436875, 91.310625, 182.62125, 365.2425 days; 4800 months are
    exactly 400 Gregorian years, 146097 days.
    """
    assert [months_to_days(k) for k in (0, 1, 3, 6, 12)] == [0, 30, 91, 182, 365]
    assert months_to_days(4800) == 146097
    with pytest.raises(ValueError, match="'months'"):
        months_to_days(-1)
    with pytest.raises(TypeError, match="'months'"):
        months_to_days(True)
    with pytest.raises(TypeError, match="'months'"):
        months_to_days(1.0)  # type: ignore[arg-type]


def test_calendar_leap_year_hand_worked(example: TrialDefinition) -> None:
    """Randomised 2024-01-15 (2024 is a leap year), dates counted by hand.

    Day 44: 31 January is day 16, so 28 February. Day 105: 29 February is day 45,
    31 March day 76, so 29 April. Day 196: 30 April is day 106, 31 May 137,
    30 June 167, so 29 July.
    """
    cal = _by_id(visit_calendar(example, D(2024, 1, 15)))
    assert cal["baseline"] == PlannedVisit(
        "baseline", D(2024, 1, 15), D(2024, 1, 1), D(2024, 1, 15)
    )
    assert cal["session_01"] == PlannedVisit(
        "session_01", D(2024, 1, 16), D(2024, 1, 16), D(2024, 1, 18)
    )
    assert cal["end_of_course"] == PlannedVisit(
        "end_of_course", D(2024, 1, 29), D(2024, 1, 29), D(2024, 2, 1)
    )
    # Feb 28 + 7 days crosses 29 February 2024: 6 March
    assert cal["followup_1m"] == PlannedVisit(
        "followup_1m", D(2024, 2, 28), D(2024, 2, 21), D(2024, 3, 6)
    )
    assert cal["followup_3m"] == PlannedVisit(
        "followup_3m", D(2024, 4, 29), D(2024, 4, 15), D(2024, 5, 13)
    )
    assert cal["followup_6m"] == PlannedVisit(
        "followup_6m", D(2024, 7, 29), D(2024, 7, 15), D(2024, 8, 12)
    )


def test_calendar_common_year_hand_worked(example: TrialDefinition) -> None:
    """Randomised 2023-01-15 (common year): day 44 is still 28 February, but day
    105 is 30 April (February has 28 days: 31 March is day 75) and the 1-month
    window closes on 7 March.
    """
    cal = _by_id(visit_calendar(example, D(2023, 1, 15)))
    assert cal["followup_1m"] == PlannedVisit(
        "followup_1m", D(2023, 2, 28), D(2023, 2, 21), D(2023, 3, 7)
    )
    assert cal["followup_3m"].due == D(2023, 4, 30)


def test_calendar_across_29_february(example: TrialDefinition) -> None:
    """Randomised 2024-02-27: session 2 (day 2) is 29 February, session 3 1 March;
    from 2023-02-27 session 2 is 1 March.
    """
    leap = _by_id(visit_calendar(example, D(2024, 2, 27)))
    assert leap["session_02"].due == D(2024, 2, 29)
    assert leap["session_03"].due == D(2024, 3, 1)
    common = _by_id(visit_calendar(example, D(2023, 2, 27)))
    assert common["session_02"].due == D(2023, 3, 1)


@given(st.dates(min_value=D(1900, 1, 1), max_value=D(2200, 12, 31)))
def test_calendar_matches_ordinal_arithmetic(start: dt.date) -> None:
    """Due date and window ends equal proleptic Gregorian ordinals plus days."""
    defn = TrialDefinition.model_validate(load_data(EXAMPLE))
    for p, v in zip(visit_calendar(defn, start), defn.visits, strict=True):
        o = start.toordinal() + v.day
        assert p.due == D.fromordinal(o)
        assert p.window_start == D.fromordinal(o - v.window_before_days)
        assert p.window_end == D.fromordinal(o + v.window_after_days)


def test_calendar_bad_input(example: TrialDefinition) -> None:
    with pytest.raises(TypeError, match="'randomised_on'"):
        visit_calendar(example, dt.datetime(2024, 1, 15, 9, 0))
    with pytest.raises(TypeError, match="'randomised_on'"):
        visit_calendar(example, "2024-01-15")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'randomised_on'"):
        visit_calendar(example, D(9999, 12, 1))


def _states(cal: list[PlannedVisit], done: dict[str, dt.date], today: dt.date) -> dict:
    return {s.visit_id: s for s in visit_status(cal, done, today)}


def test_visit_states_hand_worked(example: TrialDefinition) -> None:
    """Randomised 2024-01-15, today 2024-02-25, states by the definitions."""
    cal = visit_calendar(example, D(2024, 1, 15))
    done = {
        "baseline": D(2024, 1, 10),  # window 1-15 January
        "session_01": D(2024, 1, 16),  # window 16-18 January
        "session_02": D(2024, 1, 20),  # window 17-19 January: one day late
        "session_04": D(2024, 1, 17),  # window 19-21 January: two days early
    }
    s = _states(cal, done, D(2024, 2, 25))
    assert s["baseline"].state == "done"
    assert s["session_01"].state == "done"
    assert (s["session_02"].state, s["session_02"].days_outside) == (
        "done_out_of_window",
        1,
    )
    assert (s["session_04"].state, s["session_04"].days_outside) == (
        "done_out_of_window",
        -2,
    )
    assert s["session_03"].state == "missed"  # window closed 20 January
    assert s["end_of_course"].state == "missed"  # window closed 1 February
    assert s["followup_1m"].state == "due"  # window 21 Feb - 6 Mar, due 28 Feb
    assert s["followup_3m"].state == "upcoming"
    assert s["followup_6m"].done_on is None


@pytest.mark.parametrize(
    ("today", "state"),
    [
        (D(2024, 2, 20), "upcoming"),  # the day before the window opens
        (D(2024, 2, 21), "due"),  # window opens
        (D(2024, 2, 28), "due"),  # the due date itself
        (D(2024, 2, 29), "overdue"),  # past due, in the window (leap day)
        (D(2024, 3, 6), "overdue"),  # last day of the window
        (D(2024, 3, 7), "missed"),  # window closed without a record
    ],
)
def test_visit_state_boundaries(
    example: TrialDefinition, today: dt.date, state: str
) -> None:
    """followup_1m: due 2024-02-28, window 2024-02-21 to 2024-03-06 (ends included)."""
    cal = visit_calendar(example, D(2024, 1, 15))
    assert _states(cal, {}, today)["followup_1m"].state == state


def test_visit_status_bad_input(example: TrialDefinition) -> None:
    cal = visit_calendar(example, D(2024, 1, 15))
    with pytest.raises(ValueError, match=r"'done'.*week_2"):
        visit_status(cal, {"week_2": D(2024, 1, 20)}, D(2024, 2, 1))
    with pytest.raises(ValueError, match=r"done\['baseline'\]"):
        visit_status(cal, {"baseline": D(2024, 2, 2)}, D(2024, 2, 1))
    with pytest.raises(TypeError, match="'today'"):
        visit_status(cal, {}, "2024-02-01")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"done\['baseline'\]"):
        visit_status(cal, {"baseline": "2024-01-10"}, D(2024, 2, 1))  # type: ignore[dict-item]
