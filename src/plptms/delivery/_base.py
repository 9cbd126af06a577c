"""Machinery shared by every stimulator.

Faults, pulse listeners, stop requests and the host-timed train loop.
A concrete stimulator implements :meth:`BaseStimulator._fire_pulse` (one confirmed
pulse, or a :class:`~plptms.delivery.StimulatorFault`) and
:meth:`BaseStimulator._prepare_train`; the base class times the train, honours
:meth:`~plptms.delivery.Stimulator.request_stop` between pulses and turns a fault
into a :class:`~plptms.delivery.TrainResult` that lists exactly the pulses delivered.
"""

from __future__ import annotations

import abc
import logging
import threading
import time
from collections.abc import Callable

from ._checks import check_train
from ._interface import (
    DeviceDisconnectedError,
    DeviceNotReadyError,
    DeviceTimeoutError,
    GarbledReplyError,
    PulseRecord,
    Stimulator,
    StimulatorFault,
    TrainRequest,
    TrainResult,
)
from ._timing import ClockFn, SleepFn, wait_until

__all__ = ["BaseStimulator", "DeliveredThenFault", "PulseListener", "fault_text"]

logger = logging.getLogger(__name__)

#: A callback run for every pulse delivered, in the thread that fired it.
PulseListener = Callable[[PulseRecord], None]

#: Faults after which the device state is unknown: the link must be re-opened.
_LATCHING: tuple[type[StimulatorFault], ...] = (
    DeviceTimeoutError,
    GarbledReplyError,
    DeviceDisconnectedError,
)


def fault_text(exc: StimulatorFault) -> str:
    """Return the text stored in :attr:`TrainResult.fault` for ``exc``.

    Parameters
    ----------
    exc : StimulatorFault
        The fault.

    Returns
    -------
    text : str
        ``"<class name>: <message>"``, which :meth:`TrainResult.raise_for_fault`
        turns back into the same subclass.
    """
    return f"{type(exc).__name__}: {exc}"


class DeliveredThenFault(Exception):
    """Raised by ``_fire_pulse`` when the pulse went out but the exchange then failed.

    Parameters
    ----------
    record : PulseRecord
        The pulse, which counts as delivered.
    fault : StimulatorFault
        The fault that followed it (e.g. a garbled acknowledgement).
    """

    def __init__(self, record: PulseRecord, fault: StimulatorFault) -> None:
        super().__init__(str(fault))
        self.record = record
        self.fault = fault


