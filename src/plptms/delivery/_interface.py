"""The stimulator interface shared by the session runner, hunts and closed loop.

A driver (Magstim through magpy-tms, MagVenture through magicpy, or the simulator)
implements :class:`Stimulator`. Every call either succeeds or raises a
:class:`StimulatorFault`; a driver never silently changes what it was asked to do.
"""

from __future__ import annotations

import abc
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

__all__ = [
    "DeviceDisconnectedError",
    "DeviceNotReadyError",
    "DeviceTimeoutError",
    "GarbledReplyError",
    "OverTemperatureError",
    "PulseRecord",
    "Stimulator",
    "StimulatorFault",
    "StimulatorStatus",
    "TrainRequest",
    "TrainResult",
    "Waveform",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class StimulatorFault(RuntimeError):
    """A device fault: stimulation must stop at once and the fault be recorded."""


class DeviceTimeoutError(StimulatorFault):
    """The device did not reply in time."""


class GarbledReplyError(StimulatorFault):
    """The device replied with something that is not a valid message."""


class DeviceDisconnectedError(StimulatorFault):
    """The link to the device was lost."""


class OverTemperatureError(StimulatorFault):
    """The coil is too hot to stimulate."""


class DeviceNotReadyError(StimulatorFault):
    """The device is not ready (not armed, charging, interlock open...)."""


_FAULT_CLASSES: dict[str, type[StimulatorFault]] = {
    cls.__name__: cls
    for cls in (
        StimulatorFault,
        DeviceTimeoutError,
        GarbledReplyError,
        DeviceDisconnectedError,
        OverTemperatureError,
        DeviceNotReadyError,
    )
}


class Waveform(StrEnum):
    """Pulse waveform."""

    BIPHASIC = "biphasic"
    MONOPHASIC = "monophasic"


class StimulatorStatus(BaseModel):
    """A snapshot of the device state.

    Attributes
    ----------
    connected, armed, ready : bool
        Link up; capacitors enabled; able to fire now.
    intensity_pct_mso : float | None
        Intensity currently set, % MSO.
    coil_temperature_c : float | None
        Coil temperature, degC, ``None`` if the device does not report it.
    sham : bool
        Whether the sham coil or mode is active.
    detail : str
        Free text from the driver (e.g. the device's error code).
    """

    model_config = _FROZEN

    connected: bool
    armed: bool
    ready: bool
    intensity_pct_mso: float | None
    coil_temperature_c: float | None
    sham: bool = False
    detail: str = ""


class TrainRequest(BaseModel):
    """One train to deliver (already passed by the safety engine).

    Attributes
    ----------
    frequency_hz : float
        Pulse rate within the train (ignored when ``n_pulses`` is 1).
    n_pulses : int
        Pulses in the train.
    intensity_pct_mso : float
        Intensity, % MSO.
    """

    model_config = _FROZEN

    frequency_hz: float
    n_pulses: int
    intensity_pct_mso: float


class PulseRecord(BaseModel):
    """One pulse as delivered, timed on the host's monotonic clock.

    Attributes
    ----------
    index : int
        Index of the pulse within its train, from 0.
    t_monotonic_s : float
        ``time.monotonic()`` when the pulse was issued.
    intensity_pct_mso : float
        Intensity, % MSO.
    """

    model_config = _FROZEN

    index: int
    t_monotonic_s: float
    intensity_pct_mso: float


class TrainResult(BaseModel):
    """The outcome of :meth:`Stimulator.run_train`.

    Attributes
    ----------
    pulses : tuple of PulseRecord
        The pulses actually delivered, in order (fewer than requested when a fault
        or a stop request interrupted the train).
    completed : bool
        Whether every requested pulse was delivered.
    fault : str | None
        The fault that interrupted the train, if any, written
        ``"<StimulatorFault subclass name>: <message>"`` (see :meth:`raise_for_fault`).
    pulses_inferred : bool
        ``False`` (the default) when every pulse in ``pulses`` was confirmed by the
        device one by one (host-timed train). ``True`` when the device timed the
        train itself and the pulses are its nominal schedule up to the moment the
        train was known to have ended; after an interruption this is an upper bound
        (pulses that may have been fired are counted).
    """

    model_config = _FROZEN

    pulses: tuple[PulseRecord, ...]
    completed: bool
    fault: str | None = None
    pulses_inferred: bool = False

    def raise_for_fault(self) -> None:
        """Raise the fault that interrupted the train, if any.

        Raises
        ------
        StimulatorFault
            The subclass named at the start of :attr:`fault` (the base class when
            the name is not a known fault), with the rest of the text as message.
        """
        if self.fault is None:
            return
        name, sep, message = self.fault.partition(": ")
        cls = _FAULT_CLASSES.get(name, StimulatorFault) if sep else StimulatorFault
        raise cls(message if sep else self.fault)


class Stimulator(abc.ABC):
    """Abstract stimulator.

    Implementations must be safe to call from one thread; ``request_stop`` may be
    called from another thread (or a signal handler) to interrupt a running train
    between pulses.
    """

    #: Short name of the device family, e.g. ``"sim"``, ``"magstim"``.
    name: str = "abstract"

    @abc.abstractmethod
    def connect(self) -> None:
        """Open the link to the device."""

    @abc.abstractmethod
    def disconnect(self) -> None:
        """Disarm and close the link (always safe to call)."""

    @abc.abstractmethod
    def arm(self) -> None:
        """Enable the capacitors; the device becomes ready after charging."""

    @abc.abstractmethod
    def disarm(self) -> None:
        """Disable the capacitors (always safe to call)."""

    @abc.abstractmethod
    def set_intensity(self, intensity_pct_mso: float) -> None:
        """Set the output intensity, % MSO (refused outside [0, 100])."""

    @abc.abstractmethod
    def fire(self) -> PulseRecord:
        """Deliver one pulse at the set intensity."""

    @abc.abstractmethod
    def run_train(self, train: TrainRequest) -> TrainResult:
        """Deliver one train; returns the pulses delivered even when interrupted."""

    @abc.abstractmethod
    def status(self) -> StimulatorStatus:
        """Return the device state."""

    @abc.abstractmethod
    def request_stop(self) -> None:
        """Ask a running train to stop before its next pulse (thread-safe)."""

    def device_pulse_count(self) -> int | None:
        """Return the device's own running count of pulses fired, if it has one.

        Used after a crash to settle whether a pulse issued just before the crash
        was delivered. ``None`` when the device keeps no count.

        Returns
        -------
        count : int | None
            Pulses fired since the counter was reset.
        """
        return None

    def device_id(self) -> str | None:
        """Return the identity of the device whose pulse count this is, if known.

        A pulse count only settles a pulse when it comes from the same device as
        the count it is compared with (a swapped or reset device makes it
        meaningless).

        Returns
        -------
        identity : str | None
            Serial number or another stable identity; ``None`` when unknown.
        """
        return None

    def __enter__(self) -> Stimulator:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.disarm()
        finally:
            self.disconnect()
