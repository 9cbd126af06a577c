"""Base of the serial-protocol emulators: a device served on a pseudo-terminal.

The emulator owns the master side of a pty; a driver opens the slave path (e.g.
``/dev/pts/5``) with pyserial exactly as it would open ``/dev/ttyUSB0``. A background
thread reads commands, updates the device state and writes replies. The emulator
keeps its own count of the pulses it fired (the ground truth), heats a
:class:`~plptms.delivery.sim.CoilThermalModel`, runs device-timed trains and
injects the faults of a :class:`~plptms.delivery.FaultPlan`.
"""

from __future__ import annotations

import abc
import contextlib
import errno
import logging
import os
import select
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from .._constants import COIL_MAX_TEMPERATURE_C
from .._faults import FaultKind, FaultPlan
from .._pulselog import PulseLogEntry, PulseLogWriter
from ._coil import CoilThermalModel

__all__ = ["PtyEmulator"]

logger = logging.getLogger(__name__)

#: How far above the cut-off an injected over-temperature puts the coil, degC.
_OVERHEAT_MARGIN_C = 1.0

#: Longest idle wait of the serving thread, s (bounds the reaction to stop()).
_IDLE_WAIT_S = 0.05

_LIVE: weakref.WeakSet[PtyEmulator] = weakref.WeakSet()
_AT_FORK_REGISTERED = False
_AT_FORK_LOCK = threading.Lock()


def _close_fds_in_child() -> None:
    """In a forked child, close every live emulator's pty fds.

    A child process (magpy forks its serial controller) would otherwise hold a copy
    of the master fd, and closing the master in the parent would no longer hang up
    the line: the injected disconnect would go unnoticed.
    """
    for emulator in list(_LIVE):
        for fd in (emulator._master, emulator._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)


def _register_at_fork() -> None:
    global _AT_FORK_REGISTERED
    with _AT_FORK_LOCK:
        if not _AT_FORK_REGISTERED:
            os.register_at_fork(after_in_child=_close_fds_in_child)
            _AT_FORK_REGISTERED = True


