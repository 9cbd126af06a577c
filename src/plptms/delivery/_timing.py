"""Clocks and precise waits for host-timed pulse trains.

The default clock is ``time.monotonic`` and waits sleep until
:data:`~plptms.delivery._constants.SPIN_WINDOW_S` before the deadline, then spin, so
pulses leave on time to within the resolution of the monotonic clock. Tests inject a
:class:`VirtualClock` instead: its ``sleep`` advances time at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ._constants import SPIN_WINDOW_S

if TYPE_CHECKING:
    from ._interface import Stimulator

__all__ = ["ClockFn", "SleepFn", "VirtualClock", "wait_ready", "wait_until"]

#: A clock: returns seconds on a monotonic time base.
ClockFn = Callable[[], float]

#: A sleep: waits (or advances virtual time by) the given number of seconds.
SleepFn = Callable[[float], None]


class VirtualClock:
    """A clock whose time only moves when someone sleeps on it.

    Parameters
    ----------
    start_s : float
        Initial time, s.

    Notes
    -----
    Pass ``clock=vc.now`` and ``sleep=vc.sleep`` to a simulator to run it in virtual
    time: a 10-minute session completes in milliseconds, with exact pulse times.
    Thread-safe; several threads sleeping on one virtual clock each advance it.
    """

    def __init__(self, start_s: float = 0.0) -> None:
        self._now = float(start_s)
        self._lock = threading.Lock()

    def now(self) -> float:
        """Return the current virtual time, s."""
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        """Advance virtual time by ``seconds`` (negative values are ignored)."""
        with self._lock:
            self._now += max(0.0, float(seconds))

    def advance(self, seconds: float) -> None:
        """Advance virtual time by ``seconds`` (alias of :meth:`sleep`)."""
        self.sleep(seconds)


def wait_until(
    deadline_s: float,
    stop: threading.Event,
    *,
    clock: ClockFn | None = None,
    sleep: SleepFn | None = None,
    spin_window_s: float = SPIN_WINDOW_S,
) -> bool:
    """Wait until ``deadline_s`` on ``clock`` unless ``stop`` is set first.

    Parameters
    ----------
    deadline_s : float
        Deadline on the clock's time base, s.
    stop : threading.Event
        Checked before and while waiting; a set event ends the wait early.
    clock, sleep : callable | None
        Injected clock and sleep (virtual time). When both are ``None`` the wait uses
        ``time.monotonic`` and sleeps on ``stop`` (so a stop request wakes it), then
        spins for the last ``spin_window_s``.
    spin_window_s : float
        Length of the final busy-wait on the real clock, s.

    Returns
    -------
    reached : bool
        ``True`` when the deadline was reached, ``False`` when ``stop`` was set.
    """
    if clock is not None or sleep is not None:
        now = clock if clock is not None else time.monotonic
        nap = sleep if sleep is not None else time.sleep
        while True:
            if stop.is_set():
                return False
            remaining = deadline_s - now()
            if remaining <= 0.0:
                return True
            nap(remaining)
    while True:
        if stop.is_set():
            return False
        remaining = deadline_s - time.monotonic()
        if remaining <= 0.0:
            return True
        if remaining > spin_window_s:
            if stop.wait(remaining - spin_window_s):
                return False
            continue
        # Final approach: spin on the clock, still honouring the stop request.
        while time.monotonic() < deadline_s:
            if stop.is_set():
                return False
        return True


def wait_ready(
    stimulator: Stimulator,
    *,
    timeout_s: float,
    poll_s: float = 0.05,
    clock: ClockFn = time.monotonic,
    sleep: SleepFn = time.sleep,
    stopped: Callable[[], bool] = lambda: False,
) -> None:
    """Poll an armed stimulator until it can fire (capacitors charged).

    Parameters
    ----------
    stimulator : Stimulator
        The device, already armed.
    timeout_s : float, s
        Longest wait.
    poll_s : float, s
        Interval between status queries.
    clock, sleep : callable
        Monotonic clock and sleep (injectable for tests and virtual time).
    stopped : callable
        Returns ``True`` when the caller was asked to stop: the wait ends early.

    Raises
    ------
    DeviceNotReadyError
        If the device is not ready within ``timeout_s``.
    """
    from ._interface import DeviceNotReadyError

    deadline = clock() + timeout_s
    while not (status := stimulator.status()).ready:
        if stopped():
            return
        if clock() >= deadline:
            raise DeviceNotReadyError(
                f"{stimulator.name}: not ready within {timeout_s:g} s after arming "
                f"({status.detail or 'no detail'})."
            )
        sleep(poll_s)
