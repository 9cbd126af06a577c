"""Trial follow-up: visits in their windows, the site's lists, withdrawals.

Oracles are dates computed by hand on the shipped example trial (day 0 =
randomisation; a visit on day d is due d days later, its window from
``window_before_days`` before to ``window_after_days`` after):

- randomised 2026-03-02 (March has 31 days): ``followup_1m`` (day 44, window
  -7/+7) is due 2026-03-02 + 44 = 2026-04-15, window 2026-04-08..2026-04-22;
- ``end_of_course`` (day 14, 0/+3): 2026-03-16, window 2026-03-16..2026-03-19;
- ``session_05`` (day 5, 0/+2): 2026-03-07..2026-03-09; ``session_06`` (day 8):
  2026-03-10..2026-03-12; ``followup_3m`` (day 105, -14/+14): due 2026-06-15,
  window from 2026-06-01.
"""

from __future__ import annotations

import datetime as dt
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from plptms.registry import (
    DuplicateRecordError,
    RecordNotFoundError,
    Registry,
    RegistryError,
    VisitIn,
    VisitKind,
)
from plptms.trial import read_trial_definition
from plptms.workflow import (
    FollowUpRefusedError,
    TrialVisitInput,
    WithdrawalInput,
    create_trial,
    enrol_patient,
    record_trial_visit,
    trial_visit_kind,
    trial_visit_lists,
    withdraw_patient,
)

from ._trialdef import screen

EXAMPLE = Path(str(files("plptms.trial") / "data" / "example_trial.yaml"))
DEFN = read_trial_definition(EXAMPLE)
TRIAL = DEFN.id
#: 10:00 UTC is 11:00 in Berlin: the same calendar day at the site.
RANDOMISED_AT = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
DAY0 = dt.date(2026, 3, 2)
TABLES = ("trial_visits", "trial_withdrawals", "visits", "audit_log")


