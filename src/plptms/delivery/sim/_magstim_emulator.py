r"""A Magstim Rapid² emulator speaking the Magstim serial protocol on a pty.

Protocol (as implemented by magpy-tms 1.4 and MAGIC's ``rapid.m``; Saatlou et al.,
2018):

- 9600 baud, 8N1. A command is ASCII: a command character, data characters, then a
  checksum byte ``~sum(bytes) & 0xFF``. No framing: the length follows from the
  command character (and the software version for ``D``, ``[`` and ``n``).
- A reply starts with the command character, then the instrument status byte (bit 0
  standby, 1 armed, 2 ready, 3 coil present, 4 replace coil, 5 error present, 6
  error type, 7 remote control), then command-specific data, then the checksum. For
  the Rapid commands ``B D [ \\ ^ _ x n`` a second status byte follows (bit 0
  enhanced power, 1 train running, 2 wait, 3 single-pulse mode, 4 HV-PSU connected,
  5 coil ready, 6 theta PSU, 7 modified coil algorithm).
- ``?`` alone: command not understood; ``<c>?<crc>``: data not acceptable;
  ``<c>S<crc>``: command conflicts with the device state (e.g. fire while not
  ready).
- ``Q@`` (or ``Q`` + unlock code on software 9+) takes remote control, ``R@``
  releases it, ``EB``/``EA``/``EH`` arm, disarm and fire, ``@ddd`` sets the power,
  ``Bdddd`` the frequency in 0.1 Hz, ``Dddddd`` the pulse count, ``[dddd`` the train
  duration in 0.1 s (0 selects single-pulse mode, non-zero rTMS mode), ``\\@`` reads
  the parameters, ``F@`` the coil temperatures (0.1 degC, three digits each),
  ``ND`` the software version (``N`` + text + NUL + checksum), ``x@`` the system
  status.

Assumptions not verified on hardware: the exact text of the version reply
(``"NNN.NNN.NNN"`` zero-padded, which both magpy and MAGIC parse), the use of ``S``
to refuse a fire while not ready or over temperature, and which fields of the
second status bytes the Rapid sets.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .._constants import RAPID_ARM_DELAY_S, RAPID_SINGLE_PULSE_MAX_HZ
from ._pty import PtyEmulator

if TYPE_CHECKING:
    from .._faults import FaultPlan

__all__ = ["MagstimEmulator", "magstim_crc"]


def magstim_crc(data: bytes) -> int:
    """Return the Magstim checksum of ``data``: the inverted low byte of its sum.

    Parameters
    ----------
    data : bytes
        Message without its checksum.

    Returns
    -------
    crc : int
        Checksum byte.
    """
    return (~sum(data)) & 0xFF


_THREE_BYTE = frozenset(b"RJFEIxob^_\\N")


class MagstimEmulator(PtyEmulator):
    """Emulated Magstim Rapid² on a pseudo-terminal.

    Parameters
    ----------
    version : tuple of int
        Software version reported to ``ND`` (it selects the field widths).
    unlock_code : str
        Unlock code expected after ``Q`` (software 9+); empty: ``Q@``.
    arm_delay_s : float
        Time from arming to ready, s.
    min_pulse_interval_s : float | None
        Recharge time after a single pulse, s; ``None``: the single-pulse mode
        limit of 1 Hz. Tests pass a small value to run host-timed trains fast.
    faults : FaultPlan | dict | None
        Fault injection.
    **options
        Passed to :class:`~plptms.delivery.sim._pty.PtyEmulator`.
    """

    source = "magstim-emulator"

    def __init__(
        self,
        *,
        version: tuple[int, int, int] = (9, 0, 0),
        unlock_code: str = "",
        arm_delay_s: float = RAPID_ARM_DELAY_S,
        min_pulse_interval_s: float | None = None,
        faults: FaultPlan | dict[str, Any] | None = None,
        **options: Any,
    ) -> None:
        if min_pulse_interval_s is None:
            min_pulse_interval_s = 1.0 / RAPID_SINGLE_PULSE_MAX_HZ
        super().__init__(
            faults=faults, min_pulse_interval_s=min_pulse_interval_s, **options
        )
        self.version = version
        self.unlock_code = unlock_code
        self.arm_delay_s = float(arm_delay_s)
        self.remote = False
        self.armed = False
        self._ready_at = 0.0
        self.power = 30
        self.frequency_tenths = 10
        self.n_pulses = 1
        self.duration_tenths = 0  # 0: single-pulse mode
        self.enhanced = False
        self.invalid_checksums = 0

    # -- state ------------------------------------------------------------------

    @property
    def single_pulse_mode(self) -> bool:
        """Whether the Rapid is in single-pulse mode (duration 0)."""
        return self.duration_tenths == 0

    def ready(self) -> bool:
        """Whether a fire command would be accepted now (charged and recharged)."""
        now = time.monotonic()
        return (
            self.remote
            and self.armed
            and now >= self._ready_at
            and self._recharged(now)
            and not self._not_ready
            and not self.too_hot()
        )

    def _instr(self) -> int:
        hot = self.too_hot()
        now = time.monotonic()
        ready = (
            self.armed
            and now >= self._ready_at
            and self._recharged(now)
            and not self._not_ready
        )
        bits = 0
        bits |= (not self.armed) << 0
        bits |= self.armed << 1
        bits |= (ready and not hot) << 2
        bits |= 1 << 3  # coil present
        bits |= (hot or self._not_ready) << 5  # error present
        bits |= self.remote << 7
        return bits

    def _rapid(self) -> int:
        bits = 0
        bits |= self.enhanced << 0
        bits |= (self._train_next_s is not None) << 1
        bits |= self.single_pulse_mode << 3
        bits |= 1 << 4  # HV-PSU connected
        bits |= (not self.too_hot()) << 5  # coil ready
        return bits

    def _disarm(self) -> None:
        self.armed = False

    def _on_over_temperature(self) -> None:
        self.armed = False

    def _can_fire_in_train(self) -> bool:
        if self.too_hot():
            self.armed = False
            return False
        return self.remote and self.armed and not self._not_ready

    # -- protocol -----------------------------------------------------------------

    def _wide(self) -> bool:
        return self.version >= (9, 0, 0)

    def _command_length(self) -> int | None:
        """Length of the command at the head of the buffer, ``None`` if unknown."""
        buf = self._buffer
        c = buf[0]
        if c == ord("Q"):
            if len(buf) < 2:
                return 0
            if buf[1] == ord("@") or not self.unlock_code:
                return 3
            return 2 + len(self.unlock_code.encode("latin-1"))
        if c in _THREE_BYTE:
            return 3
        if c in b"@AC":
            return 5
        if c == ord("B"):
            return 6
        if c == ord("D"):
            return 7 if self._wide() else 6
        if c == ord("["):
            return 6 if self._wide() else 5
        if c == ord("n"):
            return 7 if self.version >= (10, 0, 0) else 6
        return None

    def _process_buffer(self) -> None:
        while self._buffer and not self._disconnected:
            length = self._command_length()
            if length is None:
                # Unknown command character: the Rapid answers '?' and we resync.
                self._buffer.clear()
                self._reply_raw(b"?")
                return
            if length == 0 or len(self._buffer) < length:
                return
            message = bytes(self._buffer[:length])
            del self._buffer[:length]
            self._commands_seen += 1
            self._strike_due_fault()
            if self._disconnected or self._hung:
                continue
            if magstim_crc(message[:-1]) != message[-1]:
                self.invalid_checksums += 1
                self._reply_raw(b"?")
                continue
            self._execute(message[:-1])

    def _reply_raw(self, data: bytes) -> None:
        self._write(data)

    def _reply(self, data: bytes, *, garble: bool = False) -> None:
        crc = magstim_crc(data)
        if garble:
            crc ^= 0xFF
        self._write(data + bytes([crc]))

    def _ack(self, c: str, *, rapid: bool = False, garble: bool = False) -> None:
        body = bytes([ord(c), self._instr()])
        if rapid:
            body += bytes([self._rapid()])
        self._reply(body, garble=garble)

    def _refuse(self, c: str, code: str) -> None:
        self._reply(c.encode("latin-1") + code.encode("latin-1"))

    def _execute(self, cmd: bytes) -> None:
        c = chr(cmd[0])
        data = cmd[1:].decode("latin-1")
        if c == "Q":
            if data != (self.unlock_code or "@"):
                self._reply_raw(b"?")
                return
            self.remote = True
            self._ack("Q")
        elif c == "R":
            self.remote = False
            self.armed = False
            self._stop_train()
            self._ack("R")
        elif c == "N":
            text = ".".join(f"{v:03d}" for v in self.version)
            self._reply(b"N" + text.encode("ascii") + b"\x00")
        elif c == "E":
            self._execute_e(data)
        elif not self.remote and c not in "JF\\":
            self._refuse(c, "S")
        elif c == "@":
            self._set_power(data)
        elif c == "B":
            self._set_number("frequency_tenths", data, 0, 1000, rapid_cmd="B")
        elif c == "D":
            self._set_number("n_pulses", data, 0, 6000, rapid_cmd="D")
        elif c == "[":
            self._set_number("duration_tenths", data, 0, 9999, rapid_cmd="[")
        elif c == "\\":
            self._send_parameters()
        elif c == "F":
            self._send_temperature()
        elif c == "x":
            self._reply(bytes([ord("x"), self._instr(), self._rapid(), 0, 0]))
        elif c == "I":
            code = "014" if self.too_hot() else "000"
            self._reply(bytes([ord("I"), self._instr()]) + code.encode("ascii"))
        elif c in "^_":
            self.enhanced = c == "^"
            self._ack(c, rapid=True)
        elif c == "b":
            self._ack("b")
        else:
            self._reply_raw(b"?")

    def _execute_e(self, data: str) -> None:
        if data == "A":
            self.armed = False
            self._stop_train()
            self._ack("E")
        elif data == "B":
            if not self.remote or self.too_hot() or self._not_ready:
                self._refuse("E", "S")
                return
            if not self.armed:
                self.armed = True
                self._ready_at = time.monotonic() + self.arm_delay_s
            self._ack("E")
        elif data == "H":
            self._fire()
        else:
            self._reply_raw(b"?")

    def _fire(self) -> None:
        if self.too_hot():
            self.armed = False
        if not self.ready() or self._train_next_s is not None:
            self._refuse("E", "S")
            return
        garble = self._garble_next_fire
        self._garble_next_fire = False
        if self.single_pulse_mode:
            self._emit_pulse(float(self.power))
            self._ack("E", garble=garble)
            return
        frequency = self.frequency_tenths / 10.0
        self._ack("E", garble=garble)
        self._start_train(self.n_pulses, frequency, float(self.power))

    def _set_power(self, data: str) -> None:
        if not data.isdigit():
            self._refuse("@", "?")
            return
        value = int(data)
        if value > (110 if self.enhanced else 100):
            self._refuse("@", "?")
            return
        self.power = value
        self._ack("@")

    def _set_number(
        self, attr: str, data: str, low: int, high: int, *, rapid_cmd: str
    ) -> None:
        if not data.isdigit() or not low <= int(data) <= high:
            self._refuse(rapid_cmd, "?")
            return
        if self._train_next_s is not None:
            self._refuse(rapid_cmd, "S")
            return
        setattr(self, attr, int(data))
        self._ack(rapid_cmd, rapid=True)

    def _send_parameters(self) -> None:
        wide = self._wide()
        fields = f"{self.power:03d}{self.frequency_tenths:04d}"
        if wide:
            fields += f"{self.n_pulses:05d}{self.duration_tenths:04d}{0:04d}"
        elif self.version >= (7, 0, 0):
            fields += f"{self.n_pulses:04d}{self.duration_tenths:03d}{0:04d}"
        else:
            fields += f"{self.n_pulses:04d}{self.duration_tenths:03d}{0:03d}"
        body = bytes([ord("\\"), self._instr(), self._rapid()]) + fields.encode("ascii")
        self._reply(body)

    def _send_temperature(self) -> None:
        tenths = min(999, max(0, round(self.coil_temperature_c() * 10)))
        text = f"{tenths:03d}{tenths:03d}"
        self._reply(bytes([ord("F"), self._instr()]) + text.encode("ascii"))
