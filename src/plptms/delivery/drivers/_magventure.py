"""MagVenture MagPro driver built on magicpy (``magicpy.MagVenture``).

How magicpy 0.1.6 talks to the MagPro (read in ``magicpy/magicpy.py``): a
``serial.Serial`` at 38400 baud 8N1 with a 3 s read timeout, opened in the caller's
process. Each command method builds the payload as hex strings, and
``process_command`` frames it ``FE <len> <payload> <crc> FF`` with
``calc_crc`` (CRC-8/MAXIM, bit-reflected polynomial 0x31, initial value 0) and
writes it. With ``get_response`` it then sleeps ``wait_s`` (1 s by default), reads
the expected number of bytes and parses them with ``parse_response``.

What this driver uses and what it does itself:

- It sends every command through magicpy's own methods (``set_amplitude``,
  ``arm``, ``disarm``, ``fire(use_ttl=False)``, ``set_train``, ``set_page``,
  ``process_command``) with ``get_response=False``, ``flush_before_cmd=False`` and
  ``wait_s=0`` (the defaults add a 1.1 s sleep to every command).
- It reads the replies itself, because magicpy's reader does not check them: it
  never verifies the reply's CRC, start or end byte, splits replies on ``0xFF``
  (so a reply whose CRC byte is 0xFF breaks parsing) and reads the train state of
  status 2 from the page byte. Each reply frame is read by its length byte and
  checked (start, end, CRC with magicpy's ``calc_crc``); a bad frame raises
  :class:`~plptms.delivery.GarbledReplyError`, silence
  :class:`~plptms.delivery.DeviceTimeoutError`, a serial error
  :class:`~plptms.delivery.DeviceDisconnectedError`.

magicpy runs on Python 3.11 as is; no shim is needed. Its ``set_train`` tests
membership of the rate and the inter-train interval in ``numpy.arange`` float grids,
so some valid values are refused (e.g. ``reprate=0.3`` or ``iti=2.5``); device-timed
trains are limited here to whole rates from 1 to 100 Hz and one train (``iti=1``).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .._base import BaseStimulator, DeliveredThenFault, fault_text
from .._checks import check_intensity
from .._constants import (
    COIL_MAX_TEMPERATURE_C,
    DEVICE_POLL_INTERVAL_S,
    HOST_TIMED_MAX_HZ,
    READY_TIMEOUT_S,
    REPLY_SETTLE_S,
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
from ._common import TrainTiming, inferred_pulses, soft_import

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["MagVentureSettings", "MagVentureStimulator"]

logger = logging.getLogger(__name__)

_START = 0xFE
_END = 0xFF
#: Message types (first payload byte of a reply).
_STATUS, _AMPLITUDE, _DIDT, _TEMPERATURE, _STATUS2, _PAGE = 0, 1, 2, 3, 5, 8
#: Pulse counts magicpy's ``set_train`` accepts.
_TRAIN_PULSES = frozenset([*range(1, 100), *range(1000, 2000, 100)])


class MagVentureSettings(BaseModel):
    """Settings of :class:`MagVentureStimulator`.

    Attributes
    ----------
    port : str
        Serial port (``/dev/ttyUSB0``, ``COM3`` or an emulator's pty).
    reply_timeout_s : float
        Longest wait for a reply, s.
    timing : str
        ``"host"``: each pulse fired and acknowledged over serial, timed on the
        host (exact accounting, serial jitter); ``"device"``: the MagPro's train
        page times the train (pulses inferred); ``"auto"``: host up to
        ``host_max_frequency_hz``, else device.
    host_max_frequency_hz : float
        Highest rate ``"auto"`` times on the host, Hz.
    ready_timeout_s : float
        Longest wait for the enabled state before a train, s.
    poll_interval_s : float
        Status polling period during a device-timed train, s.
    reply_settle_s : float
        Window for further frames of a multi-frame reply, s.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    port: str
    reply_timeout_s: float = Field(default=REPLY_TIMEOUT_S, gt=0.0)
    timing: TrainTiming = "auto"
    host_max_frequency_hz: float = Field(default=HOST_TIMED_MAX_HZ, gt=0.0)
    ready_timeout_s: float = Field(default=READY_TIMEOUT_S, ge=0.0)
    poll_interval_s: float = Field(default=DEVICE_POLL_INTERVAL_S, gt=0.0)
    reply_settle_s: float = Field(default=REPLY_SETTLE_S, ge=0.0)


def _enabled(payload: bytes) -> bool:
    """Return the "enabled" bit of the status byte of any reply."""
    status = payload[1] if payload[0] in (_STATUS, _STATUS2) else payload[3]
    return bool(status >> 4 & 1)


class MagVentureStimulator(BaseStimulator):
    """MagVenture MagPro over serial, through magicpy.

    Parameters
    ----------
    settings : MagVentureSettings | None
        Settings; keyword ``options`` override its fields (or build it).
    **options
        Fields of :class:`MagVentureSettings` (``port`` is required).

    Notes
    -----
    "Armed" is the MagPro's *enabled* state; it reports no separate ready bit, so
    ``ready`` equals ``armed``. Intensities are whole % MSO (refused otherwise).
    """

    name = "magventure"
    whole_intensity = True

    def __init__(
        self, settings: MagVentureSettings | None = None, **options: Any
    ) -> None:
        super().__init__()
        if settings is None:
            settings = MagVentureSettings.model_validate(options)
        elif options:
            settings = MagVentureSettings.model_validate(
                {**settings.model_dump(), **options}
            )
        self.settings = settings
        self._mv: Any = None
        self._armed = False
        self._intensity: float | None = None
        self._page: int | None = None
        self._train_config: tuple[int, int] | None = None

    # -- link -----------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether the port is open and no link fault is latched."""
        return (
            self._mv is not None
            and bool(self._mv.port.is_open)
            and self.latched_fault is None
        )

    def connect(self) -> None:
        """Open the serial port and read the device status.

        Raises
        ------
        DeviceTimeoutError, DeviceDisconnectedError, GarbledReplyError
            If the port cannot be opened or the device does not answer properly.
        """
        if self.connected:
            return
        self._close_port()
        magicpy = soft_import("magicpy", "magicpy")
        mv = magicpy.MagVenture(
            self.settings.port, flush_before_cmd=False, wait_s=0, wait_l=0
        )
        mv.port.timeout = self.settings.reply_timeout_s
        self._clear_latch()
        try:
            mv.connect()
        except Exception as err:
            raise self._fail(
                DeviceDisconnectedError(f"magventure: cannot open the port: {err}")
            ) from None
        self._mv = mv
        self._page = None
        self._train_config = None
        payload = self._read_status()
        self._armed = _enabled(payload)
        self._intensity = float(payload[7])

    def _close_port(self) -> None:
        if self._mv is not None:
            try:
                if self._mv.port.is_open:
                    self._mv.port.close()
            except Exception:
                logger.debug("magventure: closing the port failed", exc_info=True)
        self._mv = None

    def disconnect(self) -> None:
        """Disable the device and close the port (never raises)."""
        if self._mv is None:
            return
        self.disarm()
        self._close_port()

    # -- framing --------------------------------------------------------------

    def _fail(self, exc: StimulatorFault) -> StimulatorFault:
        self._record_fault(exc)
        if isinstance(exc, (DeviceDisconnectedError, DeviceTimeoutError)):
            self._armed = False
        return exc

    def _crc(self, payload: bytes) -> int:
        magicpy = soft_import("magicpy", "magicpy")
        return int(magicpy.MagVenture.calc_crc([f"{b:02x}" for b in payload]), 16)

    def _read_frame(self) -> bytes:
        port = self._mv.port
        head = port.read(2)
        if not head:
            raise DeviceTimeoutError(
                f"magventure: no reply within {self.settings.reply_timeout_s:g} s."
            )
        if len(head) < 2 or head[0] != _START:
            raise GarbledReplyError(f"magventure: bad frame start {head.hex()}.")
        rest = port.read(head[1] + 2)
        frame = head + rest
        if len(rest) < head[1] + 2 or frame[-1] != _END:
            raise GarbledReplyError(f"magventure: truncated frame {frame.hex()}.")
        payload = frame[2:-2]
        if not payload or self._crc(payload) != frame[-2]:
            raise GarbledReplyError(f"magventure: CRC mismatch in {frame.hex()}.")
        return bytes(payload)

    def _transact(
        self, action: str, send: Callable[[], Any], *, more: bool = False
    ) -> list[bytes]:
        """Send one command through magicpy and read its reply frames."""
        if self._mv is None:
            raise DeviceDisconnectedError("magventure: not connected; call connect().")
        self._raise_if_latched()
        port = self._mv.port
        try:
            port.reset_input_buffer()
            send()
            frames = [self._read_frame()]
            while more:
                if not port.in_waiting:
                    time.sleep(self.settings.reply_settle_s)
                    if not port.in_waiting:
                        break
                frames.append(self._read_frame())
        except StimulatorFault as exc:
            raise self._fail(exc) from None
        except Exception as err:  # pyserial raises OSError, termios.error...
            raise self._fail(
                DeviceDisconnectedError(f"magventure: {action}: serial error: {err}")
            ) from None
        return frames

    def _read_status(self) -> bytes:
        frames = self._transact(
            "status",
            lambda: self._mv.process_command("01", "00", get_response=False),
        )
        payload = frames[-1]
        if payload[0] != _STATUS or len(payload) < 9:
            raise self._fail(
                GarbledReplyError(
                    f"magventure: unexpected status reply {payload.hex()}."
                )
            )
        return payload

    def _refusal(self, text: str, payload: bytes | None) -> StimulatorFault:
        """Over-temperature or not-ready, from the coil temperature."""
        if payload is not None and payload[0] == _TEMPERATURE:
            temp = float(payload[1])
        else:
            try:
                temp = float(self._read_status()[5])
            except StimulatorFault as exc:
                return exc
        if temp >= COIL_MAX_TEMPERATURE_C:
            self._armed = False
            return OverTemperatureError(
                f"{text} Coil at {temp:g} degC >= {COIL_MAX_TEMPERATURE_C:g} degC."
            )
        return DeviceNotReadyError(text)

    # -- commands ---------------------------------------------------------------

    def arm(self) -> None:
        """Enable the MagPro.

        Raises
        ------
        OverTemperatureError, DeviceNotReadyError
            If the device stays disabled.
        StimulatorFault
            On link faults.
        """
        frames = self._transact(
            "enable", lambda: self._mv.arm(get_response=False), more=True
        )
        if not _enabled(frames[-1]):
            temps = [f for f in frames if f[0] == _TEMPERATURE]
            raise self._fail(
                self._refusal(
                    "magventure: the device stayed disabled.",
                    temps[-1] if temps else None,
                )
            )
        self._armed = True

    def disarm(self) -> None:
        """Disable the MagPro (never raises; best effort when the link is down)."""
        self._armed = False
        if not self.connected:
            return
        try:
            self._transact("disable", lambda: self._mv.disarm(get_response=False))
        except Exception:
            logger.warning("magventure: disable failed", exc_info=True)

    def set_intensity(self, intensity_pct_mso: float) -> None:
        """Set amplitude A, whole % MSO in [0, 100] (refused otherwise).

        Parameters
        ----------
        intensity_pct_mso : float
            Intensity, % MSO.

        Raises
        ------
        TypeError, ValueError
            If the intensity is refused.
        StimulatorFault
            On device faults, or if the device reports another amplitude.
        """
        value = int(check_intensity(intensity_pct_mso, whole=True))
        frames = self._transact(
            "set_amplitude",
            lambda: self._mv.set_amplitude(value, get_response=False),
        )
        payload = frames[-1]
        if payload[0] != _AMPLITUDE or payload[1] != value:
            raise self._fail(
                StimulatorFault(
                    f"magventure: asked for {value} % MSO, the device reports "
                    f"{payload.hex()}."
                )
            )
        self._intensity = float(value)

    def status(self) -> StimulatorStatus:
        """Return the MagPro's state.

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
        payload = self._read_status()
        self._armed = _enabled(payload)
        return StimulatorStatus(
            connected=True,
            armed=self._armed,
            ready=self._armed,
            intensity_pct_mso=float(payload[7]),
            coil_temperature_c=float(payload[5]),
            detail=f"coil type {payload[6]}",
        )

    def _intensity_or_none(self) -> float | None:
        return self._intensity

    # -- trains -----------------------------------------------------------------

    def _timing_for(self, train: TrainRequest) -> Literal["host", "device"]:
        timing = self.settings.timing
        if timing == "auto":
            host = (
                train.n_pulses == 1
                or train.frequency_hz <= self.settings.host_max_frequency_hz
            )
            return "host" if host else "device"
        return timing

    def _set_page(self, page: Literal["Main", "Train"]) -> None:
        code = 1 if page == "Main" else 2
        if self._page == code:
            return
        self._transact("set_page", lambda: self._mv.set_page(page, get_response=False))
        self._page = code

    def _configure_device_train(self, train: TrainRequest) -> None:
        rate = train.frequency_hz
        if not (float(rate).is_integer() and 1 <= rate <= 100):
            raise ValueError(
                f"Invalid value for 'frequency_hz': got {rate!r}; allowed for a "
                "device-timed MagVenture train: whole rates in [1, 100] Hz (magicpy's "
                "set_train)."
            )
        if train.n_pulses not in _TRAIN_PULSES:
            raise ValueError(
                f"Invalid value for 'n_pulses': got {train.n_pulses!r}; allowed for a "
                "device-timed MagVenture train: 1-99 or 1000-1900 in steps of 100 "
                "(magicpy's set_train)."
            )
        config = (int(rate), train.n_pulses)
        if self._train_config != config:
            self._transact(
                "set_train",
                lambda: self._mv.set_train(int(rate), train.n_pulses, 1, 1),
            )
            self._train_config = config
        self._set_page("Train")

    def _prepare_train(self, train: TrainRequest) -> None:
        if not self.connected:
            raise DeviceDisconnectedError("magventure: not connected; call connect().")
        if not self._armed:
            raise DeviceNotReadyError("magventure: not enabled; call arm() first.")
        if self._intensity != train.intensity_pct_mso:
            self.set_intensity(train.intensity_pct_mso)
        if self._timing_for(train) == "device":
            self._configure_device_train(train)
        else:
            self._set_page("Main")

    def _deliver_train(self, train: TrainRequest) -> TrainResult:
        if self._timing_for(train) == "host":
            return self._run_host_timed(train)
        return self._run_device_timed(train)

    def _fire_pulse(self, index: int, intensity_pct_mso: float) -> PulseRecord:
        if not self.connected:
            raise DeviceDisconnectedError("magventure: not connected; call connect().")
        if not self._armed:
            raise DeviceNotReadyError("magventure: not enabled; refusing to fire.")
        self._set_page("Main")
        t = time.monotonic()
        record = PulseRecord(
            index=index, t_monotonic_s=t, intensity_pct_mso=intensity_pct_mso
        )
        try:
            frames = self._transact(
                "fire", lambda: self._mv.fire(use_ttl=False, get_response=False)
            )
        except GarbledReplyError as exc:
            # The MagPro answered the fire command: count the pulse as delivered.
            raise DeliveredThenFault(
                record,
                GarbledReplyError(f"{exc} (reply to pulse {index}; it is counted)"),
            ) from None
        payload = frames[-1]
        if payload[0] == _DIDT:
            return record
        raise self._fail(self._refusal("magventure: fire refused.", payload))

    def _run_device_timed(self, train: TrainRequest) -> TrainResult:
        t0 = time.monotonic()
        if self._stop.is_set():
            return TrainResult(pulses=(), completed=False, pulses_inferred=True)
        fault: StimulatorFault | None = None
        completed = False
        until = t0
        try:
            try:
                frames = self._transact(
                    "fire", lambda: self._mv.fire(use_ttl=False, get_response=False)
                )
            except GarbledReplyError as exc:
                raise GarbledReplyError(
                    f"{exc} (train start; assuming it started)"
                ) from None
            if frames[-1][0] != _PAGE:
                raise self._fail(
                    self._refusal("magventure: train refused.", frames[-1])
                )
            duration = (train.n_pulses - 1) / train.frequency_hz
            while True:
                if self._stop.wait(self.settings.poll_interval_s):
                    self._transact(
                        "disable", lambda: self._mv.disarm(get_response=False)
                    )
                    self._armed = False
                    until = time.monotonic()
                    break
                status2 = self._transact(
                    "status2",
                    lambda: self._mv.process_command("01", "05", get_response=False),
                )[-1]
                until = time.monotonic()
                if status2[0] == _STATUS2 and len(status2) >= 15 and status2[14]:
                    continue
                if until - t0 >= duration:
                    completed = True
                    break
                raise self._fail(
                    self._refusal("magventure: the train stopped early.", None)
                )
        except StimulatorFault as exc:
            fault = exc
            self._record_fault(exc)
            until = time.monotonic()
        pulses = inferred_pulses(train, t0, until, completed=completed)
        for record in pulses:
            self._notify(record)
        return TrainResult(
            pulses=pulses,
            completed=len(pulses) == train.n_pulses and fault is None,
            fault=fault_text(fault) if fault is not None else None,
            pulses_inferred=True,
        )
