"""Magstim driver specifics: magpy-tms shims, unlock code, device-timed trains."""

from __future__ import annotations

import time

import pytest

from plptms.delivery import (
    DeviceDisconnectedError,
    DeviceTimeoutError,
    MagstimEmulator,
    MagstimStimulator,
    TrainRequest,
)
from plptms.delivery.sim import magstim_crc

from .conftest import Rig

magstim = pytest.importorskip("magpy.magstim", reason="magpy-tms is not installed")
serial = pytest.importorskip("serial", reason="pyserial is not installed")


def _train(n: int, f: float, intensity: float = 40.0) -> TrainRequest:
    return TrainRequest(frequency_hz=f, n_pulses=n, intensity_pct_mso=intensity)


def test_checksum_is_magpys() -> None:
    for command in (b"Q@", b"EH", b"@050", b"B0100", b"\\@"):
        assert bytes([magstim_crc(command)]) == bytes(magstim.calcCRC(command))


def test_emulator_raw_protocol() -> None:
    with MagstimEmulator() as emu:
        port = serial.Serial(emu.port, 9600, timeout=0.5)
        try:
            port.write(b"Q@" + bytes([magstim_crc(b"Q@")]))
            reply = port.read(3)
            assert reply[:1] == b"Q"
            assert reply[1] & 0x80  # remote control
            assert reply[2] == magstim_crc(reply[:2])
            port.write(b"EH\x00")  # bad checksum
            assert port.read(1) == b"?"
            port.write(b"Z@" + bytes([magstim_crc(b"Z@")]))  # unknown command
            assert port.read(1) == b"?"
            port.write(b"@150" + bytes([magstim_crc(b"@150")]))  # power 150 %
            assert port.read(3)[:2] == b"@?"
            port.write(b"EH" + bytes([magstim_crc(b"EH")]))  # fire, not armed
            assert port.read(3)[:2] == b"ES"
            assert emu.pulses_fired == 0
        finally:
            port.close()


def test_default_emulator_enforces_single_pulse_rate(rig: Rig) -> None:
    emu, drv = rig("magstim", emulator={"min_pulse_interval_s": None})
    drv.connect()
    drv.set_intensity(40)
    drv.arm()
    result = drv.run_train(_train(n=3, f=10.0))  # 10 Hz in single-pulse mode
    assert len(result.pulses) == emu.pulses_fired == 1
    assert result.fault is not None
    assert result.fault.startswith("DeviceNotReadyError")


def test_auto_timing_picks_host_at_low_rates(rig: Rig) -> None:
    emu, drv = rig("magstim", timing="auto", host_max_frequency_hz=20.0)
    drv.connect()
    drv.arm()
    result = drv.run_train(_train(n=4, f=20.0))
    assert result.completed
    assert not result.pulses_inferred
    assert emu.pulses_fired == 4


def test_unlock_code(rig: Rig) -> None:
    code = "1234-12345678-xy"
    emu, drv = rig("magstim", emulator={"unlock_code": code}, unlock_code=code)
    drv.connect()
    drv.arm()
    assert drv.run_train(_train(n=2, f=20.0)).completed
    assert emu.pulses_fired == 2


def test_wrong_unlock_code_refused(rig: Rig) -> None:
    _emu, drv = rig("magstim", emulator={"unlock_code": "1234-12345678-xy"})
    with pytest.raises(DeviceDisconnectedError, match="remote control"):
        drv.connect()


def test_keepalive_polls_while_armed(rig: Rig) -> None:
    emu, drv = rig("magstim")
    drv.connect()
    drv.arm()
    before = emu.commands_seen
    time.sleep(1.2)  # magpy pokes every 0.5 s while armed
    assert emu.commands_seen - before >= 2


def test_power_settle_waits(rig: Rig) -> None:
    emu, drv = rig("magstim", power_settle=True)
    drv.connect()  # the emulator starts at 30 % MSO
    t0 = time.monotonic()
    drv.set_intensity(40)  # 10 ms per % up
    assert time.monotonic() - t0 >= 0.1
    assert emu.power == 40


def test_device_train_refuses_unrepresentable_trains(rig: Rig) -> None:
    emu, drv = rig("magstim", timing="device")
    drv.connect()
    drv.arm()
    with pytest.raises(ValueError, match="n_pulses / frequency_hz"):
        drv.run_train(_train(n=7, f=3.0))  # 2.333 s is not a multiple of 0.1 s
    with pytest.raises(ValueError, match="frequency_hz"):
        drv.run_train(_train(n=10, f=10.05))
    # magpy's frequency table: at 100 % MSO a 240 V Rapid allows 15 Hz
    with pytest.raises(ValueError, match="setFrequency"):
        drv.run_train(_train(n=20, f=20.0, intensity=100))
    assert emu.pulses_fired == 0


def test_no_reply_at_connect_times_out(rig: Rig) -> None:
    _emu, drv = rig("magstim", emulator={"faults": {"kind": "no_reply"}})
    t0 = time.monotonic()
    with pytest.raises(DeviceTimeoutError):
        drv.connect()
    assert time.monotonic() - t0 < 2.0


def test_magpy_bugs_that_the_driver_works_around(rig: Rig) -> None:
    """Pin the magpy-tms 1.4 behaviour behind shims 3 and 4 (see the module doc)."""
    _emu, drv = rig("magstim")
    drv.connect()
    rapid = drv._rapid
    # shim 3: Rapid.setPower without an unlock code reads a 3-byte status reply
    # and then looks for its (absent) Rapid status byte
    with pytest.raises(KeyError, match="rapid"):
        rapid.setPower(50, receipt=True)
    # shim 4: setNPulses writes the duration in seconds where tenths are expected
    assert rapid.rTMSMode(True, receipt=True)[0] == 0
    assert rapid.setFrequency(10, receipt=True)[0] == 0
    assert rapid.setNPulses(20, receipt=True)[0] == 0
    params = rapid.getParameters()[1]["rapidParam"]
    assert params["nPulses"] == 20
    assert params["duration"] == pytest.approx(0.2)  # should be 2.0 s


@pytest.mark.slow
def test_plain_magpy_controller_dies_on_a_pty() -> None:
    """Pin shim 1: without it magpy's controller dies on setRTS (ENOTTY)."""
    with MagstimEmulator() as emu:
        rapid = magstim.Rapid(emu.port)
        rapid._connection.start()
        rapid._connection.join(timeout=5.0)
        assert not rapid._connection.is_alive()
        assert rapid._connection.exitcode == 1


def test_pickle_finds_the_controller_class() -> None:
    import pickle

    from plptms.delivery.drivers import _magstim

    cls = _magstim._controller_class()
    assert pickle.loads(pickle.dumps(cls)) is cls


def test_requires_port() -> None:
    with pytest.raises(ValueError, match="port"):
        MagstimStimulator()
