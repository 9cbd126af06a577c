"""Trigger output: one Lab Streaming Layer marker per pulse.

:class:`LSLMarkerOutlet` owns a ``pylsl.StreamOutlet`` of type ``"Markers"`` (one
channel, irregular rate) and pushes a marker per pulse, stamped with the pulse's
issue time converted from ``time.monotonic`` to the LSL clock
(``pylsl.local_clock``). :class:`MarkedStimulator` wraps any
:class:`~plptms.delivery.Stimulator` so that its pulses go through the outlet: live,
pulse by pulse, when the stimulator supports pulse listeners (all plptms
stimulators do), else right after each call.

pylsl's wheels bundle liblsl (``pylsl/lib/liblsl.so``), so nothing else needs
installing on Linux, macOS or Windows.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any, Literal

from ._interface import (
    PulseRecord,
    Stimulator,
    StimulatorStatus,
    TrainRequest,
    TrainResult,
)
from .drivers._common import soft_import

if TYPE_CHECKING:
    from ._timing import ClockFn

__all__ = ["LSLMarkerOutlet", "MarkedStimulator"]

#: Default stream name.
DEFAULT_STREAM_NAME = "plptms-pulses"
#: LSL content type of marker streams (the LSL convention).
MARKER_STREAM_TYPE = "Markers"


class LSLMarkerOutlet:
    """An LSL marker stream with one sample per pulse.

    Parameters
    ----------
    name : str
        Stream name.
    source_id : str | None
        Unique source id (lets a recorder reconnect); ``None``: a random one.
    marker_format : str
        ``"string"``: a JSON object ``{"event": "pulse", "train": t, "index": k,
        "intensity_pct_mso": x}``; ``"int"``: the running pulse count from 1.
    time_base : callable
        The clock the :class:`~plptms.delivery.PulseRecord` times are on
        (``time.monotonic`` for real stimulators).

    Notes
    -----
    On Linux both ``time.monotonic`` and ``pylsl.local_clock`` read
    ``CLOCK_MONOTONIC``; the offset between them is measured at every push anyway, so
    the conversion holds on every platform.
    """

    def __init__(
        self,
        name: str = DEFAULT_STREAM_NAME,
        *,
        source_id: str | None = None,
        marker_format: Literal["string", "int"] = "string",
        time_base: ClockFn = time.monotonic,
    ) -> None:
        if marker_format not in ("string", "int"):
            raise ValueError(
                f"Invalid value for 'marker_format': got {marker_format!r}; allowed "
                "values are 'string', 'int'."
            )
        self._pylsl = soft_import("pylsl", "pylsl")
        self.name = name
        self.source_id = source_id or f"plptms-{uuid.uuid4().hex[:12]}"
        self.marker_format = marker_format
        self._time_base = time_base
        self._lock = threading.Lock()
        self._count = 0
        channel_format = "string" if marker_format == "string" else "int32"
        info = self._pylsl.StreamInfo(
            name,
            MARKER_STREAM_TYPE,
            1,
            self._pylsl.IRREGULAR_RATE,
            channel_format,
            self.source_id,
        )
        desc = info.desc()
        desc.append_child_value("manufacturer", "plptms")
        channel = desc.append_child("channels").append_child("channel")
        channel.append_child_value("label", "pulse")
        channel.append_child_value("type", "Marker")
        self._outlet: Any = self._pylsl.StreamOutlet(info)

    @property
    def pushed(self) -> int:
        """Markers pushed so far."""
        with self._lock:
            return self._count

    def to_lsl_time(self, t_s: float) -> float:
        """Convert a time on ``time_base`` to the LSL clock, s.

        Parameters
        ----------
        t_s : float
            Time on the outlet's time base, s.

        Returns
        -------
        t_lsl_s : float
            The same instant on ``pylsl.local_clock()``, s.
        """
        offset = float(self._pylsl.local_clock()) - self._time_base()
        return t_s + offset

    def push(self, record: PulseRecord, *, train: int | None = None) -> None:
        """Push the marker of one pulse.

        Parameters
        ----------
        record : PulseRecord
            The pulse.
        train : int | None
            Train number, for the JSON marker.
        """
        with self._lock:
            self._count += 1
            count = self._count
        if self.marker_format == "int":
            sample: list[Any] = [count]
        else:
            sample = [
                json.dumps(
                    {
                        "event": "pulse",
                        "train": train,
                        "index": record.index,
                        "intensity_pct_mso": record.intensity_pct_mso,
                    },
                    separators=(",", ":"),
                )
            ]
        self._outlet.push_sample(sample, self.to_lsl_time(record.t_monotonic_s))

    def __call__(self, record: PulseRecord) -> None:
        """Push ``record`` (so the outlet can be a pulse listener itself)."""
        self.push(record)

    def have_consumers(self) -> bool:
        """Whether an inlet is connected."""
        return bool(self._outlet.have_consumers())

    def close(self) -> None:
        """Destroy the outlet (idempotent)."""
        self._outlet = _ClosedOutlet()


class _ClosedOutlet:
    def push_sample(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("The LSL outlet is closed.")

    def have_consumers(self) -> bool:
        return False


class MarkedStimulator(Stimulator):
    """Any stimulator, with an LSL marker for every pulse it delivers.

    Parameters
    ----------
    inner : Stimulator
        The stimulator to wrap.
    outlet : LSLMarkerOutlet
        Where the markers go.
    """

    def __init__(self, inner: Stimulator, outlet: LSLMarkerOutlet) -> None:
        self.inner = inner
        self.outlet = outlet
        self.name = f"{inner.name}+lsl"
        self._train: int | None = None
        self._trains = 0
        self._closed = False
        add = getattr(inner, "add_pulse_listener", None)
        self._live = callable(add)
        if add is not None and self._live:
            add(self._on_pulse)

    def _on_pulse(self, record: PulseRecord) -> None:
        self.outlet.push(record, train=self._train)

    def close(self) -> None:
        """Stop sending the inner stimulator's pulses to the outlet."""
        self._closed = True
        remove = getattr(self.inner, "remove_pulse_listener", None)
        if self._live and remove is not None:
            remove(self._on_pulse)

    def connect(self) -> None:
        """Connect the inner stimulator."""
        self.inner.connect()

    def disconnect(self) -> None:
        """Disconnect the inner stimulator."""
        self.inner.disconnect()

    def arm(self) -> None:
        """Arm the inner stimulator."""
        self.inner.arm()

    def disarm(self) -> None:
        """Disarm the inner stimulator."""
        self.inner.disarm()

    def set_intensity(self, intensity_pct_mso: float) -> None:
        """Set the inner stimulator's intensity, % MSO."""
        self.inner.set_intensity(intensity_pct_mso)

    def status(self) -> StimulatorStatus:
        """Return the inner stimulator's status."""
        return self.inner.status()

    def request_stop(self) -> None:
        """Forward a stop request (thread-safe)."""
        self.inner.request_stop()

    def device_pulse_count(self) -> int | None:
        """Return the inner stimulator's own pulse count, if it keeps one."""
        return self.inner.device_pulse_count()

    def device_id(self) -> str | None:
        """Return the wrapped stimulator's identity."""
        return self.inner.device_id()

    def fire(self) -> PulseRecord:
        """Fire one pulse and mark it (train number ``None``)."""
        self._train = None
        record = self.inner.fire()
        if not (self._live or self._closed):
            self.outlet.push(record)
        return record

    def run_train(self, train: TrainRequest) -> TrainResult:
        """Deliver a train and mark its pulses (numbered trains from 1)."""
        self._trains += 1
        self._train = self._trains
        try:
            result = self.inner.run_train(train)
        finally:
            current, self._train = self._train, None
        if not (self._live or self._closed):
            for record in result.pulses:
                self.outlet.push(record, train=current)
        return result