class BaseStimulator(Stimulator):
    """Common base of the simulator and the hardware drivers.

    Parameters
    ----------
    clock : callable | None
        Monotonic clock, s; ``None`` for ``time.monotonic``.
    sleep : callable | None
        Sleep function; ``None`` for real, precise waits (sleep then spin).

    Notes
    -----
    After a :class:`DeviceTimeoutError`, :class:`GarbledReplyError` or
    :class:`DeviceDisconnectedError` the device state is unknown, so the fault is
    latched: nothing more is fired (every call raises the latched fault, a train
    returns at once with it) until :meth:`connect` opens the link again.
    """

    #: Whether intensities must be whole % MSO (1 % resolution devices).
    whole_intensity: bool = False

    def __init__(
        self, *, clock: ClockFn | None = None, sleep: SleepFn | None = None
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._stop = threading.Event()
        self._listeners: list[PulseListener] = []
        self._listeners_lock = threading.Lock()
        self._last_fault: StimulatorFault | None = None
        self._latched: StimulatorFault | None = None

    # -- time ---------------------------------------------------------------

    def now(self) -> float:
        """Return the stimulator's clock, s (``time.monotonic`` unless injected)."""
        return self._clock() if self._clock is not None else time.monotonic()

    def _wait_until(self, deadline_s: float) -> bool:
        """Wait for ``deadline_s``; ``False`` if a stop request came first."""
        return wait_until(deadline_s, self._stop, clock=self._clock, sleep=self._sleep)

    def _pause(self, seconds: float) -> None:
        """Wait ``seconds`` regardless of stop requests."""
        if seconds <= 0.0:
            return
        if self._sleep is not None:
            self._sleep(seconds)
        else:
            time.sleep(seconds)

    # -- faults -------------------------------------------------------------

    @property
    def last_fault(self) -> StimulatorFault | None:
        """The most recent fault, latched or not (``None`` if none yet)."""
        return self._last_fault

    @property
    def latched_fault(self) -> StimulatorFault | None:
        """The fault that blocks firing until the next :meth:`connect`, if any."""
        return self._latched

    def _record_fault(self, exc: StimulatorFault) -> StimulatorFault:
        """Remember ``exc`` (latching it if the device state is now unknown)."""
        if exc is self._last_fault:
            return exc
        self._last_fault = exc
        if isinstance(exc, _LATCHING) and self._latched is None:
            self._latched = exc
        logger.warning("%s fault: %s", self.name, fault_text(exc))
        return exc

    def _clear_latch(self) -> None:
        """Forget the latched fault (called by ``connect``)."""
        self._latched = None

    def _raise_if_latched(self) -> None:
        if self._latched is not None:
            raise type(self._latched)(
                f"{self._latched} (latched: reconnect before stimulating again)"
            )

    # -- pulse listeners ----------------------------------------------------

    def add_pulse_listener(self, listener: PulseListener) -> None:
        """Call ``listener(record)`` for every pulse delivered from now on.

        Parameters
        ----------
        listener : callable
            Run in the firing thread right after each pulse; an exception in it is
            logged and does not stop the train.
        """
        with self._listeners_lock:
            self._listeners.append(listener)

    def remove_pulse_listener(self, listener: PulseListener) -> None:
        """Stop calling ``listener`` (no error if it was not registered).

        Parameters
        ----------
        listener : callable
            A listener given to :meth:`add_pulse_listener`.
        """
        with self._listeners_lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _notify(self, record: PulseRecord) -> None:
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(record)
            except Exception:
                logger.exception("Pulse listener %r failed", listener)

    # -- stop ---------------------------------------------------------------

    def request_stop(self) -> None:
        """Ask the running (or next) train to stop before its next pulse.

        Thread-safe and signal-safe (it only sets an event). The request is used up
        by the train it stops; one made while idle stops the next train before its
        first pulse.
        """
        self._stop.set()

    # -- hooks for subclasses -------------------------------------------------

    @abc.abstractmethod
    def _fire_pulse(self, index: int, intensity_pct_mso: float) -> PulseRecord:
        """Fire one pulse and return it once the device has confirmed it.

        Raises
        ------
        StimulatorFault
            When the pulse was not delivered.
        DeliveredThenFault
            When the pulse was delivered but the exchange then failed.
        """

    @abc.abstractmethod
    def _prepare_train(self, train: TrainRequest) -> None:
        """Make the device ready for ``train`` (intensity set, armed, charged).

        Raises
        ------
        StimulatorFault
            When the train cannot start.
        """

    def _deliver_train(self, train: TrainRequest) -> TrainResult:
        """Deliver ``train`` with host timing (override for device-timed trains)."""
        return self._run_host_timed(train)

    # -- public API -----------------------------------------------------------

    def fire(self) -> PulseRecord:
        """Deliver one pulse at the set intensity.

        Returns
        -------
        record : PulseRecord
            The pulse, with index 0 and its issue time.

        Raises
        ------
        StimulatorFault
            If the pulse could not be delivered, or was delivered but the exchange
            failed (it is still passed to the pulse listeners), or a latched fault
            blocks firing.
        """
        try:
            self._raise_if_latched()
            intensity = self._current_intensity()
            record = self._fire_pulse(0, intensity)
        except DeliveredThenFault as carrier:
            self._notify(carrier.record)
            raise self._record_fault(carrier.fault) from None
        except StimulatorFault as exc:
            raise self._record_fault(exc) from None
        self._notify(record)
        return record

    def run_train(self, train: TrainRequest) -> TrainResult:
        """Deliver one train.

        Parameters
        ----------
        train : TrainRequest
            The train (already passed by the safety engine).

        Returns
        -------
        result : TrainResult
            The pulses delivered. A device fault never raises here: it ends the
            train, is stored in ``result.fault`` (``result.raise_for_fault()``
            raises it) and in :attr:`last_fault`. A stop request ends the train
            with ``completed=False`` and no fault.

        Raises
        ------
        TypeError, ValueError
            If the request is malformed or the intensity is outside [0, 100] % MSO
            (never clamped).
        """
        check_train(train, whole=self.whole_intensity)
        try:
            try:
                self._raise_if_latched()
                self._prepare_train(train)
            except StimulatorFault as exc:
                self._record_fault(exc)
                return TrainResult(pulses=(), completed=False, fault=fault_text(exc))
            return self._deliver_train(train)
        finally:
            self._stop.clear()

    # -- helpers ------------------------------------------------------------------

    def _current_intensity(self) -> float:
        """Return the intensity set on the device (raise if none was set)."""
        intensity = self._intensity_or_none()
        if intensity is None:
            raise DeviceNotReadyError(
                f"{self.name}: no intensity set; call set_intensity() first."
            )
        return intensity

    @abc.abstractmethod
    def _intensity_or_none(self) -> float | None:
        """Return the intensity currently set, % MSO, or ``None``."""

    def _run_host_timed(self, train: TrainRequest) -> TrainResult:
        """Fire ``train`` pulse by pulse on the host clock.

        Pulse ``k`` is due at ``t0 + k / f`` but never sooner than one period after
        the previous pulse actually left, so a late pulse delays the rest of the
        train rather than producing a doublet above the requested rate.
        """
        period = 1.0 / train.frequency_hz if train.n_pulses > 1 else 0.0
        pulses: list[PulseRecord] = []
        t0 = self.now()
        last: float | None = None
        try:
            for k in range(train.n_pulses):
                due = t0 + k * period
                if last is not None:
                    due = max(due, last + period)
                if not self._wait_until(due):
                    break
                record = self._fire_pulse(k, train.intensity_pct_mso)
                pulses.append(record)
                last = record.t_monotonic_s
                self._notify(record)
        except DeliveredThenFault as carrier:
            pulses.append(carrier.record)
            self._notify(carrier.record)
            self._record_fault(carrier.fault)
            return TrainResult(
                pulses=tuple(pulses),
                completed=len(pulses) == train.n_pulses,
                fault=fault_text(carrier.fault),
            )
        except StimulatorFault as exc:
            self._record_fault(exc)
            return TrainResult(
                pulses=tuple(pulses), completed=False, fault=fault_text(exc)
            )
        return TrainResult(
            pulses=tuple(pulses), completed=len(pulses) == train.n_pulses
        )
