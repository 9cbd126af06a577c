"""Every injectable fault, through the session runner on the simulator."""

from __future__ import annotations

import pytest

from plptms.delivery import FaultKind, FaultPlan, SimulatedStimulator
from plptms.delivery._runner import PlannedTrain, SessionPlan, SessionRunner
from plptms.delivery._timing import VirtualClock

from .test_runner import MemoryLog, _pulses


def _plan() -> SessionPlan:
    trains = tuple(
        PlannedTrain(
            index=k,
            block="M1",
            frequency_hz=10.0,
            n_pulses=20,
            intensity_pct_mso=45.0,
            pause_after_s=10.0 if k < 2 else 0.0,
        )
        for k in range(3)
    )
    return SessionPlan(
        protocol_id="faults",
        block="M1",
        condition="active",
        rmt_pct_mso=50.0,
        intensity_pct_rmt=90.0,
        pattern="rtms",
        trains=trains,
    )


@pytest.mark.parametrize("kind", list(FaultKind))
def test_fault_through_runner(kind: FaultKind) -> None:
    clock = VirtualClock()
    stim = SimulatedStimulator(
        clock=clock.now, sleep=clock.sleep, faults=FaultPlan(kind=kind, after_pulses=27)
    )
    log = MemoryLog()
    with stim:
        out = SessionRunner(
            stim, _plan(), log, clock=clock.now, sleep=clock.sleep
        ).run()
    assert out.status == "faulted", out
    assert out.detail  # the operator is told what happened
    fired = stim.device_pulse_count()
    assert fired <= 28  # nothing fired after the fault
    recorded = _pulses(log)
    assert len(recorded) == len(set(recorded)) == fired  # none lost, none extra
    assert not stim.status().armed if kind is not FaultKind.DISCONNECT else True
    assert log.events()[-1].kind in (
        "fault",
        "reconciled_delivered",
        "reconciled_not_delivered",
    )