class PtyEmulator(abc.ABC):
    """A stimulator that speaks a serial protocol on a pseudo-terminal.

    Parameters
    ----------
    faults : FaultPlan | dict | None
        Fault injection (``None``: healthy; a dict is validated as a
        :class:`~plptms.delivery.FaultPlan`).
    pulse_log : str | Path | None
        Append every fired pulse to this file (JSON lines, fsync'd).
    max_temperature_c : float
        Coil over-temperature cut-off, degC.
    initial_temperature_c : float | None
        Starting coil temperature, degC (``None``: ambient).
    min_pulse_interval_s : float
        Recharge time after a pulse during which a fire command is refused, s.
    reply_delay_s : float
        Delay before each reply, s (models transmission and processing time).
    **coil_options
        Passed to :class:`~plptms.delivery.sim.CoilThermalModel`.
    """

    #: Name written to the pulse log.
    source: str = "emulator"

    def __init__(
        self,
        *,
        faults: FaultPlan | dict[str, Any] | None = None,
        pulse_log: str | os.PathLike[str] | None = None,
        max_temperature_c: float = COIL_MAX_TEMPERATURE_C,
        initial_temperature_c: float | None = None,
        min_pulse_interval_s: float = 0.0,
        reply_delay_s: float = 0.0,
        **coil_options: Any,
    ) -> None:
        self.faults = (
            faults
            if isinstance(faults, FaultPlan)
            else FaultPlan.model_validate(faults or {})
        )
        self.max_temperature_c = float(max_temperature_c)
        self.min_pulse_interval_s = float(min_pulse_interval_s)
        self.reply_delay_s = float(reply_delay_s)
        self.coil = CoilThermalModel(
            initial_c=initial_temperature_c, t_s=time.monotonic(), **coil_options
        )
        self._log = PulseLogWriter(Path(pulse_log)) if pulse_log is not None else None
        self._lock = threading.RLock()
        self._master: int | None = None
        self._slave: int | None = None
        self._port: str | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._buffer = bytearray()
        self._pulses_fired = 0
        self._last_pulse_s = -float("inf")
        self._fault_spent = False
        self._hung = False
        self._disconnected = False
        self._not_ready = False
        self._garble_next_fire = False
        self._commands_seen = 0
        # Device-timed train in progress.
        self._train_next_s: float | None = None
        self._train_left = 0
        self._train_period_s = 0.0
        self._train_intensity = 0.0

    # -- lifecycle ------------------------------------------------------------

    @property
    def port(self) -> str:
        """Path of the slave tty to open with pyserial."""
        if self._port is None:
            raise RuntimeError("The emulator is not started; call start() first.")
        return self._port

    def start(self) -> PtyEmulator:
        """Open the pty and start serving.

        Returns
        -------
        self : PtyEmulator
            The emulator, for chaining.
        """
        if self._thread is not None:
            return self
        try:
            import tty  # POSIX only: loaded here so the package imports everywhere
        except ImportError as err:
            raise RuntimeError(
                "The serial-device emulators need a POSIX pseudo-terminal (Linux or "
                "macOS); on this platform use the simulated stimulator (--device "
                "sim) or a real device."
            ) from err
        _register_at_fork()
        master, slave = os.openpty()
        tty.setraw(slave)
        self._master, self._slave = master, slave
        self._port = os.ttyname(slave)
        _LIVE.add(self)
        self._thread = threading.Thread(
            target=self._serve, name=f"{self.source}-{self._port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the pty (idempotent)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self._close_fds()
        if self._log is not None:
            self._log.close()

    def __enter__(self) -> PtyEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _close_fds(self) -> None:
        with self._lock:
            for fd in (self._master, self._slave):
                if fd is not None:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._master = self._slave = None

    # -- ground truth -------------------------------------------------------------

    @property
    def pulses_fired(self) -> int:
        """Pulses fired since the emulator started (its own count)."""
        with self._lock:
            return self._pulses_fired

    @property
    def disconnected(self) -> bool:
        """Whether the emulator hung up the line (injected disconnect)."""
        return self._disconnected

    @property
    def commands_seen(self) -> int:
        """Well-formed commands received (including swallowed ones)."""
        with self._lock:
            return self._commands_seen

    @property
    def train_running(self) -> bool:
        """Whether a device-timed train is in progress."""
        with self._lock:
            return self._train_next_s is not None

    def coil_temperature_c(self) -> float:
        """Return the coil temperature now, degC."""
        return self.coil.temperature(time.monotonic())

    # -- serving loop -------------------------------------------------------------

    def _serve(self) -> None:
        while not self._stopping.is_set():
            master = self._master
            if master is None:
                return
            timeout = _IDLE_WAIT_S
            with self._lock:
                if self._train_next_s is not None:
                    timeout = min(
                        timeout, max(0.0, self._train_next_s - time.monotonic())
                    )
            try:
                readable, _, _ = select.select([master], [], [], timeout)
            except (OSError, ValueError):
                return
            self._run_train_step()
            if not readable:
                continue
            try:
                data = os.read(master, 4096)
            except OSError as err:
                if err.errno == errno.EIO:
                    # No slave open right now (between connections): wait.
                    time.sleep(_IDLE_WAIT_S)
                    continue
                return
            if not data:
                continue
            with self._lock:
                self._buffer.extend(data)
                self._process_buffer()

    def _write(self, data: bytes) -> None:
        """Send ``data`` to the host unless the device is hung or gone."""
        if self._hung or self._disconnected or self._master is None:
            return
        if self.reply_delay_s > 0.0:
            time.sleep(self.reply_delay_s)
        try:
            os.write(self._master, data)
        except OSError:
            logger.debug("%s: write failed", self.source)

    # -- faults ---------------------------------------------------------------

    def _strike_due_fault(self) -> None:
        """Apply the injected fault once it is due (at each command and pulse)."""
        kind = self.faults.armed_for(self._pulses_fired)
        if kind is None or self._fault_spent:
            return
        if kind is FaultKind.GARBLED_REPLY:
            self._fault_spent = True
            self._garble_next_fire = True
            return
        self._fault_spent = True
        self._stop_train()
        if kind is FaultKind.NO_REPLY:
            self._hung = True
        elif kind is FaultKind.DISCONNECT:
            self._hang_up()
        elif kind is FaultKind.OVER_TEMPERATURE:
            self.coil.set_temperature(
                self.max_temperature_c + _OVERHEAT_MARGIN_C, time.monotonic()
            )
            self._on_over_temperature()
        elif kind is FaultKind.NOT_READY:
            self._not_ready = True

    def _hang_up(self) -> None:
        """Close the line as if the cable were pulled."""
        self._disconnected = True
        self._close_fds()

    def force_disarm(self) -> None:
        """Disarm from the device side (e.g. the operator pressed disarm)."""
        with self._lock:
            self._stop_train()
            self._disarm()

    def too_hot(self) -> bool:
        """Whether the coil is at or above the cut-off."""
        return self.coil_temperature_c() >= self.max_temperature_c

    # -- pulses ---------------------------------------------------------------

    def _recharged(self, now: float) -> bool:
        return now - self._last_pulse_s >= self.min_pulse_interval_s

    def _emit_pulse(self, intensity_pct_mso: float) -> None:
        """Fire one pulse: count it, heat the coil, log it."""
        now = time.monotonic()
        self._pulses_fired += 1
        self._last_pulse_s = now
        self.coil.add_pulse(intensity_pct_mso, now)
        if self._log is not None:
            self._log.write(
                PulseLogEntry(
                    seq=self._pulses_fired,
                    t_monotonic_s=now,
                    intensity_pct_mso=intensity_pct_mso,
                    source=self.source,
                )
            )

    def _start_train(
        self, n_pulses: int, frequency_hz: float, intensity: float
    ) -> None:
        """Start a device-timed train; the first pulse leaves now."""
        self._train_left = n_pulses
        self._train_period_s = 1.0 / frequency_hz if frequency_hz > 0 else 0.0
        self._train_intensity = intensity
        self._train_next_s = time.monotonic()
        self._run_train_step()

    def _train_in_progress(self) -> bool:
        return self._train_next_s is not None

    def _stop_train(self) -> None:
        self._train_next_s = None
        self._train_left = 0

    def _run_train_step(self) -> None:
        with self._lock:
            while (
                self._train_next_s is not None
                and time.monotonic() >= self._train_next_s
            ):
                self._strike_due_fault()
                if not self._train_in_progress():
                    return
                if not self._can_fire_in_train():
                    self._stop_train()
                    return
                self._emit_pulse(self._train_intensity)
                self._train_left -= 1
                if self._train_left <= 0:
                    self._stop_train()
                    self._on_train_end()
                    return
                self._train_next_s += self._train_period_s

    # -- device specifics -------------------------------------------------------

    @abc.abstractmethod
    def _process_buffer(self) -> None:
        """Parse and execute the complete commands in ``self._buffer``."""

    @abc.abstractmethod
    def _disarm(self) -> None:
        """Disarm the device."""

    @abc.abstractmethod
    def _on_over_temperature(self) -> None:
        """React to the coil reaching the cut-off (disarm)."""

    @abc.abstractmethod
    def _can_fire_in_train(self) -> bool:
        """Whether the next pulse of a device-timed train may leave."""

    def _on_train_end(self) -> None:  # noqa: B027 - optional hook
        """Run when a device-timed train completes (hook)."""
