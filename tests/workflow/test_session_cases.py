"""Use cases around a session: record an RMT, abort, authorise a restart."""

from __future__ import annotations

import pytest

from plptms.delivery import FaultKind, FaultPlan, SimulatedStimulator
from plptms.motor import (
    SimulatedSubject,
    SubjectParameters,
    ThresholdNotFoundError,
    hunt_ml_pest,
)
from plptms.protocol import Protocol
from plptms.registry import Registry, SessionLeasedError
from plptms.workflow import (
    RMTInput,
    SessionRefusedError,
    abort_session,
    assign_protocol,
    authorise_restart,
    prepare_resume,
    prepare_start,
    record_rmt,
    run_delivery,
)
from tests._review import REVIEW

from .conftest import protocol_data


def _hunt(threshold: float, converge: bool = True) -> object:
    subject = SimulatedSubject(SubjectParameters(threshold_pct_mso=threshold), seed=3)
    res = hunt_ml_pest(subject, start_intensity_pct_mso=min(100.0, threshold + 10.0))
    assert res.converged
    # a hunt stopped before it converged (e.g. out of pulses)
    return res if converge else res.model_copy(update={"converged": False})


def _rmt(threshold: float, **kw: object) -> RMTInput:
    data = {
        "site": "S1",
        "code": "P001",
        "result": _hunt(threshold),
        "hemisphere": "right",
        "muscle": "FDI",
        "stimulator": "sim",
    }
    return RMTInput.model_validate(data | kw)


def test_a_new_rmt_shows_which_assignment_it_blocks(url: str) -> None:
    """120 % RMT of an RMT near 90 % MSO is about 108 % MSO, above the output.

    % MSO = % RMT x RMT / 100 (Rossi et al. 2009 dose in % MT); a stimulator
    cannot give more than 100 % of its output, so the verdict is refused.
    """
    strong = Protocol.model_validate(
        protocol_data(intensity_pct_rmt=120) | {"id": "strong-10hz"}
    )
    with Registry(url) as reg:
        assign_protocol(reg, "S1", "P001", strong, actor="d", review=REVIEW)
        low = record_rmt(reg, _rmt(40.0), actor="t")
        assert set(low.verdicts) == {"small-10hz", "strong-10hz"}
        assert low.blocked == {}
        high = record_rmt(reg, _rmt(90.0), actor="t")
        assert 0.9 * 120 * high.rmt_pct_mso / 100 > 0.9 * 100  # ~108 % MSO
        assert set(high.blocked) == {"strong-10hz"}
        assert high.verdicts["small-10hz"].decision.value == "accepted"
        # and the next session of the blocked protocol is refused, as shown
        with pytest.raises(SessionRefusedError):
            prepare_start(
                reg, "S1", "P001", "strong-10hz", 1, device="sim", actor="t",
                ae_reviewed=True,
            )  # fmt: skip


def test_an_rmt_input_is_checked_before_anything_is_stored(url: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="hemisphere"):
        _rmt(50.0, hemisphere="up")
    not_converged = RMTInput(
        site="S1",
        code="P001",
        result=_hunt(50.0, converge=False),  # type: ignore[arg-type]
        hemisphere="left",
        muscle="FDI",
        stimulator="sim",
    )
    with Registry(url) as reg:
        before = reg.latest_rmt("S1", "P001")
        with pytest.raises(ThresholdNotFoundError, match="did not converge"):
            record_rmt(reg, not_converged, actor="t")
        assert reg.latest_rmt("S1", "P001") == before


def _faulted(reg: Registry) -> int:
    prepared = prepare_start(
        reg, "S1", "P001", "small-10hz", 1, device="sim", actor="t", ae_reviewed=True
    )
    stim = SimulatedStimulator(
        arm_delay_s=0.0,
        faults=FaultPlan(kind=FaultKind.OVER_TEMPERATURE, after_pulses=3),
    )
    assert run_delivery(reg, prepared, stim, actor="t").status == "faulted"
    return prepared.session_id


def test_an_aborted_session_resumes_only_after_a_physician_restart(
    url: str,
) -> None:
    with Registry(url) as reg:
        sid = _faulted(reg)
        with pytest.raises(ValueError, match="'reason'"):
            abort_session(reg, sid, actor="t", reason="no")
        abort_session(reg, sid, actor="t", reason="Patient declined to go on.")
        d = reg.get_delivery(sid)
        assert d.status == "aborted"
        assert "Patient declined" in d.detail
        with pytest.raises(ValueError, match="status 'aborted'"):
            abort_session(reg, sid, actor="t", reason="again, twice")
        with pytest.raises(SessionRefusedError, match="physician"):
            prepare_resume(reg, sid, device="sim", ae_reviewed=True)
        authorise_restart(reg, sid, physician="Dr P", reason="Patient consents now.")
        resumed = prepare_resume(reg, sid, device="sim", ae_reviewed=True)
        assert resumed.resumed
        assert reg.verify_audit().ok


def test_a_session_held_by_a_live_runner_cannot_be_aborted(url: str) -> None:
    with Registry(url) as reg:
        sid = _faulted(reg)
        reg.acquire_lease(sid, holder="other-host:1:abc", ttl_s=60, actor="t")
        with pytest.raises(SessionLeasedError):
            abort_session(reg, sid, actor="t", reason="Patient declined to go on.")
        assert reg.get_delivery(sid).status == "faulted"


def test_one_session_at_a_time_per_patient(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second session of the same patient cannot open while the first runs.

    Running: opened and not yet leased (for ``UNLEASED_GRACE_S``), or leased by
    a runner whose lease is live. A dead runner's expired lease no longer
    blocks. Each refusal stores nothing.
    """
    import time

    import plptms.registry._delivery as delivery

    def start(reg: Registry, number: int) -> int:
        return prepare_start(
            reg, "S1", "P001", "small-10hz", number, device="sim", actor="t",
            ae_reviewed=True,
        ).session_id  # fmt: skip

    with Registry(url) as reg:
        first = start(reg, 1)
        seq = reg.audit_head().seq
        with pytest.raises(SessionLeasedError, match="one session at a time"):
            start(reg, 2)  # opened, its runner not yet leased
        reg.acquire_lease(first, holder="h:1:a", ttl_s=60, actor="t")
        with pytest.raises(SessionLeasedError, match=f"Delivery session {first}"):
            start(reg, 2)  # its runner's lease is live
        assert reg.audit_head().seq == seq  # nothing stored by the refusals
        assert [
            d.number for d in reg.list_deliveries(reg.get_delivery(first).assignment_id)
        ] == [1]
        reg.acquire_lease(first, holder="h:1:a", ttl_s=0.2, actor="t")
        time.sleep(0.3)  # the runner died: its lease expired
        second = start(reg, 2)
        # an opened session never leased blocks only for the grace time
        with pytest.raises(SessionLeasedError, match=f"Delivery session {second}"):
            start(reg, 3)
        monkeypatch.setattr(delivery, "UNLEASED_GRACE_S", 0.2)
        time.sleep(0.3)
        assert start(reg, 3) > second
