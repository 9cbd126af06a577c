"""Fixtures for the delivery tests: virtual-time simulators."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from plptms.delivery import SimulatedStimulator, VirtualClock

#: Virtual clock start, s (any value: only differences matter).
T0_S = 1000.0


@pytest.fixture
def vclock() -> VirtualClock:
    return VirtualClock(T0_S)


@pytest.fixture
def make_sim(vclock: VirtualClock) -> Callable[..., SimulatedStimulator]:
    """Factory of simulators running in virtual time on ``vclock``."""

    def make(**options: Any) -> SimulatedStimulator:
        return SimulatedStimulator(clock=vclock.now, sleep=vclock.sleep, **options)

    return make


@pytest.fixture
def quiet_cpu() -> None:
    """Skip a real-time precision check when the machine is saturated.

    Precision of a spinning wait is a property of the host when it has a free core;
    on a saturated machine the scheduler preempts the spinning thread and the test
    would measure the other jobs. Invariants (never faster than the requested rate,
    exact counts) are tested without this fixture.
    """
    load = os.getloadavg()[0]
    cpus = os.cpu_count() or 1
    if load > cpus:
        pytest.skip(f"machine busy (1-min load {load:.1f} > {cpus} CPUs)")
