"""Magstim Rapid² driver built on magpy-tms (``magpy.magstim.Rapid``).

How magpy-tms 1.4 talks to the Rapid (read in ``magpy/magstim.py``):

- ``Rapid(port, superRapid, unlockCode, voltage)`` creates two
  ``multiprocessing.Queue`` objects and a ``serialPortController`` process.
  ``connect()`` starts that process, which opens the port at 9600 baud 8N1 with no
  read timeout, sets RTS low and then serves commands from the send queue: it writes
  ``command + checksum`` and reads the reply (its length is given by the caller;
  ``N`` replies are read up to a NUL). When no command came for 0.5 s (armed) or 5 s
  (disarmed) it sends the keep-alive ``Q@n`` (``x@G`` with an unlock code) so that
  the Rapid keeps remote control.
- Every method returns ``(error, message)``: ``error`` 0 and a parsed dict, or a
  code (1/2 serial write/read error, 3 ``?`` invalid command, 4 invalid data, 5
  ``S`` conflict, 6 unexpected confirmation, 7 checksum mismatch, ... 18 maximum
  on-time exceeded).
- A device-timed train: ``rTMSMode(True)`` (duration ``[0010``), ``setFrequency``,
  ``setDuration`` (which sets the pulse count to duration x frequency),
  ``validateSequence()`` (the energy check, required before ``fire()`` in rTMS
  mode), then ``fire()`` starts the train on the device.

Shims (all in this module; magpy's code is not modified):

1. On a pseudo-terminal ``setRTS`` fails with ``ENOTTY``; the controller process
   dies at start-up and ``connect()`` then blocks for ever. The controller is
   replaced by a subclass whose ``run()`` first makes pyserial ignore ``ENOTTY`` /
   ``EINVAL`` from the RTS ioctl in the child (as pyserial's own ``open()`` does).
   This matters only for ptys; USB-serial adapters support RTS.
2. magpy reads replies without a timeout (``Queue.get()`` with no timeout, and a
   port with ``timeout=None``): a silent device hangs the caller for ever. The
   receive queue is wrapped so that a missing reply raises
   :class:`~plptms.delivery.DeviceTimeoutError` after ``reply_timeout_s`` and a dead
   controller process :class:`~plptms.delivery.DeviceDisconnectedError`; the
   controller is then terminated and the fault latched.
3. ``Rapid.setPower`` raises ``KeyError('rapid')`` when no unlock code is used
   (``isEnhanced()`` reads a status reply that has no Rapid byte), so the power is
   set through the base-class ``Magstim.setPower``.
4. ``Rapid.setNPulses`` sets the duration in seconds where the Rapid expects tenths
   of a second (``int(nPulses / frequency)``, truncated); it is not used. The pulse
   count is set through ``setDuration`` and read back.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import queue
import time
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .._base import BaseStimulator, DeliveredThenFault, fault_text
from .._checks import check_intensity
from .._constants import (
    COIL_MAX_TEMPERATURE_C,
    DEVICE_POLL_INTERVAL_S,
    RAPID_SINGLE_PULSE_MAX_HZ,
    READY_TIMEOUT_S,
    REPLY_TIMEOUT_S,
)
from .._interface import (
    DeviceDisconnectedError,
    DeviceNotReadyError,
    DeviceTimeoutError,
    GarbledReplyError,
    OverTemperatureError,
    PulseRecord,
    StimulatorFault,
    StimulatorStatus,
    TrainRequest,
    TrainResult,
)
from ._common import TrainTiming, inferred_pulses, soft_import, tenths

if TYPE_CHECKING:
    import multiprocessing

__all__ = ["MagstimSettings", "MagstimStimulator"]

logger = logging.getLogger(__name__)

#: magpy error codes that mean the link is gone.
_LINK_ERRORS = frozenset({1, 2, 8})
#: magpy error codes that mean the reply could not be trusted.
_GARBLED_ERRORS = frozenset({6, 7})
#: magpy error code for "command conflicts with the device state" (``S``).
_CONFLICT = 5
#: magpy error codes raised by its own parameter checks.
_PARAMETER_ERRORS = frozenset({10, 11, 12, 13, 16, 18})


class MagstimSettings(BaseModel):
    """Settings of :class:`MagstimStimulator`.

    Attributes
    ----------
    port : str
        Serial port (``/dev/ttyUSB0``, ``COM3``, or an emulator's pty).
    unlock_code : str
        Rapid unlock code (software version 9 and later), without ``Q`` or checksum.
    super_rapid : int
        0 Rapid, 1 Super Rapid, 2 Super Rapid Plus (selects magpy's frequency
        table).
    voltage : int
        Mains voltage, 115 or 240 V (selects magpy's frequency table).
    reply_timeout_s : float
        Longest wait for a reply, s.
    timing : str
        ``"host"``: single-pulse mode, each pulse fired and acknowledged over
        serial, timed on the host (exact pulse accounting; limited to 1 Hz on a real
        Rapid); ``"device"``: rTMS mode, the Rapid times the train (pulses are
        inferred); ``"auto"``: host up to ``host_max_frequency_hz``, else device.
    host_max_frequency_hz : float
        Highest rate that ``"auto"`` times on the host, Hz.
    ready_timeout_s : float
        Longest wait for ready before a train, s.
    poll_interval_s : float
        Status polling period during a device-timed train, s.
    power_settle : bool
        Wait for the capacitors after a power change (magpy's ``delay=True``:
        10 ms per % up, 100 ms per % down).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    port: str
    unlock_code: str = ""
    super_rapid: int = Field(default=0, ge=0, le=2)
    voltage: Literal[115, 240] = 240
    reply_timeout_s: float = Field(default=REPLY_TIMEOUT_S, gt=0.0)
    timing: TrainTiming = "auto"
    host_max_frequency_hz: float = Field(default=RAPID_SINGLE_PULSE_MAX_HZ, gt=0.0)
    ready_timeout_s: float = Field(default=READY_TIMEOUT_S, ge=0.0)
    poll_interval_s: float = Field(default=DEVICE_POLL_INTERVAL_S, gt=0.0)
    power_settle: bool = True


# ---------------------------------------------------------------------------
# Shims around magpy's serial controller process.
# ---------------------------------------------------------------------------


def _tolerate_rts_ioctl() -> None:
    """Make pyserial ignore ENOTTY/EINVAL from the RTS ioctl (pseudo-terminals)."""
    serial = soft_import("serial", "pyserial")
    original = serial.Serial._update_rts_state
    if getattr(original, "_plptms_tolerant", False):
        return

    def _update_rts_state(self: Any) -> None:
        try:
            original(self)
        except OSError as err:
            if err.errno not in (errno.ENOTTY, errno.EINVAL):
                raise

    _update_rts_state._plptms_tolerant = True  # type: ignore[attr-defined]
    serial.Serial._update_rts_state = _update_rts_state


def _controller_run(self: Any) -> None:
    _tolerate_rts_ioctl()
    base: Any = type(self).__mro__[1]
    base.run(self)


_CONTROLLER_CLASS: type | None = None


def _controller_class() -> type:
    """Magpy's ``serialPortController`` with the RTS shim, created on first use."""
    global _CONTROLLER_CLASS
    if _CONTROLLER_CLASS is None:
        magstim = soft_import("magpy.magstim", "magpy-tms")
        _CONTROLLER_CLASS = type(
            "_PtyTolerantController",
            (magstim.serialPortController,),
            {"run": _controller_run, "__module__": __name__},
        )
    return _CONTROLLER_CLASS


def __getattr__(name: str) -> Any:
    # Lets pickle (spawn/forkserver start methods) find the lazily made class.
    if name == "_PtyTolerantController":
        return _controller_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _ReplyQueue:
    """magpy's receive queue with a deadline and a liveness check."""

    def __init__(
        self, inner: Any, timeout_s: float, process: multiprocessing.Process
    ) -> None:
        self._inner = inner
        self._timeout_s = timeout_s
        self._process = process

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        deadline = time.monotonic() + (self._timeout_s if timeout is None else timeout)
        while True:
            remaining = deadline - time.monotonic()
            try:
                return self._inner.get(timeout=max(0.0, min(0.05, remaining)))
            except queue.Empty:
                if not self._process.is_alive():
                    raise DeviceDisconnectedError(
                        "magstim: serial controller process exited (code "
                        f"{self._process.exitcode}); the link is lost."
                    ) from None
                if time.monotonic() >= deadline:
                    raise DeviceTimeoutError(
                        f"magstim: no reply within {self._timeout_s:g} s."
                    ) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


# ---------------------------------------------------------------------------
# The driver.
# ---------------------------------------------------------------------------


class MagstimStimulator(BaseStimulator):
    """Magstim Rapid² over serial, through magpy-tms.

    Parameters
    ----------
    settings : MagstimSettings | None
        Settings; keyword ``options`` override its fields (or build it).
    **options
        Fields of :class:`MagstimSettings` (``port`` is required).

    Notes
    -----
    Intensities are whole % MSO (the Rapid's resolution); other values are refused,
    never rounded. A stop request during a device-timed train disarms the Rapid,
    which aborts the train; re-arm before the next train.
    """

    name = "magstim"
    whole_intensity = True

    def __init__(self, settings: MagstimSettings | None = None, **options: Any) -> None:
        super().__init__()
        if settings is None:
            settings = MagstimSettings.model_validate(options)
        elif options:
            settings = MagstimSettings.model_validate(
                {**settings.model_dump(), **options}
            )
        self.settings = settings
        self._rapid: Any = None
        self._process: multiprocessing.Process | None = None
        self._armed = False
        self._intensity: float | None = None
        self._rtms_mode: bool | None = None
        self._train_config: tuple[int, int, int] | None = None

    # -- plumbing -------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether the serial controller is running and no link fault is latched."""
        return (
            self._rapid is not None
            and self._process is not None
            and self._process.is_alive()
            and self.latched_fault is None
        )

    def _kill_controller(self, *, graceful: bool = True) -> None:
        """Stop magpy's controller process (terminate it if it is stuck)."""
        process = self._process
        if process is None:
            return
        if graceful and process.is_alive():
            with contextlib.suppress(Exception):
                self._rapid._sendQueue.put((None, None, None))
            process.join(timeout=0.5)
        if process.is_alive():
            process.terminate()
            process.join(timeout=2.0)

    def _fail(self, exc: StimulatorFault) -> StimulatorFault:
        """Record ``exc``; kill the controller when the link can't be trusted."""
        self._record_fault(exc)
        if isinstance(exc, (DeviceTimeoutError, DeviceDisconnectedError)):
            # after a timeout the controller is blocked in a read with no timeout
            self._kill_controller(graceful=not isinstance(exc, DeviceTimeoutError))
            self._armed = False
        return exc

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Run ``Rapid.<method>``; map its result or exception; return the message."""
        if self._rapid is None:
            raise DeviceDisconnectedError("magstim: not connected; call connect().")
        return self._invoke(method, getattr(self._rapid, method), *args, **kwargs)

    def _invoke(self, action: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a magpy callable; map its result or exception; return the message."""
        self._raise_if_latched()
        try:
            result = fn(*args, **kwargs)
        except StimulatorFault as exc:
            raise self._fail(exc) from None
        return self._check(action, result)

    def _check(self, action: str, result: Any) -> Any:
        if result is None:
            return None
        error, message = result
        if not error:
            return message
        text = f"magstim: {action} failed: {message} (magpy error {error})."
        if error in _LINK_ERRORS:
            raise self._fail(DeviceDisconnectedError(text))
        if error in _GARBLED_ERRORS:
            raise self._fail(GarbledReplyError(text))
        if error == _CONFLICT:
            raise self._fail(self._diagnose_refusal(text))
        if error in _PARAMETER_ERRORS:
            raise ValueError(text)
        raise self._fail(StimulatorFault(text))

    def _diagnose_refusal(self, text: str) -> StimulatorFault:
        """Over-temperature or not-ready, from the coil temperature."""
        try:
            reply = self._rapid.getTemperature()
        except StimulatorFault as exc:
            return exc
        error, message = reply
        if error:
            return DeviceNotReadyError(text)
        temps = message["magstimTemp"]
        temp = max(temps["coil1Temp"], temps["coil2Temp"])
        if temp >= COIL_MAX_TEMPERATURE_C:
            self._armed = False
            return OverTemperatureError(
                f"{text} Coil at {temp:.1f} degC >= {COIL_MAX_TEMPERATURE_C:g} degC."
            )
        return DeviceNotReadyError(text)

    # -- link -----------------------------------------------------------------

    def connect(self) -> None:
        """Start magpy's serial controller and take remote control.

        Idempotent while connected; after a latched fault it tears the old link
        down and opens a new one.

        Raises
        ------
        DeviceTimeoutError, DeviceDisconnectedError
            If the Rapid does not answer or the port cannot be used.
        """
        if self.connected:
            return
        self._teardown()
        magstim = soft_import("magpy.magstim", "magpy-tms")
        s = self.settings
        rapid = magstim.Rapid(
            s.port,
            superRapid=s.super_rapid,
            unlockCode=s.unlock_code,
            voltage=s.voltage,
        )
        process = _controller_class()(
            s.port, rapid._sendQueue, rapid._receiveQueue, rapid._connectionCommand
        )
        process.daemon = True
        rapid._connection = process
        rapid._receiveQueue = _ReplyQueue(
            rapid._receiveQueue, s.reply_timeout_s, process
        )
        self._rapid, self._process = rapid, process
        self._clear_latch()
        try:
            rapid.connect()
        except StimulatorFault as exc:
            self._fail(exc)
            self._rapid = None
            raise
        except magstim.MagstimError as err:
            fault = DeviceDisconnectedError(f"magstim: {err}")
            self._fail(fault)
            self._rapid = None
            raise fault from None
        self._armed = False
        self._rtms_mode = None
        self._train_config = None
        params = self._call("getParameters")
        self._intensity = float(params["rapidParam"]["power"])
        self._rtms_mode = not params["rapid"]["singlePulseMode"]
        self._armed = bool(params["instr"]["armed"])

    def _teardown(self) -> None:
        if self._rapid is None:
            return
        self._kill_controller()
        self._rapid = None
        self._process = None

    def disconnect(self) -> None:
        """Disarm, release remote control and stop the controller (never raises)."""
        if self._rapid is None:
            return
        if self.connected:
            try:
                self._rapid.disconnect()
            except Exception:
                logger.debug("magstim: clean disconnect failed", exc_info=True)
        self._armed = False
        self._teardown()

    # -- commands -------------------------------------------------------------

    def arm(self) -> None:
        """Arm the Rapid (ready about 1 s later).

        Raises
        ------
        OverTemperatureError, DeviceNotReadyError
            If the Rapid refuses to arm.
        StimulatorFault
            On link faults.
        """
        self._call("arm", receipt=True)
        self._armed = True

    def disarm(self) -> None:
        """Disarm the Rapid (never raises; best effort when the link is down)."""
        self._armed = False
        if not self.connected:
            return
        try:
            self._call("disarm", receipt=True)
        except Exception:
            logger.warning("magstim: disarm failed", exc_info=True)

    def set_intensity(self, intensity_pct_mso: float) -> None:
        """Set the power, whole % MSO in [0, 100] (refused otherwise).

        Parameters
        ----------
        intensity_pct_mso : float
            Intensity, % MSO.

        Raises
        ------
        TypeError, ValueError
            If the intensity is refused.
        StimulatorFault
            On device faults.
        """
        value = check_intensity(intensity_pct_mso, whole=True)
        magstim = soft_import("magpy.magstim", "magpy-tms")
        if self._rapid is None:
            raise DeviceDisconnectedError("magstim: not connected; call connect().")
        self._invoke(
            "setPower",
            magstim.Magstim.setPower,
            self._rapid,
            int(value),
            True,
            self.settings.power_settle,
            b"@",
        )
        self._intensity = value
        self._train_config = None

    def status(self) -> StimulatorStatus:
        """Return the Rapid's state (coil temperature from ``F@``).

        Returns
        -------
        status : StimulatorStatus
            ``connected=False`` (no error) when not connected.

        Raises
        ------
        StimulatorFault
            On link faults.
        """
        if not self.connected:
            return StimulatorStatus(
                connected=False,
                armed=False,
                ready=False,
                intensity_pct_mso=self._intensity,
                coil_temperature_c=None,
                detail="not connected",
            )
        message = self._call("getTemperature")
        instr = message["instr"]
        temps = message["magstimTemp"]
        self._armed = bool(instr["armed"] or instr["ready"])
        detail = "error present" if instr["errorPresent"] else ""
        return StimulatorStatus(
            connected=True,
            armed=self._armed,
            ready=bool(instr["ready"]),
            intensity_pct_mso=self._intensity,
            coil_temperature_c=max(temps["coil1Temp"], temps["coil2Temp"]),
            detail=detail,
        )

    def _intensity_or_none(self) -> float | None:
        return self._intensity

    # -- modes ------------------------------------------------------------------

    def _set_rtms_mode(self, enable: bool) -> None:
        if self._rtms_mode is enable:
            return
        self._call("rTMSMode", enable, receipt=True)
        self._rtms_mode = enable
        self._train_config = None

    def _timing_for(self, train: TrainRequest) -> Literal["host", "device"]:
        timing = self.settings.timing
        if timing == "auto":
            host = (
                train.n_pulses == 1
                or train.frequency_hz <= self.settings.host_max_frequency_hz
            )
            return "host" if host else "device"
        return timing

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.settings.ready_timeout_s
        while True:
            message = self._call("getTemperature")
            instr = message["instr"]
            if instr["ready"]:
                return
            if not (instr["armed"] or instr["ready"]):
                self._armed = False
                raise self._fail(self._diagnose_refusal("magstim: disarmed."))
            if time.monotonic() >= deadline:
                raise self._fail(
                    DeviceNotReadyError(
                        "magstim: not ready within ready_timeout_s="
                        f"{self.settings.ready_timeout_s:g} s."
                    )
                )
            time.sleep(0.05)

    def _configure_device_train(self, train: TrainRequest) -> None:
        freq_tenths = tenths(train.frequency_hz, "frequency_hz", "Hz")
        duration_s = train.n_pulses / train.frequency_hz
        dur_tenths = tenths(duration_s, "n_pulses / frequency_hz", "s")
        config = (int(train.intensity_pct_mso), freq_tenths, train.n_pulses)
        self._set_rtms_mode(True)
        if self._train_config != config:
            self._call("setFrequency", freq_tenths / 10.0, True)
            self._call("setDuration", dur_tenths / 10.0, True)
            params = self._call("getParameters")
            got = params["rapidParam"]
            if got["nPulses"] != train.n_pulses or round(got["frequency"] * 10) != (
                freq_tenths
            ):
                raise ValueError(
                    "Invalid value for 'train': the Rapid holds "
                    f"{got['nPulses']} pulses at {got['frequency']:g} Hz after "
                    f"asking for {train.n_pulses} at {train.frequency_hz:g} Hz."
                )
            self._train_config = config
        self._call("validateSequence")

    def _prepare_train(self, train: TrainRequest) -> None:
        if not self.connected:
            raise DeviceDisconnectedError("magstim: not connected; call connect().")
        if not self._armed:
            raise DeviceNotReadyError("magstim: not armed; call arm() first.")
        if self._intensity != train.intensity_pct_mso:
            self.set_intensity(train.intensity_pct_mso)
        if self._timing_for(train) == "device":
            self._configure_device_train(train)
        else:
            self._set_rtms_mode(False)
        self._wait_ready()

    # -- firing -----------------------------------------------------------------

    def _fire_pulse(self, index: int, intensity_pct_mso: float) -> PulseRecord:
        if not self.connected:
            raise DeviceDisconnectedError("magstim: not connected; call connect().")
        if not self._armed:
            raise DeviceNotReadyError("magstim: not armed; refusing to fire.")
        self._set_rtms_mode(False)
        t = time.monotonic()
        record = PulseRecord(
            index=index, t_monotonic_s=t, intensity_pct_mso=intensity_pct_mso
        )
        try:
            result = self._rapid.fire(receipt=True)
        except StimulatorFault as exc:
            raise self._fail(exc) from None
        error = result[0]
        if error in _GARBLED_ERRORS:
            # The Rapid answered the fire command: count the pulse as delivered.
            fault = GarbledReplyError(
                f"magstim: garbled acknowledgement of pulse {index} "
                f"(magpy error {error}: {result[1]}); the pulse is counted."
            )
            raise DeliveredThenFault(record, self._fail(fault))
        self._check("fire", result)
        return record

    def _deliver_train(self, train: TrainRequest) -> TrainResult:
        if self._timing_for(train) == "host":
            return self._run_host_timed(train)
        return self._run_device_timed(train)

    def _run_device_timed(self, train: TrainRequest) -> TrainResult:
        t0 = time.monotonic()
        if self._stop.is_set():
            return TrainResult(pulses=(), completed=False, pulses_inferred=True)
        fault: StimulatorFault | None = None
        completed = False
        until = t0
        try:
            result = self._rapid.fire(receipt=True)
            if result[0] in _GARBLED_ERRORS:
                raise self._fail(
                    GarbledReplyError(
                        f"magstim: garbled acknowledgement of the train start "
                        f"(magpy error {result[0]}); assuming it started."
                    )
                )
            self._check("fire", result)
            duration = (train.n_pulses - 1) / train.frequency_hz
            while True:
                if self._stop.wait(self.settings.poll_interval_s):
                    self._call("disarm", receipt=True)
                    self._armed = False
                    until = time.monotonic()
                    break
                params = self._call("getParameters")
                until = time.monotonic()
                if params["rapid"]["train"]:
                    continue
                if until - t0 >= duration:
                    completed = True
                    break
                raise self._fail(
                    self._diagnose_refusal("magstim: the train stopped early.")
                )
        except StimulatorFault as exc:
            fault = exc
            self._record_fault(exc)
            until = time.monotonic()
        except Exception:
            until = time.monotonic()
            raise
        pulses = inferred_pulses(train, t0, until, completed=completed)
        for record in pulses:
            self._notify(record)
        return TrainResult(
            pulses=pulses,
            completed=len(pulses) == train.n_pulses and fault is None,
            fault=fault_text(fault) if fault is not None else None,
            pulses_inferred=True,
        )
