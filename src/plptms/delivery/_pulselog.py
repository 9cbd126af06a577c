"""An append-only, fsync'd record of the pulses a device fired (ground truth).

The simulator and the serial emulators write one JSON line per pulse they fire,
flushed and ``fsync``'d before the pulse is acknowledged, so a separate process (a
crash test) can compare what the host recorded with what the device fired even when
the host was killed mid-train.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import TextIO

from pydantic import BaseModel, ConfigDict

__all__ = ["PulseLogEntry", "PulseLogWriter", "read_pulse_log"]


class PulseLogEntry(BaseModel):
    """One pulse fired by a device.

    Attributes
    ----------
    seq : int
        Ordinal of the pulse among all pulses the device fired, from 1.
    index : int | None
        Index within its train, when the device knows it (the simulator does; a
        serial device does not).
    t_monotonic_s : float
        Device-side ``time.monotonic()`` (or the injected clock), s.
    intensity_pct_mso : float
        Intensity, % MSO.
    sham : bool
        Whether the pulse was a sham.
    source : str
        Which device wrote it (``"sim"``, ``"magstim-emulator"``...).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int
    index: int | None = None
    t_monotonic_s: float
    intensity_pct_mso: float
    sham: bool = False
    source: str


class PulseLogWriter:
    """Append :class:`PulseLogEntry` lines to ``path``, durably.

    Parameters
    ----------
    path : str | Path
        File to append to (created if missing).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._file: TextIO | None = None

    def write(self, entry: PulseLogEntry) -> None:
        """Append ``entry``, then flush and ``fsync``.

        Parameters
        ----------
        entry : PulseLogEntry
            The pulse.
        """
        line = entry.model_dump_json() + "\n"
        with self._lock:
            if self._file is None:
                self._file = self.path.open("a", encoding="utf-8")
            self._file.write(line)
            self._file.flush()
            os.fsync(self._file.fileno())

    def close(self) -> None:
        """Close the file (idempotent; the next :meth:`write` reopens it)."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def read_pulse_log(path: str | os.PathLike[str]) -> list[PulseLogEntry]:
    """Read a pulse log; a truncated last line (writer killed mid-line) is ignored.

    Parameters
    ----------
    path : str | Path
        The log file.

    Returns
    -------
    entries : list of PulseLogEntry
        The pulses, in the order fired.
    """
    entries: list[PulseLogEntry] = []
    text = Path(path).read_text(encoding="utf-8")
    lines = text.split("\n")
    for k, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            if k == len(lines) - 1:
                break
            raise
        entries.append(PulseLogEntry.model_validate(data))
    return entries