def _count(reg: Registry, table: str) -> int:
    with reg.engine.connect() as c:
        return int(c.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def _counts(reg: Registry) -> dict[str, int]:
    return {t: _count(reg, t) for t in TABLES}


def enrol_at(
    reg: Registry, monkeypatch: pytest.MonkeyPatch, code: str, at: dt.datetime
) -> Any:
    """Register, screen and enrol S01/code with the registry clock at ``at``."""
    monkeypatch.setattr("plptms.registry._trials.utc_now", lambda: at)
    reg.add_patient("S01", code, history=None, actor="n")
    screen(reg, "S01", code)
    return enrol_patient(
        reg, TRIAL, "S01", code, {"limb": "upper", "pain_band": "nrs_7_10"},
        actor="coordinator",
    )  # fmt: skip


@pytest.fixture
def reg(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    with Registry(db_url) as r:
        r.set_site("S01", name="Site 1", timezone="Europe/Berlin", actor="admin")
        create_trial(r, DEFN, actor="statistician")
        enrol_at(r, monkeypatch, "P001", RANDOMISED_AT)
        yield r


def visit(visit_id: str, day: dt.date, reason: str | None = None) -> TrialVisitInput:
    return TrialVisitInput(
        trial_id=TRIAL, site="S01", code="P001", visit_id=visit_id, visit_date=day,
        deviation_reason=reason,
    )  # fmt: skip


def test_window_of_followup_1m_by_hand(reg: Registry) -> None:
    """Both window ends are accepted; the day before and after are refused."""
    before = _counts(reg)
    for bad, side in ((dt.date(2026, 4, 7), "before"), (dt.date(2026, 4, 23), "after")):
        with pytest.raises(FollowUpRefusedError, match="visit_date") as err:
            record_trial_visit(reg, visit("followup_1m", bad), actor="rater")
        msg = str(err.value)
        assert "followup_1m" in msg
        assert "2026-04-08 to 2026-04-22" in msg
        assert "due 2026-04-15" in msg
        assert f"1 day(s) {side}" in msg
    assert _counts(reg) == before  # nothing stored, nothing audited
    out = record_trial_visit(reg, visit("followup_1m", dt.date(2026, 4, 22)), actor="r")
    assert (out.visit_id, out.done_on, out.out_of_window) == (
        "followup_1m", dt.date(2026, 4, 22), False,
    )  # fmt: skip
    assert out.days_outside == 0
    assert out.version == 1
    assert not hasattr(out, "arm_id")
    out = record_trial_visit(
        reg, visit("end_of_course", dt.date(2026, 3, 16)), actor="r"
    )
    assert out.done_on == DAY0 + dt.timedelta(days=14)
    assert reg.verify_audit().ok


def test_out_of_window_with_a_reason_is_a_deviation(reg: Registry) -> None:
    before = _counts(reg)
    out = record_trial_visit(
        reg,
        visit("followup_1m", dt.date(2026, 4, 25), "patient in hospital, came later"),
        actor="rater",
    )
    assert out.out_of_window
    assert out.days_outside == 3  # 2026-04-25 is 3 days after 2026-04-22
    assert out.deviation_reason == "patient in hospital, came later"
    # one trial visit, one new registry visit, each audited
    after = _counts(reg)
    assert after["trial_visits"] == before["trial_visits"] + 1
    assert after["visits"] == before["visits"] + 1
    assert after["audit_log"] == before["audit_log"] + 2
    early = record_trial_visit(
        reg, visit("end_of_course", dt.date(2026, 3, 14), "course ended early"),
        actor="rater",
    )  # fmt: skip
    assert early.days_outside == -2  # 2 days before 2026-03-16
    # a reason inside the window is refused
    with pytest.raises(FollowUpRefusedError, match="deviation_reason"):
        record_trial_visit(
            reg, visit("session_01", dt.date(2026, 3, 3), "no reason needed"),
            actor="rater",
        )  # fmt: skip
    listed = reg.list_trial_visits(TRIAL, "S01", "P001")
    assert [v.visit_id for v in listed] == ["end_of_course", "followup_1m"]


def test_links_to_the_registry_visit_of_that_date(reg: Registry) -> None:
    """An existing follow-up visit of the date is reused (its assessments belong)."""
    day = dt.date(2026, 4, 15)
    existing = reg.add_visit(
        "S01", "P001", VisitIn(visit_date=day, kind=VisitKind.FOLLOW_UP), actor="n"
    )
    out = record_trial_visit(reg, visit("followup_1m", day), actor="rater")
    assert out.registry_visit_id == existing.id
    base = record_trial_visit(reg, visit("baseline", DAY0), actor="rater")
    kinds = {v.id: v.kind for v in reg.list_visits("S01", "P001")}
    assert kinds[base.registry_visit_id] is VisitKind.BASELINE


def test_visit_kinds_follow_the_course() -> None:
    """The example's course is 2 weeks (14 days): sessions on days 1-12 are
    treatment visits, the end of course (day 14) post-treatment."""
    assert trial_visit_kind(DEFN, "baseline") is VisitKind.BASELINE
    assert trial_visit_kind(DEFN, "session_10") is VisitKind.TREATMENT
    assert trial_visit_kind(DEFN, "end_of_course") is VisitKind.POST_TREATMENT
    assert trial_visit_kind(DEFN, "followup_6m") is VisitKind.FOLLOW_UP


def test_bad_visits_store_nothing(
    reg: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_trial_visit(reg, visit("baseline", DAY0), actor="rater")
    reg.add_patient("S01", "P002", history=None, actor="n")
    before = _counts(reg)
    with pytest.raises(ValueError, match="'visit_id': got 'week_3'") as err:
        record_trial_visit(reg, visit("week_3", DAY0), actor="rater")
    assert "baseline, session_01" in str(err.value)
    with pytest.raises(DuplicateRecordError, match="visit_id"):
        record_trial_visit(reg, visit("baseline", DAY0), actor="rater")
    not_enrolled = visit("baseline", DAY0).model_copy(update={"code": "P002"})
    with pytest.raises(RecordNotFoundError, match="code"):
        record_trial_visit(reg, not_enrolled, actor="rater")
    future = dt.date.today() + dt.timedelta(days=3)
    with pytest.raises(ValueError, match="visit_date"):
        record_trial_visit(reg, visit("followup_6m", future, "x" * 10), actor="r")
    with pytest.raises(RegistryError, match="actor"):
        record_trial_visit(reg, visit("session_01", dt.date(2026, 3, 3)), actor=" ")
    assert _counts(reg) == before


def test_lists_per_site_by_hand(reg: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    enrol_at(reg, monkeypatch, "P002", RANDOMISED_AT)
    record_trial_visit(reg, visit("baseline", DAY0), actor="rater")
    withdraw_patient(
        reg,
        WithdrawalInput(
            trial_id=TRIAL, site="S01", code="P002", on=dt.date(2026, 3, 10),
            reason="withdrew_consent",
        ),
        actor="coordinator",
    )  # fmt: skip
    lists = trial_visit_lists(reg, TRIAL, "S01", today=dt.date(2026, 4, 16))
    a, b = lists.patients
    assert (a.code, a.randomised_on, b.withdrawn_on) == (
        "P001", DAY0, dt.date(2026, 3, 10),
    )  # fmt: skip
    state = {v.visit_id: v.state for v in a.visits}
    assert state["baseline"] == "done"
    assert state["end_of_course"] == "missed"  # window closed 2026-03-19
    assert state["followup_1m"] == "overdue"  # due 04-15, window open to 04-22
    assert state["followup_3m"] == "upcoming"  # window opens 2026-06-01
    fu = next(v for v in a.visits if v.visit_id == "followup_1m")
    assert (fu.due, fu.window_start, fu.window_end) == (
        dt.date(2026, 4, 15), dt.date(2026, 4, 8), dt.date(2026, 4, 22),
    )  # fmt: skip
    state_b = {v.visit_id: v.state for v in b.visits}
    assert state_b["session_05"] == "missed"  # window closed 03-09, before 03-10
    assert state_b["session_06"] == "withdrawn"  # window 03-10..03-12: not expected
    assert state_b["followup_1m"] == "withdrawn"
    assert [(v.code, v.visit_id) for v in lists.overdue] == [("P001", "followup_1m")]
    assert all(v.code == "P001" or v.visit_id <= "session_05" for v in lists.missed)
    assert {v.kit_code for v in lists.missed} <= {a.kit_code, b.kit_code}
    assert "arm" not in str(lists.model_dump()).replace("randomised", "")
    due = trial_visit_lists(reg, TRIAL, "S01", today=dt.date(2026, 4, 10))
    assert [(v.code, v.visit_id) for v in due.due] == [("P001", "followup_1m")]
    with pytest.raises(ValueError, match="'site': got 'S09'"):
        trial_visit_lists(reg, TRIAL, "S09")


def test_randomisation_date_is_the_sites(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Enrolled at 2026-03-01 12:00 UTC, i.e. 2026-03-02 01:00 in Auckland
    (UTC+13 in March, daylight saving): day 0 is 2026-03-02 there."""
    with Registry(db_url) as reg:
        reg.set_site("S01", name="NZ", timezone="Pacific/Auckland", actor="admin")
        create_trial(reg, DEFN, actor="statistician")
        enrol_at(reg, monkeypatch, "P001", dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC))
        lists = trial_visit_lists(reg, TRIAL, "S01", today=dt.date(2026, 4, 16))
        assert lists.patients[0].randomised_on == DAY0


def test_withdrawal_once_nothing_deleted_no_session(reg: Registry) -> None:
    from plptms.workflow import EnrolmentRefusedError, prepare_trial_session

    record_trial_visit(reg, visit("end_of_course", dt.date(2026, 3, 17)), actor="r")
    w = WithdrawalInput(
        trial_id=TRIAL, site="S01", code="P001", on=dt.date(2026, 3, 20),
        reason="lost_to_follow_up", detail="no answer to 3 calls",
    )  # fmt: skip
    before = _counts(reg)
    for on in (dt.date(2026, 3, 1), dt.date.today() + dt.timedelta(days=1)):
        with pytest.raises(ValueError, match="'on'"):
            withdraw_patient(reg, w.model_copy(update={"on": on}), actor="c")
    with pytest.raises(RegistryError, match="'on'"):  # a visit is recorded later
        withdraw_patient(
            reg, w.model_copy(update={"on": dt.date(2026, 3, 16)}), actor="c"
        )
    with pytest.raises(ValueError, match="reason"):
        WithdrawalInput.model_validate({**w.model_dump(), "reason": "moved"})
    assert _counts(reg) == before
    out = withdraw_patient(reg, w, actor="coordinator")
    assert (out.reason, out.withdrawn_on) == ("lost_to_follow_up", dt.date(2026, 3, 20))
    with pytest.raises(DuplicateRecordError, match="already withdrew"):
        withdraw_patient(reg, w, actor="coordinator")
    with pytest.raises(RegistryError, match="visit_date"):
        record_trial_visit(reg, visit("followup_1m", dt.date(2026, 4, 15)), actor="r")
    with pytest.raises(EnrolmentRefusedError, match="withdrew"):
        prepare_trial_session(
            reg, TRIAL, "S01", "P001", 1, device="sim", actor="t", ae_reviewed=True
        )
    assert reg.list_assignments("S01", "P001") == []
    # nothing deleted: the enrolment and the visit stay
    assert reg.get_enrolment(TRIAL, "S01", "P001").kit_code == out.kit_code
    assert len(reg.list_trial_visits(TRIAL)) == 1
    assert [x.code for x in reg.list_withdrawals(TRIAL)] == ["P001"]
    assert reg.verify_audit().ok
