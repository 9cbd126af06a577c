"""open_stimulator: kinds, ports and options."""

from __future__ import annotations

import pytest

from plptms.delivery import (
    MagstimStimulator,
    MagVentureStimulator,
    SimulatedStimulator,
    TrainRequest,
    VirtualClock,
    open_stimulator,
)


def test_sim_with_options_and_virtual_time() -> None:
    vc = VirtualClock()
    stim = open_stimulator(
        "sim", arm_delay_s=0.5, sham=True, clock=vc.now, sleep=vc.sleep
    )
    assert isinstance(stim, SimulatedStimulator)
    with stim:
        stim.set_intensity(30)
        stim.arm()
        result = stim.run_train(
            TrainRequest(frequency_hz=1, n_pulses=3, intensity_pct_mso=30)
        )
        assert result.completed
        assert stim.status().sham
    assert vc.now() == pytest.approx(2.5)


@pytest.mark.parametrize(
    ("kind", "cls"),
    [("magstim", MagstimStimulator), ("magventure", MagVentureStimulator)],
)
def test_hardware_kinds(kind: str, cls: type) -> None:
    stim = open_stimulator(kind, port="/dev/ttyUSB0", reply_timeout_s=2.0)
    assert isinstance(stim, cls)
    assert stim.settings.port == "/dev/ttyUSB0"  # type: ignore[attr-defined]


def test_unknown_kind_names_the_field() -> None:
    with pytest.raises(ValueError, match=r"'kind'.*Did you mean 'magstim'"):
        open_stimulator("magstin", port="/dev/ttyUSB0")
    with pytest.raises(TypeError, match="kind"):
        open_stimulator(3)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["magstim", "magventure"])
def test_missing_port_names_the_field(kind: str) -> None:
    with pytest.raises(ValueError, match="'port'"):
        open_stimulator(kind)


def test_sim_takes_no_port() -> None:
    with pytest.raises(ValueError, match="'port'"):
        open_stimulator("sim", port="/dev/ttyUSB0")


def test_unknown_option_names_the_field() -> None:
    with pytest.raises(ValueError, match="reply_timeout"):
        open_stimulator("magstim", port="COM3", reply_timeout=1.0)
    with pytest.raises(ValueError, match="timing"):
        open_stimulator("magventure", port="COM3", timing="fast")
