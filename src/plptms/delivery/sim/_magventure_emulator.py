"""A MagVenture MagPro emulator speaking the MagPro serial protocol on a pty.

Protocol (as implemented by magicpy 0.1.6 and MAGIC's ``magventure.m``; Saatlou et
al., 2018):

- 38400 baud, 8N1. A frame is ``FE <len> <payload...> <crc> FF`` where ``len`` is
  the number of payload bytes and ``crc`` the CRC-8/MAXIM (Dallas 1-Wire,
  polynomial x^8 + x^5 + x^4 + 1, bit-reflected, initial value 0) of the payload,
  exactly magicpy's ``MagVenture.calc_crc``.
- Commands (payload): ``00`` status; ``01 <amp>`` amplitude (``01 <a> <b>`` in
  twin/dual mode); ``02 01`` / ``02 00`` enable / disable; ``03 01`` fire;
  ``05`` status 2; ``06 <rate*10:2> <pulses:2> <trains:2> <iti*10:2>`` train
  parameters (big-endian 16-bit); ``07 <page> 00`` page.
- Replies use the same framing; the first payload byte is the message type. The
  status byte packs ``model << 5 | enabled << 4 | waveform << 2 | mode``. Type 0
  (13 bytes): status byte, 3-byte serial number, coil temperature (degC), coil
  type, amplitudes A and B. Types 1 (amplitudes), 2 (di/dt), 3 (temperature and
  coil type), 8 (page and train state): two data bytes then the status byte (8
  bytes). Type 5 (19 bytes): type 0 fields, then original amplitudes, amplitude
  factors, page and train state.

Assumptions not verified on hardware (magicpy reads replies but does not check
their checksum or state which reply follows which command): a reply's CRC covers its
payload like a command's; a fire is answered with a type-2 (di/dt) message when the
pulse left and with a type-3 message (status "disabled" or not ready) when it was
refused; enabling is answered with three 8-byte messages (types 1, 3, 1), as
magicpy's comment on the X100 says ("status, coil info, status"), disabling,
amplitude, train and page commands with one 8-byte message; the coil cut-off
temperature equals the Magstim one.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ._pty import PtyEmulator

if TYPE_CHECKING:
    from .._faults import FaultPlan

__all__ = ["MagVentureEmulator", "magventure_crc"]

_START = 0xFE
_END = 0xFF

#: Page numbers of magicpy's ``set_page``.
_PAGE_MAIN = 1
_PAGE_TRAIN = 2


def magventure_crc(payload: bytes) -> int:
    """Return the CRC-8/MAXIM of ``payload`` (magicpy's ``calc_crc``).

    Parameters
    ----------
    payload : bytes
        Frame payload (without start, length, CRC and end bytes).

    Returns
    -------
    crc : int
        Checksum byte.
    """
    crc = 0
    for byte in payload:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8C if crc & 1 else crc >> 1
    return crc


def magventure_frame(payload: bytes) -> bytes:
    """Frame ``payload`` as ``FE len payload crc FF``.

    Parameters
    ----------
    payload : bytes
        Payload.

    Returns
    -------
    frame : bytes
        The frame.
    """
    return (
        bytes([_START, len(payload)]) + payload + bytes([magventure_crc(payload), _END])
    )


class MagVentureEmulator(PtyEmulator):
    """Emulated MagVenture MagPro (X100, standard mode, biphasic) on a pty.

    Parameters
    ----------
    model : int
        Model code in the status byte (1: X100, as magicpy's ``stimulator_types``).
    coil_type : int
        Coil code (62: MCF-B65 in magicpy's ``coil_types``).
    min_pulse_interval_s : float
        Recharge time after a pulse, s (not modelled by default).
    faults : FaultPlan | dict | None
        Fault injection.
    **options
        Passed to :class:`~plptms.delivery.sim._pty.PtyEmulator`.
    """

    source = "magventure-emulator"

    def __init__(
        self,
        *,
        model: int = 1,
        coil_type: int = 62,
        min_pulse_interval_s: float = 0.0,
        faults: FaultPlan | dict[str, Any] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(
            faults=faults, min_pulse_interval_s=min_pulse_interval_s, **options
        )
        self.model = model
        self.coil_type = coil_type
        self.enabled = False
        self.amplitude = 0
        self.page = _PAGE_MAIN
        self.train_rate_tenths = 10
        self.train_pulses = 1
        self.train_count = 1
        self.train_iti_tenths = 10
        self.bad_frames = 0

    # -- state ------------------------------------------------------------------

    def _status_byte(self) -> int:
        waveform, mode = 1, 0  # biphasic, standard
        return (self.model & 0x7) << 5 | int(self.enabled) << 4 | waveform << 2 | mode

    def _temp_byte(self) -> int:
        return min(0xFE, max(0, round(self.coil_temperature_c())))

    def _disarm(self) -> None:
        self.enabled = False

    def _on_over_temperature(self) -> None:
        self.enabled = False

    def _can_fire_in_train(self) -> bool:
        if self.too_hot():
            self.enabled = False
            return False
        return self.enabled and not self._not_ready

    # -- messages -----------------------------------------------------------------

    def _send(self, payload: bytes, *, garble: bool = False) -> None:
        frame = bytearray(magventure_frame(payload))
        if garble:
            frame[-2] ^= 0xFF
        self._write(bytes(frame))

    def _msg_amplitude(self) -> bytes:
        return bytes([0x01, self.amplitude, 0x00, self._status_byte()])

    def _msg_didt(self) -> bytes:
        didt = min(0xFE, round(self.amplitude * 1.5))
        return bytes([0x02, didt, 0x00, self._status_byte()])

    def _msg_temperature(self) -> bytes:
        return bytes([0x03, self._temp_byte(), self.coil_type, self._status_byte()])

    def _msg_page(self) -> bytes:
        running = int(self._train_next_s is not None)
        return bytes([0x08, self.page, running, self._status_byte()])

    def _msg_status(self) -> bytes:
        return bytes(
            [
                0x00,
                self._status_byte(),
                0x01,
                0x23,
                0x45,
                self._temp_byte(),
                self.coil_type,
                self.amplitude,
                0x00,
            ]
        )

    def _msg_status2(self) -> bytes:
        running = int(self._train_next_s is not None)
        base = bytearray(self._msg_status())
        base[0] = 0x05
        return bytes(base) + bytes([self.amplitude, 0x00, 100, 100, self.page, running])

    # -- protocol -----------------------------------------------------------------

    def _process_buffer(self) -> None:
        buf = self._buffer
        while buf and not self._disconnected:
            if buf[0] != _START:
                del buf[0]
                self.bad_frames += 1
                continue
            if len(buf) < 2:
                return
            total = buf[1] + 4
            if len(buf) < total:
                return
            frame = bytes(buf[:total])
            del buf[:total]
            payload = frame[2:-2]
            if frame[-1] != _END or magventure_crc(payload) != frame[-2]:
                # A malformed command is ignored (a real MagPro may even hang).
                self.bad_frames += 1
                continue
            self._commands_seen += 1
            self._strike_due_fault()
            if self._disconnected or self._hung or not payload:
                continue
            self._execute(payload)

    def _execute(self, payload: bytes) -> None:
        cmd = payload[0]
        if cmd == 0x00:
            self._send(self._msg_status())
        elif cmd == 0x01 and len(payload) >= 2:
            if payload[1] <= 100:
                self.amplitude = payload[1]
            self._send(self._msg_amplitude())
        elif cmd == 0x02 and len(payload) >= 2:
            if payload[1] == 0x01:
                if not (self.too_hot() or self._not_ready):
                    self.enabled = True
                self._send(self._msg_amplitude())
                self._send(self._msg_temperature())
                self._send(self._msg_amplitude())
            else:
                self.enabled = False
                self._stop_train()
                self._send(self._msg_amplitude())
        elif cmd == 0x03:
            self._fire()
        elif cmd == 0x05:
            self._send(self._msg_status2())
        elif cmd == 0x06 and len(payload) >= 9:
            self.train_rate_tenths = payload[1] << 8 | payload[2]
            self.train_pulses = payload[3] << 8 | payload[4]
            self.train_count = payload[5] << 8 | payload[6]
            self.train_iti_tenths = payload[7] << 8 | payload[8]
            self._send(self._msg_page())
        elif cmd == 0x07 and len(payload) >= 2:
            self.page = payload[1]
            self._send(self._msg_page())
        # Other commands are not emulated: no reply.

    def _fire(self) -> None:
        now = time.monotonic()
        if self.too_hot():
            self.enabled = False
        if (
            not self.enabled
            or self._not_ready
            or self._train_next_s is not None
            or not self._recharged(now)
        ):
            self._send(self._msg_temperature())
            return
        garble = self._garble_next_fire
        self._garble_next_fire = False
        if self.page == _PAGE_TRAIN:
            rate = self.train_rate_tenths / 10.0
            self._start_train(self.train_pulses, rate, float(self.amplitude))
            self._send(self._msg_page(), garble=garble)
            return
        self._emit_pulse(float(self.amplitude))
        self._send(self._msg_didt(), garble=garble)
