"""Guarded clinic use cases: permission first, then site, then the clinical rule."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from plptms.access import AccessDeniedError, Principal, Role
from plptms.registry import Registry
from plptms.safety import load_screening_items
from plptms.workflow import AssignmentRefusedError
from plptms.workflow._views import PatientNotFoundError
from plptms.workflow._views_clinic import (
    assign_page,
    assign_protocol_for,
    record_screening_for,
    screening_form,
)
from plptms.workflow._views_console import (
    ScaledClock,
    SessionConsole,
    console_page,
    control_session_for,
    session_status_for,
    start_session_for,
)

DR = Principal(username="dr1", role=Role.PHYSICIAN, sites=frozenset({"S01"}))
OP = Principal(username="op1", role=Role.OPERATOR, sites=frozenset({"S01"}))
RATER = Principal(username="rater1", role=Role.RATER, sites=frozenset({"S01"}))
DR2 = Principal(username="dr2", role=Role.PHYSICIAN, sites=frozenset({"S02"}))
NO = {i.id: "no" for i in load_screening_items()}
#: Relative timing tolerance of the scaled clock (sleep overshoot on a busy CI).
CLOCK_RTOL = 0.5


@pytest.fixture
def reg(tmp_path) -> Iterator[Registry]:  # type: ignore[no-untyped-def]
    from tests.web.conftest import seed

    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    seed(url)
    with Registry(url) as r:
        for e in r.list_adverse_events("S01", "P001"):
            r.review_adverse_event(
                e.id, physician="dr1", note="Mild, resolved.", continue_treatment=True
            )
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


def test_screening_permission_site_and_items(reg: Registry) -> None:
    before = _audit(reg)
    with pytest.raises(AccessDeniedError):
        record_screening_for(reg, RATER, "S01", "P001", NO)
    with pytest.raises(AccessDeniedError):
        screening_form(reg, OP, "S01", "P001")
    with pytest.raises(PatientNotFoundError, match="code"):
        record_screening_for(reg, DR2, "S01", "P001", NO)
    with pytest.raises(ValueError, match=r"answers\.epilepsy"):
        record_screening_for(reg, DR, "S01", "P001", {**NO, "epilepsy": "maybe"})
    with pytest.raises(ValueError, match=r"answers\.syncope"):
        record_screening_for(
            reg, DR, "S01", "P001", {k: v for k, v in NO.items() if k != "syncope"}
        )
    with pytest.raises(ValueError, match="answers"):
        record_screening_for(reg, DR, "S01", "P001", {**NO, "nope": "no"})
    assert _audit(reg) == before
    view = record_screening_for(reg, DR, "S01", "P001", {**NO, "epilepsy": "yes"})
    assert view.status == "excluded"
    assert reg.latest_screening("S01", "P001").status.value == "excluded"  # type: ignore[union-attr]
    form = screening_form(reg, DR, "S01", "P001")
    assert [i.id for i in form.items] == list(NO)
    assert form.latest is not None
    assert form.latest.status == "excluded"


def test_assignment_review_and_refusal(reg: Registry) -> None:
    with pytest.raises(AccessDeniedError):
        assign_page(reg, OP, "S01", "P001")
    with pytest.raises(PatientNotFoundError):
        assign_protocol_for(reg, DR2, "S01", "P001", "consensus2024-example-10hz")
    with pytest.raises(ValueError, match="protocol_id"):
        assign_page(reg, DR, "S01", "P001", "nope")
    page = assign_page(reg, DR, "S01", "P001", "consensus2024-example-10hz")
    assert page.verdict is not None
    assert page.verdict.decision == "review"
    assert {r.rule_id for r in page.verdict.to_review} == {
        "train_duration",
        "inter_train_interval",
    }
    before = _audit(reg)
    with pytest.raises(AssignmentRefusedError) as refused:
        assign_protocol_for(reg, DR, "S01", "P001", "ahmed2011-m1-20hz")
    assert [r.rule_id for r in refused.value.verdict.failures] == ["train_duration"]
    with pytest.raises(AssignmentRefusedError, match="review"):
        assign_protocol_for(reg, DR, "S01", "P001", "consensus2024-example-10hz")
    with pytest.raises(ValueError, match="reason"):
        assign_protocol_for(
            reg, DR, "S01", "P001", "consensus2024-example-10hz", review_reason="ok"
        )
    assert _audit(reg) == before
    result = assign_protocol_for(
        reg,
        DR,
        "S01",
        "P001",
        "consensus2024-example-10hz",
        review_reason="Unverified cells read against the paper.",
    )
    assert result.verdict.decision.value == "accepted"
    assert result.verdict.review is not None
    assert result.verdict.review.physician == "dr1"


def test_scaled_clock_runs_faster_by_its_factor() -> None:
    with pytest.raises(ValueError, match="speed"):
        ScaledClock(0.5)
    clock = ScaledClock(100.0)
    t0, r0 = clock.now(), time.monotonic()
    clock.sleep(5.0)  # 5 simulated seconds: 0.05 s of real time
    real = time.monotonic() - r0
    elapsed = clock.now() - t0
    assert elapsed >= 5.0  # never less than asked: a pause is never cut short
    assert elapsed == pytest.approx(5.0, rel=CLOCK_RTOL)
    assert real == pytest.approx(0.05, rel=CLOCK_RTOL)


def test_console_start_control_and_status(reg: Registry) -> None:
    console = SessionConsole(speed=200.0)
    with pytest.raises(AccessDeniedError):
        console_page(reg, RATER, "S01", "P001", console)
    with pytest.raises(PatientNotFoundError):
        start_session_for(
            reg, DR2, "S01", "P001", "small-10hz", 1, console, ae_reviewed=True
        )
    page = console_page(reg, OP, "S01", "P001", console)
    assert [(a.protocol_id, a.next_number) for a in page.assignments] == [
        ("small-10hz", 1)
    ]
    assert page.may_restart is False
    sid, checks = start_session_for(
        reg, OP, "S01", "P001", "small-10hz", 1, console, ae_reviewed=True
    )
    assert all(c.passed for c in checks)
    assert console.join(sid, 30.0)
    status = session_status_for(reg, OP, "S01", "P001", sid, console)
    assert (status.status, status.pulses_delivered, status.pulses_total) == (
        "completed",
        10,
        10,
    )
    with pytest.raises(ValueError, match="action"):
        control_session_for(reg, OP, "S01", "P001", sid, "explode", console)
    with pytest.raises(ValueError, match="session_id"):
        control_session_for(reg, OP, "S01", "P001", sid, "pause", console)
    # a session of another patient is not found through this one
    with pytest.raises(PatientNotFoundError):
        session_status_for(reg, OP, "S01", "P002", sid, console)
