"""The treatment plan of a patient's assigned protocol, guarded (web page and API).

Oracles, by hand: the intensity in % MSO is the block's % RMT times the stored
RMT over 100 (the definition of an intensity relative to the motor threshold);
the session dates are the Mondays, Wednesdays and Fridays (three sessions a
week) counted on a calendar from the start date; each follow-up is the last
session plus 4 or 12 weeks (a weekday plus whole weeks is the same weekday).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from plptms.access import AccessDeniedError, Principal, Role
from plptms.registry import Registry
from plptms.workflow._views import PatientNotFoundError
from plptms.workflow._views_plan import (
    NO_ASSIGNMENT,
    START_RANGE,
    StartDateError,
    treatment_plan_for,
)

DR = Principal(username="dr1", role=Role.PHYSICIAN, sites=frozenset({"S01"}))
OP = Principal(username="op1", role=Role.OPERATOR, sites=frozenset({"S01"}))
MON = Principal(username="mon1", role=Role.MONITOR, sites=frozenset({"S01"}))
RATER = Principal(username="rater1", role=Role.RATER, sites=frozenset({"S01"}))
DR2 = Principal(username="dr2", role=Role.PHYSICIAN, sites=frozenset({"S02"}))

#: The % MSO is a product of two stored numbers: only float rounding differs.
MSO_RTOL = 1e-12
#: P010's second (latest) assignment: a Tuesday.
ASSIGNED_ON = dt.date(2026, 1, 6)
#: Mondays, Wednesdays and Fridays from Tuesday 6 January 2026, counted by hand.
MWF_FROM_ASSIGNMENT = tuple(
    dt.date(2026, m, d)
    for m, d in (
        (1, 7), (1, 9), (1, 12), (1, 14), (1, 16),
        (1, 19), (1, 21), (1, 23), (1, 26), (1, 28),
    )
)  # fmt: skip
#: The same from Saturday 10 January 2026.
MWF_FROM_SATURDAY = tuple(
    dt.date(2026, m, d)
    for m, d in (
        (1, 12), (1, 14), (1, 16), (1, 19), (1, 21),
        (1, 23), (1, 26), (1, 28), (1, 30), (2, 2),
    )
)  # fmt: skip


def protocol_3pw() -> Any:
    """``small-10hz`` at 80 % RMT, three sessions a week over four weeks."""
    from plptms.protocol import Protocol
    from tests.workflow.conftest import protocol_data

    data = protocol_data(intensity_pct_rmt=80)
    data["id"] = "small-10hz-3pw"
    data["blocks"][0].update(sessions_per_week=3, course_weeks=4)
    return Protocol.model_validate(data)


@pytest.fixture
def reg(tmp_path: Path) -> Iterator[Registry]:
    """The web seed (S01/P001 without history, small-10hz assigned; S02), plus
    S01/P010 (left arm, screened, an RMT, small-10hz then small-10hz-3pw
    assigned) and S01/P011 (right leg, nothing assigned)."""
    from plptms.motor import SimulatedSubject, SubjectParameters, hunt_ml_pest
    from plptms.protocol import Protocol
    from plptms.safety import (
        ScreeningAnswers,
        check_protocol,
        load_screening_items,
        screen,
    )
    from tests._review import REVIEW
    from tests.web.conftest import seed
    from tests.workflow.conftest import protocol_data
    from tests.workflow.test_targeting_views import history

    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    seed(url)
    with Registry(url) as r:
        r.add_patient("S01", "P010", history=history("left", "upper"), actor="n")
        r.add_patient("S01", "P011", history=history("right", "lower"), actor="n")
        answers = dict.fromkeys([i.id for i in load_screening_items()], "no")
        report = screen(ScreeningAnswers(answers=answers, screened_on=ASSIGNED_ON))
        r.record_screening("S01", "P010", report, actor="dr1")
        hunt = hunt_ml_pest(
            SimulatedSubject(SubjectParameters(threshold_pct_mso=47.0), seed=3),
            start_intensity_pct_mso=57.0,
        )
        r.record_rmt(
            "S01", "P010", hunt, hemisphere="right", muscle="FDI",
            stimulator="sim", actor="tech1",
        )  # fmt: skip
        for proto, day in (
            (Protocol.model_validate(protocol_data()), dt.date(2026, 1, 5)),
            (protocol_3pw(), ASSIGNED_ON),
        ):
            r.assign_protocol(
                "S01", "P010", proto, check_protocol(proto, review=REVIEW),
                actor="dr1", assigned_on=day,
            )  # fmt: skip
        yield r


def _audit(reg: Registry) -> int:
    eng = sa.create_engine(reg.url)
    try:
        with eng.connect() as c:
            return int(
                c.execute(sa.text("SELECT COUNT(*) FROM audit_log")).scalar_one()
            )
    finally:
        eng.dispose()


def test_latest_assignment_planned_with_mso_and_calendar_by_hand(
    reg: Registry,
) -> None:
    stored = reg.latest_rmt("S01", "P010")
    assert stored is not None
    rmt = stored[0]
    before = _audit(reg)
    view = treatment_plan_for(reg, DR, "S01", "P010")
    assert view.problem is None
    assert view.assignment is not None
    assert view.assignment.protocol_id == "small-10hz-3pw"  # the latest, not the first
    assert view.assignment.assigned_on == ASSIGNED_ON
    assert view.start_date == ASSIGNED_ON  # the calendar starts at the assignment
    plan = view.plan
    assert plan is not None
    assert plan.rmt_pct_mso == pytest.approx(rmt, rel=MSO_RTOL)
    (block,) = plan.blocks
    assert block.target.value == "m1_hand"
    assert block.hemisphere.value == "right"  # contralateral to the left arm
    assert block.intensity_pct_rmt == pytest.approx(80.0, rel=MSO_RTOL)
    assert block.intensity_pct_mso == pytest.approx(80.0 * rmt / 100.0, rel=MSO_RTOL)
    assert plan.sessions_per_week == 3
    assert tuple(s.date for s in plan.sessions) == MWF_FROM_ASSIGNMENT
    assert [s.number for s in plan.sessions] == list(range(1, 11))
    assert all(s.blocks == ("M1",) for s in plan.sessions)
    assert [(f.weeks_after_course, f.date) for f in plan.follow_ups] == [
        (4, dt.date(2026, 2, 25)),  # Wednesday 28 January + 4 weeks
        (12, dt.date(2026, 4, 22)),  # + 12 weeks
    ]
    assert plan.localisation == ("M1: hand-area motor hotspot (MEP hunting, e.g. FDI)",)
    assert "maintenance" in plan.maintenance
    assert view.verdict is not None
    assert view.verdict.protocol_id == "small-10hz-3pw"
    assert view.verdict.rmt_pct_mso == pytest.approx(rmt, rel=MSO_RTOL)
    assert view.rmt_measured_on == stored[1]
    assert _audit(reg) == before  # reading a plan stores nothing


def test_start_date_moves_the_calendar(reg: Registry) -> None:
    view = treatment_plan_for(reg, DR, "S01", "P010", start=dt.date(2026, 1, 10))
    assert view.start_date == dt.date(2026, 1, 10)
    assert view.plan is not None
    assert tuple(s.date for s in view.plan.sessions) == MWF_FROM_SATURDAY
    assert all(s.date.weekday() in (0, 2, 4) for s in view.plan.sessions)


def test_review_stored_with_the_assignment_is_shown(reg: Registry) -> None:
    from tests._review import REVIEW

    view = treatment_plan_for(reg, DR, "S01", "P010")
    # the shipped train table's cells are not verified: the plan's verdict asks
    # for review, and the review recorded at assignment covers it
    assert view.verdict is not None
    assert view.verdict.decision == "review"
    assert view.review == REVIEW


@pytest.mark.parametrize("who", [DR, OP, MON], ids=lambda p: p.role.value)
def test_treatment_readers_get_the_plan(reg: Registry, who: Principal) -> None:
    view = treatment_plan_for(reg, who, "S01", "P010")
    assert view.plan is not None
    assert view.patient.code == "P010"


def test_rater_is_refused(reg: Registry) -> None:
    before = _audit(reg)
    with pytest.raises(AccessDeniedError, match=r"treatment\.read"):
        treatment_plan_for(reg, RATER, "S01", "P010")
    assert _audit(reg) == before


def test_other_site_is_a_missing_patient(reg: Registry) -> None:
    with pytest.raises(PatientNotFoundError, match="code") as other:
        treatment_plan_for(reg, DR2, "S01", "P010")
    with pytest.raises(PatientNotFoundError, match="code") as missing:
        treatment_plan_for(reg, DR2, "S02", "NOPE")
    # the same words, the site and code asked for aside
    assert str(other.value).replace("S01/P010", "X") == str(missing.value).replace(
        "S02/NOPE", "X"
    )


def test_no_assignment_says_so(reg: Registry) -> None:
    view = treatment_plan_for(reg, DR, "S01", "P011")
    assert view.assignment is None
    assert view.plan is None
    assert view.verdict is None
    assert view.problem == NO_ASSIGNMENT
    assert "No protocol is assigned" in view.problem


def test_no_history_says_so(reg: Registry) -> None:
    view = treatment_plan_for(reg, DR, "S01", "P001")
    assert view.assignment is not None
    assert view.assignment.protocol_id == "small-10hz"
    assert view.plan is None
    assert view.problem is not None
    assert "'history'" in view.problem


def test_start_of_wrong_type(reg: Registry) -> None:
    with pytest.raises(TypeError, match="start"):
        treatment_plan_for(reg, DR, "S01", "P010", start="2026-01-10")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "start", [dt.date(1999, 12, 31), dt.date(2101, 1, 1), dt.date.max]
)
def test_start_out_of_range(reg: Registry, start: dt.date) -> None:
    with pytest.raises(StartDateError, match="'start'"):
        treatment_plan_for(reg, DR, "S01", "P010", start=start)


def test_start_at_the_bounds(reg: Registry) -> None:
    lo, hi = START_RANGE
    assert (lo, hi) == (dt.date(2000, 1, 1), dt.date(2100, 12, 31))
    for start in (lo, hi):
        view = treatment_plan_for(reg, DR, "S01", "P010", start=start)
        assert view.plan is not None
        assert view.plan.sessions[0].date >= start
