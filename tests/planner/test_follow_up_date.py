"""plptms.planner.follow_up_date against dates counted on a calendar by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from plptms.planner import follow_up_date

D = dt.date


@pytest.mark.parametrize(
    ("last", "weeks", "expected"),
    [
        (D(2026, 3, 6), 4, D(2026, 4, 3)),  # Fri + 4 weeks: a Friday, kept
        (D(2026, 3, 6), 12, D(2026, 5, 29)),  # Fri + 12 weeks: a Friday
        (D(2026, 3, 7), 4, D(2026, 4, 6)),  # Sat 04-04 -> Mon 04-06
        (D(2026, 3, 8), 4, D(2026, 4, 6)),  # Sun 04-05 -> Mon 04-06
        (D(2024, 2, 3), 4, D(2024, 3, 4)),  # leap year: Sat 03-02 -> Mon 03-04
    ],
)
def test_follow_up_date(last: dt.date, weeks: int, expected: dt.date) -> None:
    assert follow_up_date(last, weeks) == expected


def test_follow_up_date_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="weeks"):
        follow_up_date(D(2026, 3, 6), 0)
    with pytest.raises(TypeError, match="last_session"):
        follow_up_date("2026-03-06", 4)  # type: ignore[arg-type]
