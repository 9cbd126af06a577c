"""Clocks and precise waits."""

from __future__ import annotations

import statistics
import threading
import time

import pytest

from plptms.delivery import VirtualClock, wait_until

#: Typical (median) overshoot of a precise real-time wait, s: it spins at the end.
MEDIAN_LATE_ATOL_S = 1e-4
#: 90th-percentile overshoot, s (the test machine may be loaded: preemption of the
#: spinning thread shows up in the tail only).
P90_LATE_ATOL_S = 1e-3


def test_virtual_clock_advances_only_on_sleep() -> None:
    vc = VirtualClock(5.0)
    assert vc.now() == pytest.approx(5.0)
    vc.sleep(1.5)
    vc.sleep(-3.0)  # ignored
    assert vc.now() == pytest.approx(6.5)
    vc.advance(0.5)
    assert vc.now() == pytest.approx(7.0)


def test_wait_until_virtual_reaches_deadline_exactly() -> None:
    vc = VirtualClock()
    stop = threading.Event()
    assert wait_until(3.25, stop, clock=vc.now, sleep=vc.sleep)
    assert vc.now() == pytest.approx(3.25, abs=1e-12)


def test_wait_until_virtual_honours_stop() -> None:
    vc = VirtualClock()
    stop = threading.Event()
    stop.set()
    assert not wait_until(3.0, stop, clock=vc.now, sleep=vc.sleep)
    assert vc.now() == pytest.approx(0.0)


def test_wait_until_real_is_never_early() -> None:
    stop = threading.Event()
    for _ in range(20):
        deadline = time.monotonic() + 0.002
        assert wait_until(deadline, stop)
        assert time.monotonic() >= deadline


@pytest.mark.slow
@pytest.mark.usefixtures("quiet_cpu")
def test_wait_until_real_is_precise() -> None:
    stop = threading.Event()
    lateness = []
    for _ in range(50):
        deadline = time.monotonic() + 0.003
        assert wait_until(deadline, stop)
        lateness.append(time.monotonic() - deadline)
    lateness.sort()
    assert lateness[0] >= 0.0
    assert statistics.median(lateness) < MEDIAN_LATE_ATOL_S
    assert lateness[int(0.9 * len(lateness))] < P90_LATE_ATOL_S


def test_wait_until_real_wakes_on_stop() -> None:
    stop = threading.Event()
    threading.Timer(0.05, stop.set).start()
    t0 = time.monotonic()
    assert not wait_until(t0 + 5.0, stop)
    assert time.monotonic() - t0 < 1.0
