"""The clinic follow-up calendar (workflow._clinic_followup) with hand dates.

Oracle: dates counted by hand on a calendar. The course of ``small-10hz``
(10 sessions) runs Mon 2026-02-23 to Fri 2026-03-06; 4 weeks later is Fri
2026-04-03 and 12 weeks later Fri 2026-05-29, each with a window of 7 days
either side: 2026-03-27 to 2026-04-10 and 2026-05-22 to 2026-06-05. A course
ending on Sat 2026-03-07 puts its 4-week visit on Sat 2026-04-04, moved to Mon
2026-04-06.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from plptms.access import AccessDeniedError, Principal, Role
from plptms.protocol import Protocol
from plptms.registry import Registry, SessionStatus, VisitIn
from plptms.safety import check_protocol
from plptms.workflow import AssessmentInput, record_assessment
from plptms.workflow._clinic_followup import (
    FollowUpSiteNotFoundError,
    clinic_followup,
    clinic_followup_for,
)
from tests._review import REVIEW
from tests.workflow.conftest import protocol_data

D = dt.date
#: Weekdays of the course, Mon 2026-02-23 to Fri 2026-03-06 (counted by hand).
COURSE = (
    D(2026, 2, 23), D(2026, 2, 24), D(2026, 2, 25), D(2026, 2, 26), D(2026, 2, 27),
    D(2026, 3, 2), D(2026, 3, 3), D(2026, 3, 4), D(2026, 3, 5), D(2026, 3, 6),
)  # fmt: skip
W4, W4_START, W4_END = D(2026, 4, 3), D(2026, 3, 27), D(2026, 4, 10)
W12, W12_START, W12_END = D(2026, 5, 29), D(2026, 5, 22), D(2026, 6, 5)


def _p(role: Role, sites: frozenset[str] = frozenset({"S1"})) -> Principal:
    return Principal(username=f"u-{role.value}", role=role, sites=sites)


DR = _p(Role.PHYSICIAN)
RATER = _p(Role.RATER)


def _course(
    reg: Registry,
    site: str,
    code: str,
    dates: tuple[dt.date, ...] = COURSE,
    *,
    last: SessionStatus = SessionStatus.COMPLETED,
) -> int:
    if code not in {p.code for p in reg.list_patients(site)}:
        reg.add_patient(site, code, history=None, actor="dr1")
    proto = Protocol.model_validate(protocol_data())
    aid = reg.assign_protocol(
        site,
        code,
        proto,
        check_protocol(proto, review=REVIEW),
        actor="dr1",
        assigned_on=dates[0],
    )
    for n, day in enumerate(dates, start=1):
        status = last if n == len(dates) else SessionStatus.COMPLETED
        reg.record_session(aid, n, day, status, actor="op1")
    return aid


def _assess(
    reg: Registry, site: str, code: str, day: dt.date, scale: str, value: int
) -> None:
    record_assessment(
        reg,
        AssessmentInput(
            site=site,
            code=code,
            visit=VisitIn(visit_date=day, kind="follow_up"),
            scale_id=scale,
            items={"1": value},
        ),
        actor="rater1",
    )


@pytest.fixture
def reg(db_url: str) -> Iterator[Registry]:
    with Registry(db_url) as r:
        _course(r, "S1", "P001")
        yield r


def _row(reg: Registry, on: dt.date, code: str = "P001", site: str = "S1"):  # type: ignore[no-untyped-def]
    cal = clinic_followup(reg, sites=[site], on=on)
    (table,) = cal.sites
    return next(r for r in table.rows if r.code == code)


def test_visit_dates_and_windows_by_hand(reg: Registry) -> None:
    row = _row(reg, D(2026, 3, 9))
    assert (row.sessions_delivered, row.sessions_planned) == (10, 10)
    assert row.last_session_on == D(2026, 3, 6)
    assert row.protocol_id == "small-10hz"
    assert [(v.weeks_after_course, v.date) for v in row.visits] == [
        (4, W4),
        (12, W12),
    ]
    assert [(v.window_start, v.window_end) for v in row.visits] == [
        (W4_START, W4_END),
        (W12_START, W12_END),
    ]


def test_saturday_moves_to_monday(db_url: str) -> None:
    dates = (*COURSE[1:], D(2026, 3, 7))  # last session on a Saturday
    with Registry(db_url) as reg:
        _course(reg, "S1", "P009", dates)
        row = _row(reg, D(2026, 3, 9), "P009")
    assert row.last_session_on == D(2026, 3, 7)
    assert row.visits[0].date == D(2026, 4, 6)  # Sat 04-04 -> Mon 04-06
    assert row.visits[0].window_start == D(2026, 3, 30)
    assert row.visits[1].date == D(2026, 6, 1)  # Sat 05-30 -> Mon 06-01


@pytest.mark.parametrize(
    ("on", "status"),
    [
        (D(2026, 3, 26), "upcoming"),  # the day before the window
        (W4_START, "due"),
        (W4, "due"),
        (W4_END, "due"),
        (D(2026, 4, 11), "overdue"),  # the day after the window
    ],
)
def test_status_at_each_boundary_of_the_window(
    reg: Registry, on: dt.date, status: str
) -> None:
    row = _row(reg, on)
    assert row.visits[0].status == status
    assert row.visits[1].status == "upcoming"
    assert row.status == status


@pytest.mark.parametrize("day", [W4_START, W4_END])
def test_done_by_a_pain_assessment_inside_the_window(
    reg: Registry, day: dt.date
) -> None:
    _assess(reg, "S1", "P001", day, "vas_phantom_average", 30)
    row = _row(reg, D(2026, 4, 20))
    assert (row.visits[0].status, row.visits[0].done_on) == ("done", day)
    assert row.status == "upcoming"  # the 12-week visit comes next
    assert row.pain_scale_id == "vas_phantom_average"


@pytest.mark.parametrize(
    ("day", "scale"),
    [
        (D(2026, 3, 26), "vas_phantom_average"),  # a day before the window
        (D(2026, 4, 11), "vas_phantom_average"),  # a day after it
        (W4, "vas_stump_average"),  # in it, but stump pain
    ],
)
def test_not_done_by_an_assessment_outside_the_window_or_scale(
    reg: Registry, day: dt.date, scale: str
) -> None:
    _assess(reg, "S1", "P001", day, scale, 30)
    row = _row(reg, D(2026, 4, 20))
    assert (row.visits[0].status, row.visits[0].done_on) == ("overdue", None)
    assert row.status == "overdue"


def test_nrs_counts_and_both_visits_done(reg: Registry) -> None:
    _assess(reg, "S1", "P001", D(2026, 4, 2), "nrs_phantom_average", 4)
    _assess(reg, "S1", "P001", D(2026, 6, 5), "nrs_phantom_average", 3)
    row = _row(reg, D(2026, 7, 1))
    assert [v.status for v in row.visits] == ["done", "done"]
    assert row.status == "done"
    assert row.pain_scale_id == "nrs_phantom_average"


def test_in_course_until_every_session_is_delivered(db_url: str) -> None:
    with Registry(db_url) as reg:
        _course(reg, "S1", "P002", COURSE[:9])
        _course(reg, "S1", "P003", COURSE, last=SessionStatus.PARTIAL)
        nine = _row(reg, D(2026, 4, 20), "P002")
        partial = _row(reg, D(2026, 4, 20), "P003")
    assert (nine.status, nine.sessions_delivered, nine.sessions_planned) == (
        "in_course",
        9,
        10,
    )
    assert (nine.next_session, nine.last_session_on, nine.visits) == (
        10,
        D(2026, 3, 5),
        (),
    )
    # a partial last session is not delivered: session 10 is still to give
    assert (partial.status, partial.sessions_delivered, partial.next_session) == (
        "in_course",
        9,
        10,
    )


def test_overdue_first_then_due_then_in_course(db_url: str) -> None:
    later = tuple(d + dt.timedelta(weeks=2) for d in COURSE)  # ends Fri 03-20
    with Registry(db_url) as reg:
        _course(reg, "S1", "A-OVERDUE")  # 4-week window closed 04-10
        _course(reg, "S1", "B-DUE", later)  # 4-week visit 04-17, window 04-10..24
        _course(reg, "S1", "C-COURSE", COURSE[:3])
        _course(reg, "S1", "D-DONE", later)
        _assess(reg, "S1", "D-DONE", D(2026, 4, 14), "vas_phantom_average", 10)
        cal = clinic_followup(reg, sites=["S1"], on=D(2026, 4, 13))
    rows = cal.sites[0].rows
    assert [(r.code, r.status) for r in rows] == [
        ("A-OVERDUE", "overdue"),
        ("B-DUE", "due"),
        ("C-COURSE", "in_course"),
        ("D-DONE", "upcoming"),  # 4 weeks done, 12 weeks to come
    ]


def test_rater_sees_visits_but_no_treatment(reg: Registry) -> None:
    cal = clinic_followup_for(reg, RATER, on=D(2026, 4, 1))
    (row,) = cal.sites[0].rows
    assert not cal.shows_treatment
    assert (row.protocol_id, row.sessions_delivered, row.sessions_planned) == (
        None,
        None,
        None,
    )
    assert (row.last_session_on, row.next_session) == (None, None)
    assert "small-10hz" not in cal.model_dump_json()
    assert "2026-03-06" not in cal.model_dump_json()  # the last session's date
    assert [v.status for v in row.visits] == ["due", "upcoming"]
    doc = clinic_followup_for(reg, DR, on=D(2026, 4, 1))
    assert doc.sites[0].rows[0].protocol_id == "small-10hz"


@pytest.mark.parametrize(
    "role", [Role.ADMINISTRATOR, Role.STATISTICIAN]
)  # no patient.read
def test_roles_without_patient_read_are_refused(reg: Registry, role: Role) -> None:
    with pytest.raises(AccessDeniedError, match=r"patient\.read"):
        clinic_followup_for(reg, _p(role), on=D(2026, 4, 1))


def test_site_isolation(reg: Registry) -> None:
    _course(reg, "S2", "SECRET9")
    mine = clinic_followup_for(reg, DR, on=D(2026, 4, 1))
    assert [t.site for t in mine.sites] == ["S1"]
    assert "SECRET9" not in mine.model_dump_json()
    with pytest.raises(FollowUpSiteNotFoundError, match="site") as other:
        clinic_followup_for(reg, DR, site="S2", on=D(2026, 4, 1))
    with pytest.raises(FollowUpSiteNotFoundError, match="site") as missing:
        clinic_followup_for(reg, DR, site="S9", on=D(2026, 4, 1))
    # another site's calendar reads exactly as a site that does not exist
    assert str(other.value).replace("S2", "X") == str(missing.value).replace("S9", "X")
    both = clinic_followup_for(
        reg, _p(Role.PHYSICIAN, frozenset({"S1", "S2"})), site="S2", on=D(2026, 4, 1)
    )
    assert [r.code for r in both.sites[0].rows] == ["SECRET9"]


def test_on_must_be_a_date(reg: Registry) -> None:
    with pytest.raises(TypeError, match="'on'"):
        clinic_followup(reg, sites=["S1"], on="2026-04-01")  # type: ignore[arg-type]


# -- trial patients, on the demonstration registry (DEMO-101 is enrolled) --


@pytest.fixture(scope="module")
def _demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from plptms.cli._serve import prepare_demo

    base = tmp_path_factory.mktemp("clinic-followup")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PLPTMS_STATE_DIR", str(base / "state"))
        mp.setenv("PLPTMS_CONFIG_DIR", str(base / "config"))
        mp.delenv("PLPTMS_AUDIT_KEY_FILE", raising=False)
        prepare_demo(base / "demo")
    return base


@pytest.fixture
def demo(_demo: Path, tmp_path: Path) -> Iterator[Registry]:
    for src in (_demo / "demo").iterdir():
        shutil.copy(src, tmp_path / src.name)
    shutil.copytree(
        _demo / "config", Path(os.environ["PLPTMS_CONFIG_DIR"]), dirs_exist_ok=True
    )
    with Registry(f"sqlite:///{tmp_path / 'registry.sqlite3'}") as r:
        yield r


def test_trial_patients_point_to_the_trial_calendar(demo: Registry) -> None:
    _course(demo, "S01", "DEMO-101")  # enrolled in the example trial
    _course(demo, "S01", "DEMO-102")  # not enrolled
    cal = clinic_followup_for(
        demo, Principal(username="d", role=Role.PHYSICIAN, sites=frozenset({"S01"})),
        on=D(2026, 4, 1),
    )  # fmt: skip
    rows = {r.code: r for r in cal.sites[0].rows}
    trial = rows["DEMO-101"]
    assert (trial.status, trial.trial_id) == ("trial", "plp-rtms-mirror-2x2")
    assert (trial.protocol_id, trial.sessions_delivered, trial.visits) == (
        None,
        None,
        (),
    )
    assert "see the trial calendar" in trial.note
    assert rows["DEMO-102"].status == "due"
    assert rows["DEMO-102"].protocol_id == "small-10hz"
    assert list(rows)[-1] == "DEMO-101"  # trial patients last
    assert "DEMO-103" not in rows  # no assignment, no trial: not listed


@pytest.mark.parametrize(
    ("status", "counted"), [("completed", True), ("aborted", False)]
)
def test_a_completed_delivery_counts_as_a_session(
    db_url: str, status: str, counted: bool
) -> None:
    from plptms.workflow import site_today

    with Registry(db_url) as reg:
        aid = _course(reg, "S1", "P004", COURSE[:9])
        sid = reg.start_delivery(
            aid, 10, device="sim", plan={}, blinded=False, actor="op1"
        )
        reg.finish_delivery(sid, status, actor="op1", detail="" if counted else "x")
        today = site_today(reg, "S1")
        row = _row(reg, today, "P004")
    if counted:
        assert (row.sessions_delivered, row.last_session_on) == (10, today)
        assert row.visits[0].window_start > today  # 4 weeks on: upcoming
        assert row.status == "upcoming"
    else:
        assert (row.sessions_delivered, row.next_session) == (9, 10)
        assert row.status == "in_course"
