"""Stimulus delivery: the stimulator interface, a simulator, drivers and triggers.

- :class:`Stimulator` and its models and faults (``_interface``);
- :class:`SimulatedStimulator` (``sim``): real or virtual time, coil heating, fault
  injection, ground-truth pulse count and log;
- :class:`MagstimStimulator` (magpy-tms) and :class:`MagVentureStimulator`
  (magicpy) (``drivers``), and their serial-protocol emulators on a pty
  (:class:`MagstimEmulator`, :class:`MagVentureEmulator`);
- :class:`LSLMarkerOutlet` and :class:`MarkedStimulator`: one LSL marker per pulse;
- :func:`open_stimulator`: pick one by kind.

Importing this package imports neither pylsl, pyserial, magpy nor magicpy, nor
NumPy: the session runner (:class:`SessionRunner`, :func:`build_session_plan`,
:func:`pre_session_checks` and the delivery logs) loads on first use.
"""

from typing import TYPE_CHECKING, Any

from ._base import BaseStimulator, PulseListener
from ._checks import check_intensity, check_train
from ._events import DeliveryEvent, DeliveryLogLostError, EventKind
from ._factory import STIMULATOR_KINDS, open_stimulator
from ._faults import FaultKind, FaultPlan
from ._interface import (
    DeviceDisconnectedError,
    DeviceNotReadyError,
    DeviceTimeoutError,
    GarbledReplyError,
    OverTemperatureError,
    PulseRecord,
    Stimulator,
    StimulatorFault,
    StimulatorStatus,
    TrainRequest,
    TrainResult,
    Waveform,
)
from ._lsl import LSLMarkerOutlet, MarkedStimulator
from ._pulselog import PulseLogEntry, PulseLogWriter, read_pulse_log
from ._timing import VirtualClock, wait_ready, wait_until
from .drivers import (
    MagstimSettings,
    MagstimStimulator,
    MagVentureSettings,
    MagVentureStimulator,
)
from .sim import (
    CoilThermalModel,
    MagstimEmulator,
    MagVentureEmulator,
    SimulatedStimulator,
    SimulatorSettings,
)

if TYPE_CHECKING:
    from ._runner import (
        CheckResult,
        DeliveryLog,
        MemoryDeliveryLog,
        PlannedTrain,
        Progress,
        RunOutcome,
        SessionBlockedError,
        SessionPlan,
        SessionRunner,
        build_session_plan,
        pre_session_checks,
        replay_events,
    )

_LAZY_RUNNER = frozenset(
    {
        "CheckResult",
        "DeliveryLog",
        "MemoryDeliveryLog",
        "PlannedTrain",
        "Progress",
        "RunOutcome",
        "SessionBlockedError",
        "SessionPlan",
        "SessionRunner",
        "build_session_plan",
        "pre_session_checks",
        "replay_events",
    }
)


def __getattr__(name: str) -> Any:
    """Load the session runner (safety engine, NumPy) on first use."""
    if name in _LAZY_RUNNER:
        from . import _runner

        return getattr(_runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "STIMULATOR_KINDS",
    "BaseStimulator",
    "CheckResult",
    "CoilThermalModel",
    "DeliveryEvent",
    "DeliveryLog",
    "DeliveryLogLostError",
    "DeviceDisconnectedError",
    "DeviceNotReadyError",
    "DeviceTimeoutError",
    "EventKind",
    "FaultKind",
    "FaultPlan",
    "GarbledReplyError",
    "LSLMarkerOutlet",
    "MagVentureEmulator",
    "MagVentureSettings",
    "MagVentureStimulator",
    "MagstimEmulator",
    "MagstimSettings",
    "MagstimStimulator",
    "MarkedStimulator",
    "MemoryDeliveryLog",
    "OverTemperatureError",
    "PlannedTrain",
    "Progress",
    "PulseListener",
    "PulseLogEntry",
    "PulseLogWriter",
    "PulseRecord",
    "RunOutcome",
    "SessionBlockedError",
    "SessionPlan",
    "SessionRunner",
    "SimulatedStimulator",
    "SimulatorSettings",
    "Stimulator",
    "StimulatorFault",
    "StimulatorStatus",
    "TrainRequest",
    "TrainResult",
    "VirtualClock",
    "Waveform",
    "build_session_plan",
    "check_intensity",
    "check_train",
    "open_stimulator",
    "pre_session_checks",
    "read_pulse_log",
    "replay_events",
    "wait_ready",
    "wait_until",
]
