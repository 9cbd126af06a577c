"""Emulated devices on a pty, driven by the real drivers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from plptms.delivery import (
    BaseStimulator,
    MagstimEmulator,
    MagstimStimulator,
    MagVentureEmulator,
    MagVentureStimulator,
)
from plptms.delivery.sim import PtyEmulator

pytest.importorskip("serial", reason="pyserial is not installed")

#: Link timeout for the tests, s. Short enough that the fault tests which wait it out
#: stay quick, long enough that an emulator starved of CPU by a parallel test run
#: still answers in time (0.5 s was exceeded under full-suite load on 2 cores).
REPLY_TIMEOUT_S = 1.5

Rig = Callable[..., tuple[Any, Any]]


def _make(
    kind: str, emulator: dict[str, Any], driver: dict[str, Any]
) -> tuple[Any, Any]:
    if kind == "magstim":
        pytest.importorskip("magpy.magstim", reason="magpy-tms is not installed")
        emu: PtyEmulator = MagstimEmulator(
            **{"arm_delay_s": 0.05, "min_pulse_interval_s": 0.01, **emulator}
        ).start()
        drv: BaseStimulator = MagstimStimulator(
            **{
                "port": emu.port,
                "timing": "host",
                "power_settle": False,
                "reply_timeout_s": REPLY_TIMEOUT_S,
                "ready_timeout_s": REPLY_TIMEOUT_S,
                **driver,
            }
        )
    else:
        pytest.importorskip("magicpy", reason="magicpy is not installed")
        emu = MagVentureEmulator(**emulator).start()
        drv = MagVentureStimulator(
            **{
                "port": emu.port,
                "timing": "host",
                "reply_timeout_s": REPLY_TIMEOUT_S,
                **driver,
            }
        )
    return emu, drv


@pytest.fixture
def rig() -> Iterator[Rig]:
    """``rig(kind, emulator={...}, **driver_options) -> (emulator, driver)``."""
    made: list[tuple[Any, Any]] = []

    def make(
        kind: str, emulator: dict[str, Any] | None = None, **driver: Any
    ) -> tuple[Any, Any]:
        pair = _make(kind, emulator or {}, driver)
        made.append(pair)
        return pair

    yield make
    for emu, drv in made:
        drv.disconnect()
        emu.stop()


@pytest.fixture(params=["magstim", "magventure"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)
