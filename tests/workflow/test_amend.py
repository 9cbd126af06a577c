"""Dose amendments through the workflow: recorded, checked again, only lower."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, select, update

from plptms.delivery import FaultKind, FaultPlan, SimulatedStimulator
from plptms.protocol import AmendmentRefusedError, DoseAmendment
from plptms.registry import Registry
from plptms.registry.db._schema import DoseAmendmentRow
from plptms.workflow import (
    SessionRefusedError,
    abort_session,
    amend_dose,
    prepare_resume,
    prepare_start,
    run_delivery,
)

from .conftest import RMT


def _amend(reg: Registry, **fields: object) -> int:
    data = {"reason": "Scalp discomfort at 90 % RMT.", **fields}
    return amend_dose(
        reg, "S1", "P001", "small-10hz", DoseAmendment.model_validate(data), actor="d"
    ).amendment_id


def _start(reg: Registry, number: int) -> object:
    return prepare_start(
        reg, "S1", "P001", "small-10hz", number, device="sim", actor="t",
        ae_reviewed=True,
    )  # fmt: skip


def _end(reg: Registry, prepared: object) -> None:
    """End an opened session before the next opens (its plan was all we read)."""
    abort_session(
        reg, prepared.session_id,  # type: ignore[attr-defined]
        actor="t", reason="Only the session's plan is checked here.",
    )  # fmt: skip


def test_an_amendment_applies_from_its_session_on(url: str) -> None:
    with Registry(url) as reg:
        aid = _amend(reg, from_session=2, intensity_pct_rmt=80, trains_per_session=1)
        first = _start(reg, 1)
        assert first.plan.amendment_id is None  # type: ignore[attr-defined]
        assert first.plan.intensity_pct_rmt == 90  # type: ignore[attr-defined]
        _end(reg, first)  # one session at a time: only its plan is read here
        second = _start(reg, 2)
        plan = second.plan  # type: ignore[attr-defined]
        assert plan.amendment_id == aid
        assert plan.intensity_pct_rmt == 80
        assert plan.total_pulses == 5  # one train of 5
        # % MSO = % RMT x stored RMT / 100 (the checked dose), every train
        rmt = reg.latest_rmt("S1", "P001")
        assert rmt is not None
        assert abs(rmt[0] - RMT) < 5  # the simulated subject's threshold
        for t in plan.trains:
            assert t.intensity_pct_mso == pytest.approx(80 * rmt[0] / 100, rel=1e-12)
        _end(reg, second)
        # a newer amendment takes over from its own session on
        newer = _amend(reg, from_session=3, intensity_pct_rmt=70)
        assert _start(reg, 3).plan.amendment_id == newer  # type: ignore[attr-defined]
        assert reg.verify_audit().ok


def test_an_amendment_to_an_unassigned_protocol_or_patient_is_refused(
    url: str,
) -> None:
    from plptms.registry import RegistryError

    amendment = DoseAmendment(intensity_pct_rmt=80, reason="tolerability")
    with Registry(url) as reg:
        with pytest.raises(RegistryError, match="not assigned"):
            amend_dose(reg, "S1", "P001", "other", amendment, actor="d")
        with pytest.raises(AmendmentRefusedError, match="at most the assigned 90"):
            _amend(reg, intensity_pct_rmt=95)
        aid, _ = reg.find_assignment("S1", "P001", "small-10hz")
        assert reg.list_amendments(aid) == []


def test_a_session_resumes_only_with_the_amendment_it_started_with(
    url: str,
) -> None:
    with Registry(url) as reg:
        prepared = _start(reg, 1)
        stim = SimulatedStimulator(
            arm_delay_s=0.0,
            faults=FaultPlan(kind=FaultKind.OVER_TEMPERATURE, after_pulses=2),
        )
        out = run_delivery(reg, prepared, stim, actor="t")  # type: ignore[arg-type]
        assert out.status == "faulted"
        sid = prepared.session_id  # type: ignore[attr-defined]
        # an amendment recorded since changes what session 1 would be now
        _amend(reg, intensity_pct_rmt=80)
        with pytest.raises(SessionRefusedError, match="plan differs"):
            prepare_resume(reg, sid, device="sim", ae_reviewed=True)


def test_an_amendment_edited_in_the_database_blocks_the_session(url: str) -> None:
    with Registry(url) as reg:
        amendment_id = _amend(reg, intensity_pct_rmt=80)
    engine = create_engine(url)
    table = DoseAmendmentRow.__table__
    with engine.begin() as c:
        data = c.execute(
            select(table.c.amendment).where(table.c.id == amendment_id)
        ).scalar_one()
        data["intensity_pct_rmt"] = 60.0
        c.execute(
            update(table).where(table.c.id == amendment_id).values(amendment=data)
        )
    engine.dispose()
    with Registry(url) as reg, pytest.raises(SessionRefusedError, match="audit"):
        _start(reg, 1)


def test_the_clinician_report_names_the_amendment_a_session_was_given(
    url: str,
) -> None:
    from plptms.workflow._reports import _amended

    with Registry(url) as reg:
        _amend(reg, intensity_pct_rmt=80)
        prepared = _start(reg, 1)
        sid = prepared.session_id  # type: ignore[attr-defined]
        aid, _ = reg.find_assignment("S1", "P001", "small-10hz")
        amendments = {m.id: m for m in reg.list_amendments(aid)}
        plan = reg.get_delivery(sid).plan
        assert _amended(plan, amendments).startswith(
            "amended dose (80 % RMT; Scalp discomfort at 90 % RMT.)"
        )
        # a closed-loop session stores the plan one level down
        nested = {"mode": "closedloop", "session_plan": plan}
        assert _amended(nested, amendments) == _amended(plan, amendments)
        assert _amended({"amendment_id": None}, amendments) == ""
