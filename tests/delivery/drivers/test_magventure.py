"""MagVenture driver specifics: magicpy framing and CRC, emulator replies."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plptms.delivery import MagVentureEmulator, MagVentureStimulator, TrainRequest
from plptms.delivery.sim import magventure_crc, magventure_frame

from .conftest import Rig

magicpy = pytest.importorskip("magicpy", reason="magicpy is not installed")
serial = pytest.importorskip("serial", reason="pyserial is not installed")


@given(st.binary(min_size=1, max_size=12))
def test_crc_is_magicpys(payload: bytes) -> None:
    expected = int(magicpy.MagVenture.calc_crc([f"{b:02x}" for b in payload]), 16)
    assert magventure_crc(payload) == expected


def test_emulator_frames_parse_with_magicpy() -> None:
    with MagVentureEmulator(initial_temperature_c=31.0) as emu:
        port = serial.Serial(emu.port, 38400, timeout=0.5)
        try:
            port.write(magventure_frame(b"\x01\x2a"))  # amplitude 42 %
            amp = port.read(8)
            port.write(magventure_frame(b"\x00"))  # status
            status = port.read(13)
        finally:
            port.close()
    parser = magicpy.MagVenture("unused")
    info, _ = parser.parse_response(amp)
    assert info["amplitudePercentage_A"] == 42
    assert info["Status"] == "Disabled"
    info, _ = parser.parse_response(status)
    assert info["Model"] == "X100"
    assert info["Temperature"] == 31
    assert info["coilTypeNo"] == "MCF-B65"
    assert info["Waveform"] == "Biphasic"
    assert info["Mode"] == "Standard"


def test_emulator_ignores_malformed_commands() -> None:
    with MagVentureEmulator() as emu:
        port = serial.Serial(emu.port, 38400, timeout=0.3)
        try:
            bad = bytearray(magventure_frame(b"\x02\x01"))
            bad[-2] ^= 0x55  # wrong CRC
            port.write(bytes(bad))
            assert port.read(8) == b""
            assert emu.bad_frames == 1
            assert not emu.enabled
        finally:
            port.close()


def test_device_train_refuses_what_magicpy_cannot_send(rig: Rig) -> None:
    emu, drv = rig("magventure", timing="device")
    drv.connect()
    drv.arm()
    with pytest.raises(ValueError, match="frequency_hz"):
        drv.run_train(TrainRequest(frequency_hz=2.5, n_pulses=10, intensity_pct_mso=40))
    with pytest.raises(ValueError, match="n_pulses"):
        drv.run_train(TrainRequest(frequency_hz=10, n_pulses=150, intensity_pct_mso=40))
    assert emu.pulses_fired == 0


def test_host_fire_returns_to_the_main_page(rig: Rig) -> None:
    # after a device-timed train the MagPro is on its train page, where a fire
    # command would start a whole train: a single pulse must go back to "Main"
    emu, drv = rig("magventure", timing="device")
    drv.connect()
    drv.arm()
    assert drv.run_train(
        TrainRequest(frequency_hz=20, n_pulses=3, intensity_pct_mso=40)
    )
    assert emu.pulses_fired == 3
    drv.fire()
    assert emu.pulses_fired == 4
    assert emu.page == 1


def test_requires_port() -> None:
    with pytest.raises(ValueError, match="port"):
        MagVentureStimulator()
