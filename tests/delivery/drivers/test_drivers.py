"""Both drivers against their emulated devices: pulses, refusals, faults, stops.

The emulators count the pulses they fire; every test compares the driver's record
with that ground truth: none lost, none extra.
"""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

import pytest

from plptms.delivery import (
    DeviceDisconnectedError,
    DeviceNotReadyError,
    DeviceTimeoutError,
    FaultKind,
    FaultPlan,
    GarbledReplyError,
    OverTemperatureError,
    PulseRecord,
    StimulatorFault,
    TrainRequest,
    read_pulse_log,
)

from .conftest import Rig


def _train(n: int = 10, f: float = 20.0, intensity: float = 40.0) -> TrainRequest:
    return TrainRequest(frequency_hz=f, n_pulses=n, intensity_pct_mso=intensity)


def _ready(
    rig: Rig, kind: str, emulator: dict[str, object] | None = None, **driver: object
):  # type: ignore[no-untyped-def]
    emu, drv = rig(kind, emulator=emulator, **driver)
    drv.connect()
    drv.set_intensity(40)
    drv.arm()
    return emu, drv


def test_connect_status_and_single_pulse(rig: Rig, kind: str) -> None:
    emu, drv = _ready(rig, kind)
    time.sleep(0.1)  # charging
    status = drv.status()
    assert status.connected
    assert status.armed
    assert status.intensity_pct_mso == pytest.approx(40.0)
    assert status.coil_temperature_c == pytest.approx(23.0, abs=1.0)
    record = drv.fire()
    assert record.index == 0
    assert emu.pulses_fired == 1


def test_host_timed_train_counts_exactly(rig: Rig, kind: str) -> None:
    emu, drv = _ready(rig, kind)
    seen: list[PulseRecord] = []
    drv.add_pulse_listener(seen.append)
    result = drv.run_train(_train(n=12, f=20.0))
    assert result.completed
    assert result.fault is None
    assert not result.pulses_inferred
    assert len(result.pulses) == emu.pulses_fired == 12
    assert seen == list(result.pulses)
    times = [p.t_monotonic_s for p in result.pulses]
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.05 - 1e-9


FAULTS = [
    (FaultKind.NO_REPLY, DeviceTimeoutError, 3),
    (FaultKind.GARBLED_REPLY, GarbledReplyError, 4),
    (FaultKind.DISCONNECT, DeviceDisconnectedError, 3),
    (FaultKind.OVER_TEMPERATURE, OverTemperatureError, 3),
    (FaultKind.NOT_READY, DeviceNotReadyError, 3),
]


@pytest.mark.parametrize(("fault", "error", "delivered"), FAULTS)
def test_fault_mid_train(
    rig: Rig,
    kind: str,
    fault: FaultKind,
    error: type[StimulatorFault],
    delivered: int,
) -> None:
    emu, drv = _ready(
        rig, kind, emulator={"faults": FaultPlan(kind=fault, after_pulses=3)}
    )
    result = drv.run_train(_train(n=10))
    # the TrainResult lists exactly the pulses the device fired
    assert len(result.pulses) == emu.pulses_fired == delivered
    assert [p.index for p in result.pulses] == list(range(delivered))
    assert not result.completed
    with pytest.raises(error):
        result.raise_for_fault()
    assert isinstance(drv.last_fault, error)
    # nothing is fired after the fault
    again = drv.run_train(_train(n=3))
    assert again.pulses == ()
    with pytest.raises(StimulatorFault):
        drv.fire()
    time.sleep(0.05)
    assert emu.pulses_fired == delivered


def test_no_pulse_when_not_armed(rig: Rig, kind: str) -> None:
    emu, drv = rig(kind)
    drv.connect()
    drv.set_intensity(40)
    with pytest.raises(DeviceNotReadyError, match="not"):
        drv.fire()
    result = drv.run_train(_train(n=3))
    assert result.pulses == ()
    with pytest.raises(DeviceNotReadyError):
        result.raise_for_fault()
    assert emu.pulses_fired == 0


def test_device_refuses_when_disarmed_behind_the_drivers_back(
    rig: Rig, kind: str
) -> None:
    emu, drv = _ready(rig, kind)
    result = drv.run_train(_train(n=2))
    assert result.completed
    emu.force_disarm()
    with pytest.raises(DeviceNotReadyError):
        drv.fire()
    assert emu.pulses_fired == 2


@pytest.mark.parametrize("value", [-1, 101, 100.5, 40.5, float("nan")])
def test_intensity_refused_not_clamped_or_rounded(
    rig: Rig, kind: str, value: float
) -> None:
    emu, drv = _ready(rig, kind)
    with pytest.raises(ValueError, match="intensity_pct_mso"):
        drv.set_intensity(value)
    with pytest.raises(ValueError, match="intensity_pct_mso"):
        drv.run_train(_train(intensity=value))
    assert drv.status().intensity_pct_mso == pytest.approx(40.0)
    assert emu.pulses_fired == 0


def test_train_sets_its_intensity(rig: Rig, kind: str) -> None:
    _emu, drv = _ready(rig, kind)
    result = drv.run_train(_train(n=2, intensity=55))
    assert result.completed
    assert drv.status().intensity_pct_mso == pytest.approx(55.0)
    assert all(p.intensity_pct_mso == pytest.approx(55.0) for p in result.pulses)


