"""A faithful software stimulator for ``make run``, tests and benchmarks."""

from __future__ import annotations

import enum
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from .._base import BaseStimulator, DeliveredThenFault
from .._checks import check_intensity
from .._constants import (
    COIL_MAX_TEMPERATURE_C,
    READY_TIMEOUT_S,
    REPLY_TIMEOUT_S,
    SIM_AMBIENT_C,
    SIM_ARM_DELAY_S,
    SIM_COOLING_TAU_S,
    SIM_HEAT_PER_PULSE_AT_MSO_C,
)
from .._faults import FaultKind, FaultPlan
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
)
from .._pulselog import PulseLogEntry, PulseLogWriter
from ._coil import CoilThermalModel

if TYPE_CHECKING:
    from .._timing import ClockFn, SleepFn

__all__ = ["SimulatedStimulator", "SimulatorSettings", "default_pulse_log"]

#: How far above the cut-off an injected over-temperature puts the coil, degC.
_OVERHEAT_MARGIN_C = 1.0


class SimulatorSettings(BaseModel):
    """Settings of :class:`SimulatedStimulator`.

    Attributes
    ----------
    arm_delay_s : float
        Charging time from :meth:`~SimulatedStimulator.arm` to ready, s.
    ready_timeout_s : float
        Longest wait for ready before a train, s.
    reply_timeout_s : float
        How long a command waits before a :class:`~plptms.delivery.DeviceTimeoutError`
        under the ``no_reply`` fault, s.
    sham : bool
        Sham mode: pulses are counted, logged and heat the coil (the sham coil still
        discharges), and the status reports ``sham=True``.
    faults : FaultPlan
        Fault injection.
    ambient_c, initial_temperature_c : float | None
        Ambient and starting coil temperature, degC (``None``: ambient).
    heat_per_pulse_at_mso_c : float
        Coil heating per pulse at 100 % MSO, degC (scaled by intensity squared).
    cooling_tau_s : float
        Coil cooling time constant, s.
    max_temperature_c : float
        Over-temperature cut-off, degC: the device disarms and refuses to fire or
        arm at or above it.
    whole_intensity : bool
        Refuse intensities that are not whole % MSO, like the real devices.
    pulse_log : Path | None
        Append every fired pulse to this file (JSON lines, fsync'd). The file is
        the device's own persisted counter: a new simulator on the same file
        continues the count, as a real stimulator's counter survives a crash of
        the host software (see :func:`default_pulse_log`).
    serial : str
        The simulated device's serial number (its identity for the pulse count).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    arm_delay_s: float = Field(default=SIM_ARM_DELAY_S, ge=0.0)
    ready_timeout_s: float = Field(default=READY_TIMEOUT_S, ge=0.0)
    reply_timeout_s: float = Field(default=REPLY_TIMEOUT_S, gt=0.0)
    sham: bool = False
    faults: FaultPlan = FaultPlan()
    ambient_c: float = SIM_AMBIENT_C
    initial_temperature_c: float | None = None
    heat_per_pulse_at_mso_c: float = Field(default=SIM_HEAT_PER_PULSE_AT_MSO_C, ge=0.0)
    cooling_tau_s: float = Field(default=SIM_COOLING_TAU_S, gt=0.0)
    max_temperature_c: float = COIL_MAX_TEMPERATURE_C
    whole_intensity: bool = False
    pulse_log: Path | None = None
    serial: str = Field(default="SIM-0001", pattern=r"^[A-Za-z0-9_-]{1,32}$")


def default_pulse_log(serial: str = "SIM-0001") -> Path:
    """Return where a simulator with this serial keeps its persisted pulse log.

    ``plptms.utils._paths.state_dir() / "simulator" / "<serial>.jsonl"``: outside
    the registry, so that the count is the device's and not the host's.

    Parameters
    ----------
    serial : str
        The simulated device's serial number.

    Returns
    -------
    path : Path
        The file (its directory is created).
    """
    from ...utils import state_dir

    d = state_dir(create=True) / "simulator"
    d.mkdir(parents=True, exist_ok=True)
    return d / f"{serial}.jsonl"


def _count_and_repair(path: Path) -> int:
    """Count the complete pulse lines; drop a line cut by a kill mid-write.

    A record the device did not finish writing is not a pulse it counted; removing
    it keeps the next record on a line of its own.
    """
    with path.open("rb+") as f:
        data = f.read()
        complete = data.rfind(b"\n") + 1
        if complete < len(data):
            f.truncate(complete)
    return data.count(b"\n", 0, complete)


class _Link(enum.Enum):
    DOWN = "down"  # not connected
    UP = "up"
    HUNG = "hung"  # no replies (no_reply fault)
    LOST = "lost"  # disconnected by a fault


class SimulatedStimulator(BaseStimulator):
    """A stimulator in software, with real timing, a heating coil and faults.

    Parameters
    ----------
    settings : SimulatorSettings | None
        Settings; keyword ``options`` override its fields (or build it).
    clock, sleep : callable | None
        Inject a clock and a sleep (e.g. :class:`~plptms.delivery.VirtualClock`'s
        ``now`` and ``sleep``) to run in virtual time. By default trains are timed
        on ``time.monotonic`` with a precise sleep-then-spin wait.
    **options
        Fields of :class:`SimulatorSettings`.

    Notes
    -----
    :attr:`pulses_fired` is the simulator's own count of pulses fired since it was
    created: the ground truth for crash tests (also written to
    ``settings.pulse_log``). Faults follow :class:`~plptms.delivery.FaultPlan`; each
    strikes once.
    """

    name = "sim"

    def __init__(
        self,
        settings: SimulatorSettings | None = None,
        *,
        clock: ClockFn | None = None,
        sleep: SleepFn | None = None,
        **options: Any,
    ) -> None:
        super().__init__(clock=clock, sleep=sleep)
        if settings is None:
            settings = SimulatorSettings.model_validate(options)
        elif options:
            settings = SimulatorSettings.model_validate(
                {**settings.model_dump(), **options}
            )
        self.settings = settings
        self.whole_intensity = settings.whole_intensity
        self._lock = threading.RLock()
        self._link = _Link.DOWN
        self._armed = False
        self._ready_at = 0.0
        self._not_ready = False
        self._intensity: float | None = None
        self._pulses_fired = 0
        self._fault_spent = False
        self._coil = CoilThermalModel(
            ambient_c=settings.ambient_c,
            heat_per_pulse_at_mso_c=settings.heat_per_pulse_at_mso_c,
            cooling_tau_s=settings.cooling_tau_s,
            initial_c=settings.initial_temperature_c,
            t_s=self.now(),
        )
        if settings.pulse_log is not None and Path(settings.pulse_log).exists():
            # the device's own counter survives a crash of the host software
            self._pulses_fired = _count_and_repair(Path(settings.pulse_log))
        self._log = (
            PulseLogWriter(settings.pulse_log)
            if settings.pulse_log is not None
            else None
        )

    # -- ground truth -----------------------------------------------------------

    @property
    def pulses_fired(self) -> int:
        """Pulses fired since creation (the device's own count)."""
        with self._lock:
            return self._pulses_fired

    def device_pulse_count(self) -> int:
        """Return the simulator's own count of pulses fired (ground truth).

        Returns
        -------
        count : int
            Pulses fired since the simulator was created.
        """
        return self.pulses_fired

    def device_id(self) -> str:
        """Return the simulated device's serial number."""
        return self.settings.serial

    @property
    def coil(self) -> CoilThermalModel:
        """The coil thermal model."""
        return self._coil

    def coil_temperature_c(self) -> float:
        """Return the coil temperature now, degC."""
        return self._coil.temperature(self.now())

    # -- link ---------------------------------------------------------------------

    def connect(self) -> None:
        """Open the (simulated) link; also clears a latched fault.

        A ``no_reply`` or ``disconnect`` fault that already struck does not strike
        again.
        """
        with self._lock:
            self._link = _Link.UP
            self._clear_latch()

    def disconnect(self) -> None:
        """Disarm and close the link (always safe to call)."""
        with self._lock:
            self._armed = False
            self._link = _Link.DOWN
        if self._log is not None:
            self._log.close()

    def _strike_due_fault(self) -> None:
        """Apply the injected fault once it is due (called at every command)."""
        kind = self.settings.faults.armed_for(self._pulses_fired)
        if kind is None or self._fault_spent:
            return
        if kind is FaultKind.NO_REPLY:
            self._fault_spent = True
            self._link = _Link.HUNG
        elif kind is FaultKind.DISCONNECT:
            self._fault_spent = True
            self._link = _Link.LOST
            self._armed = False
        elif kind is FaultKind.OVER_TEMPERATURE:
            self._fault_spent = True
            self._coil.set_temperature(
                self.settings.max_temperature_c + _OVERHEAT_MARGIN_C, self.now()
            )
            self._armed = False
        elif kind is FaultKind.NOT_READY:
            self._fault_spent = True
            self._not_ready = True
        # GARBLED_REPLY strikes in _fire_pulse, on the next fire.

    def _command(self) -> None:
        """Pass one command over the link, applying link faults."""
        self._strike_due_fault()
        if self._link is _Link.DOWN:
            raise DeviceDisconnectedError("sim: not connected; call connect() first.")
        if self._link is _Link.LOST:
            raise DeviceDisconnectedError("sim: link lost (injected disconnect).")
        if self._link is _Link.HUNG:
            self._pause(self.settings.reply_timeout_s)
            raise DeviceTimeoutError(
                f"sim: no reply within {self.settings.reply_timeout_s:g} s "
                "(injected no_reply)."
            )

    def _too_hot(self, t_s: float) -> float | None:
        temp = self._coil.temperature(t_s)
        return temp if temp >= self.settings.max_temperature_c else None

    # -- commands -----------------------------------------------------------------

    def arm(self) -> None:
        """Enable the capacitors; ready after ``arm_delay_s``.

        Raises
        ------
        OverTemperatureError
            If the coil is at or above the cut-off.
        DeviceDisconnectedError, DeviceTimeoutError
            On link faults.
        """
        with self._lock:
            try:
                self._raise_if_latched()
                self._command()
                now = self.now()
                temp = self._too_hot(now)
                if temp is not None:
                    raise OverTemperatureError(
                        f"sim: coil at {temp:.1f} degC >= cut-off "
                        f"{self.settings.max_temperature_c:g} degC; cannot arm."
                    )
                if not self._armed:
                    self._armed = True
                    self._ready_at = now + self.settings.arm_delay_s
            except StimulatorFault as exc:
                raise self._record_fault(exc) from None

    def disarm(self) -> None:
        """Disable the capacitors (always safe to call, never raises)."""
        with self._lock:
            self._armed = False

    def set_intensity(self, intensity_pct_mso: float) -> None:
        """Set the output intensity.

        Parameters
        ----------
        intensity_pct_mso : float
            Intensity, % MSO, in [0, 100] (whole numbers only when
            ``whole_intensity``).

        Raises
        ------
        TypeError, ValueError
            If the intensity is refused (never clamped).
        StimulatorFault
            On link faults.
        """
        value = check_intensity(intensity_pct_mso, whole=self.whole_intensity)
        with self._lock:
            try:
                self._raise_if_latched()
                self._command()
            except StimulatorFault as exc:
                raise self._record_fault(exc) from None
            self._intensity = value

    def status(self) -> StimulatorStatus:
        """Return the device state.

        Returns
        -------
        status : StimulatorStatus
            ``connected=False`` when the link is down (no error); the coil
            temperature is always reported.

        Raises
        ------
        DeviceTimeoutError, DeviceDisconnectedError
            When a link fault is active.
        """
        with self._lock:
            if self._link is _Link.DOWN:
                return StimulatorStatus(
                    connected=False,
                    armed=False,
                    ready=False,
                    intensity_pct_mso=self._intensity,
                    coil_temperature_c=self.coil_temperature_c(),
                    sham=self.settings.sham,
                    detail="not connected",
                )
            try:
                self._command()
            except StimulatorFault as exc:
                raise self._record_fault(exc) from None
            now = self.now()
            hot = self._too_hot(now)
            if hot is not None:
                self._armed = False
            ready = self._armed and now >= self._ready_at and not self._not_ready
            detail = "not ready (injected)" if self._not_ready else ""
            if hot is not None:
                detail = f"coil over temperature ({hot:.1f} degC)"
            return StimulatorStatus(
                connected=True,
                armed=self._armed,
                ready=ready,
                intensity_pct_mso=self._intensity,
                coil_temperature_c=self.coil_temperature_c(),
                sham=self.settings.sham,
                detail=detail,
            )

    def _intensity_or_none(self) -> float | None:
        return self._intensity

    def _check_can_fire(self, now: float) -> None:
        temp = self._too_hot(now)
        if temp is not None:
            self._armed = False
            raise OverTemperatureError(
                f"sim: coil at {temp:.1f} degC >= cut-off "
                f"{self.settings.max_temperature_c:g} degC; disarmed."
            )
        if not self._armed:
            raise DeviceNotReadyError("sim: not armed; refusing to fire.")
        if self._not_ready:
            raise DeviceNotReadyError("sim: device not ready (injected); refusing.")
        if now < self._ready_at:
            raise DeviceNotReadyError(
                f"sim: still charging ({self._ready_at - now:.3f} s left)."
            )

    def _fire_pulse(self, index: int, intensity_pct_mso: float) -> PulseRecord:
        with self._lock:
            self._command()
            now = self.now()
            self._check_can_fire(now)
            self._pulses_fired += 1
            self._coil.add_pulse(intensity_pct_mso, now)
            if self._log is not None:
                self._log.write(
                    PulseLogEntry(
                        seq=self._pulses_fired,
                        index=index,
                        t_monotonic_s=now,
                        intensity_pct_mso=intensity_pct_mso,
                        sham=self.settings.sham,
                        source=self.name,
                    )
                )
            record = PulseRecord(
                index=index, t_monotonic_s=now, intensity_pct_mso=intensity_pct_mso
            )
            plan = self.settings.faults
            if (
                plan.armed_for(self._pulses_fired - 1) is FaultKind.GARBLED_REPLY
                and not self._fault_spent
            ):
                self._fault_spent = True
                raise DeliveredThenFault(
                    record,
                    GarbledReplyError(
                        "sim: garbled acknowledgement of the pulse (injected); the "
                        "pulse was fired."
                    ),
                )
            return record

    def _prepare_train(self, train: TrainRequest) -> None:
        with self._lock:
            self._command()
            if self._intensity != train.intensity_pct_mso:
                self._intensity = check_intensity(
                    train.intensity_pct_mso, whole=self.whole_intensity
                )
            if not self._armed:
                raise DeviceNotReadyError("sim: not armed; call arm() first.")
            wait = self._ready_at - self.now()
        if wait > self.settings.ready_timeout_s:
            raise DeviceNotReadyError(
                f"sim: not ready within ready_timeout_s="
                f"{self.settings.ready_timeout_s:g} s."
            )
        if wait > 0.0:
            self._pause(wait)
