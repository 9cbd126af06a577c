"""The session runner on both emulated devices, through the real drivers."""

from __future__ import annotations

from typing import Any

import pytest

from plptms.delivery import FaultKind, FaultPlan
from plptms.delivery._runner import PlannedTrain, SessionPlan, SessionRunner

from ..test_runner import MemoryLog, _pulses


def _plan() -> SessionPlan:
    trains = tuple(
        PlannedTrain(
            index=k,
            block="M1",
            frequency_hz=20.0,
            n_pulses=6,
            intensity_pct_mso=45.0,
            pause_after_s=0.2 if k == 0 else 0.0,
        )
        for k in range(2)
    )
    return SessionPlan(
        protocol_id="emu",
        block="M1",
        condition="active",
        rmt_pct_mso=50.0,
        intensity_pct_rmt=90.0,
        pattern="rtms",
        trains=trains,
    )


def test_complete_session_on_device(rig: Any, kind: str) -> None:
    emu, drv = rig(kind)
    log = MemoryLog()
    with drv:
        out = SessionRunner(drv, _plan(), log).run()
    assert out.status == "completed", out
    assert emu.pulses_fired == 12 == len(_pulses(log))


@pytest.mark.parametrize("fault", list(FaultKind))
def test_fault_on_device(rig: Any, kind: str, fault: FaultKind) -> None:
    emu, drv = rig(kind, emulator={"faults": FaultPlan(kind=fault, after_pulses=4)})
    log = MemoryLog()
    try:
        with drv:
            out = SessionRunner(drv, _plan(), log).run()
    except Exception as exc:
        pytest.fail(f"runner raised instead of stopping cleanly: {exc!r}")
    assert out.status == "faulted", out
    assert out.detail  # the operator sees which fault stopped the session
    recorded = _pulses(log)
    assert len(recorded) == len(set(recorded))
    # no pulse lost from the record; a pulse whose reply was lost is counted as
    # delivered (the drivers keep no pulse count), never repeated
    assert emu.pulses_fired <= len(recorded) <= emu.pulses_fired + 1
    assert emu.pulses_fired <= 5  # nothing fired after the fault