def test_request_stop_interrupts_between_pulses(rig: Rig, kind: str) -> None:
    emu, drv = _ready(rig, kind)

    def stop_at_five(record: PulseRecord) -> None:
        if record.index == 4:
            threading.Thread(target=drv.request_stop).start()

    drv.add_pulse_listener(stop_at_five)
    result = drv.run_train(_train(n=40, f=10.0))
    assert not result.completed
    assert result.fault is None
    assert 5 <= len(result.pulses) <= 6
    assert len(result.pulses) == emu.pulses_fired


def test_over_temperature_refuses_to_arm(rig: Rig, kind: str) -> None:
    emu, drv = rig(kind, emulator={"initial_temperature_c": 45.0})
    drv.connect()
    with pytest.raises(OverTemperatureError):
        drv.arm()
    status = drv.status()
    assert not status.armed
    assert status.coil_temperature_c is not None
    assert status.coil_temperature_c >= 40.0
    assert emu.pulses_fired == 0


def test_heating_over_a_train(rig: Rig, kind: str) -> None:
    emu, drv = _ready(rig, kind, emulator={"heat_per_pulse_at_mso_c": 1.0})
    result = drv.run_train(_train(n=10, intensity=100))
    assert result.completed
    # 10 pulses x 1 degC at 100 % MSO on a 23 degC coil
    assert emu.coil_temperature_c() == pytest.approx(33.0, abs=0.1)
    assert drv.status().coil_temperature_c == pytest.approx(33.0, abs=1.0)


def test_heating_stops_the_train(rig: Rig, kind: str) -> None:
    emu, drv = _ready(rig, kind, emulator={"heat_per_pulse_at_mso_c": 4.0})
    result = drv.run_train(_train(n=10, intensity=100))
    # 23 + 4 k >= 40 after k = 5 pulses
    assert len(result.pulses) == emu.pulses_fired == 5
    with pytest.raises(OverTemperatureError):
        result.raise_for_fault()


def test_reconnect_after_latched_fault(rig: Rig, kind: str) -> None:
    emu, drv = _ready(
        rig, kind, emulator={"faults": FaultPlan(kind="garbled_reply", after_pulses=1)}
    )
    first = drv.run_train(_train(n=5))
    assert len(first.pulses) == emu.pulses_fired == 2
    assert drv.latched_fault is not None
    drv.connect()
    assert drv.latched_fault is None
    drv.arm()
    second = drv.run_train(_train(n=3))
    assert second.completed
    assert emu.pulses_fired == 5


def test_disconnect_is_always_safe(rig: Rig, kind: str) -> None:
    _emu, drv = rig(kind, emulator={"faults": FaultPlan(kind="disconnect")})
    with pytest.raises(DeviceDisconnectedError):
        drv.connect()  # the first command hits the fault
    drv.disarm()
    drv.disconnect()
    drv.disconnect()
    assert not drv.status().connected


@pytest.mark.slow
def test_device_timed_train_completes(rig: Rig, kind: str) -> None:
    emu, drv = _ready(rig, kind, timing="device")
    result = drv.run_train(_train(n=10, f=20.0))
    assert result.completed
    assert result.pulses_inferred
    assert len(result.pulses) == emu.pulses_fired == 10


@pytest.mark.slow
def test_device_timed_train_stop_gives_an_upper_bound(rig: Rig, kind: str) -> None:
    emu, drv = _ready(rig, kind, timing="device")
    timer = threading.Timer(0.3, drv.request_stop)
    timer.start()
    result = drv.run_train(_train(n=40, f=20.0))
    timer.join()
    time.sleep(0.1)
    assert not result.completed
    assert result.fault is None
    assert result.pulses_inferred
    assert emu.pulses_fired < 40
    assert emu.pulses_fired <= len(result.pulses) <= emu.pulses_fired + 2
    assert not drv.status().armed  # the stop disarmed the device


@pytest.mark.slow
def test_device_timed_train_disconnect_gives_an_upper_bound(
    rig: Rig, kind: str
) -> None:
    emu, drv = _ready(
        rig,
        kind,
        timing="device",
        emulator={"faults": FaultPlan(kind="disconnect", after_pulses=6)},
    )
    result = drv.run_train(_train(n=40, f=20.0))
    assert emu.pulses_fired == 6
    assert result.pulses_inferred
    assert 6 <= len(result.pulses) <= 6 + 4
    with pytest.raises(DeviceDisconnectedError):
        result.raise_for_fault()


def test_emulator_pulse_log(rig: Rig, kind: str, tmp_path: Path) -> None:
    log = tmp_path / f"{kind}.jsonl"
    emu, drv = _ready(rig, kind, emulator={"pulse_log": log})
    result = drv.run_train(_train(n=6, intensity=45))
    entries = read_pulse_log(log)
    assert len(entries) == len(result.pulses) == emu.pulses_fired == 6
    assert [e.seq for e in entries] == list(range(1, 7))
    assert all(e.intensity_pct_mso == pytest.approx(45.0) for e in entries)
    # each pulse left after the host issued it and before the next one was issued
    for entry, record in zip(entries, result.pulses, strict=True):
        assert entry.t_monotonic_s >= record.t_monotonic_s
