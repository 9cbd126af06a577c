"""Live motor-threshold hunting: a real (or simulated) stimulator plus streamed EMG.

:class:`StimulatorResponder` implements :class:`~plptms.motor.Responder` on top of
any :class:`~plptms.delivery.Stimulator` and an :class:`EmgSource`: for each call
it sets the intensity (refused, never clamped), fires one pulse, waits for the EMG
around the pulse and measures the peak-to-peak MEP with :func:`analyse_meps`
(baseline correction, artefact window, pre-activation rejection). It therefore
plugs straight into :func:`~plptms.motor.hunt_threshold`.

:class:`LSLEmgSource` is an :class:`EmgSource` that reads one channel of a Lab
Streaming Layer EMG stream into a ring buffer in a background thread. LSL stamps
samples on ``pylsl.local_clock()``; pulses are stamped on ``time.monotonic()``
(:class:`~plptms.delivery.PulseRecord`). On Linux both read ``CLOCK_MONOTONIC``
(liblsl uses ``std::chrono::steady_clock``; CPython's ``time.monotonic`` uses
``clock_gettime(CLOCK_MONOTONIC)``), so the offset is zero to within a
microsecond. The offset is measured anyway when the source starts, so the
conversion also holds on platforms where the two clocks differ.

Single pulses are spaced by at least :data:`MIN_INTER_PULSE_S` (default
:data:`DEFAULT_INTER_PULSE_S`), a design choice in the 4-6 s range commonly used
for single-pulse MEP work so that a hunt never turns into low-frequency rTMS;
see the IFCN guides :footcite:`groppa2012,rossini2015` for MEP recording practice.

.. footbibliography::
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal, NamedTuple, Protocol

import numpy as np

from ..delivery import check_intensity, wait_ready
from ..utils import check_range, check_type
from ._constants import DEFAULT_INTER_PULSE_S, MIN_INTER_PULSE_S
from ._mep import (
    MepParams,
    MepTrial,
    SamplingRateTooLowError,
    analyse_meps,
    emg_from_array,
)
from ._mep_defaults import MIN_SFREQ_HZ

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

    from numpy.typing import NDArray

    from ..delivery import PulseRecord, Stimulator
    from ._mep import EmgTrace

__all__ = [
    "DEFAULT_INTER_PULSE_S",
    "MIN_INTER_PULSE_S",
    "EmgSource",
    "EmgStreamError",
    "EmgWindow",
    "LSLEmgSource",
    "LiveTrial",
    "MepRejectedError",
    "StimulatorResponder",
]

logger = logging.getLogger(__name__)


#: Default wait for the EMG after a pulse to arrive, s (stream latency). [design]
DEFAULT_EMG_TIMEOUT_S: Final[float] = 2.0

#: Default wait for the stimulator to become ready after arming or a new
#: intensity, s (capacitor recharge takes up to a few seconds). [design]
DEFAULT_READY_TIMEOUT_S: Final[float] = 10.0

#: Polling period of the stimulator's ready flag, s. [design]
_READY_POLL_S: Final[float] = 0.05

#: Extra samples cut on each side of the epoch so rounding never drops one.
_MARGIN_SAMPLES: Final[int] = 2

#: Samples pulled from the inlet per call.
_CHUNK_SAMPLES: Final[int] = 1024

#: Polling timeout of the reader thread, s.
_PULL_TIMEOUT_S: Final[float] = 0.05


class EmgStreamError(RuntimeError):
    """The EMG stream did not deliver the data around a pulse (timeout, gap, loss)."""


class MepRejectedError(RuntimeError):
    """Every attempt at one intensity was rejected (e.g. muscle pre-activation).

    Parameters
    ----------
    message : str
        What happened.
    trials : tuple of LiveTrial
        The rejected attempts.
    """

    def __init__(self, message: str, trials: tuple[LiveTrial, ...]) -> None:
        super().__init__(message)
        self.trials = trials


@dataclass(frozen=True, slots=True)
class EmgWindow:
    """EMG around one pulse.

    Parameters
    ----------
    data_uv : ndarray, shape (n_times,)
        One EMG channel, uV.
    sfreq_hz : float
        Sampling rate, Hz.
    pulse_sample : int
        Index in ``data_uv`` of the sample nearest to the pulse.
    channel : str
        Channel name, for reports.
    source : str
        Where the EMG came from (e.g. ``"lsl:<stream name>"``), for reports.
    """

    data_uv: NDArray[np.float64]
    sfreq_hz: float
    pulse_sample: int
    channel: str = "EMG"
    source: str = field(default="")

    def to_trace(self) -> EmgTrace:
        """Return the window as an :class:`~plptms.motor.EmgTrace` with one trigger.

        Returns
        -------
        trace : EmgTrace
            The EMG in uV, triggered at :attr:`pulse_sample`.

        Raises
        ------
        SamplingRateTooLowError
            If :attr:`sfreq_hz` is below the MEP minimum.
        """
        return emg_from_array(
            self.data_uv,
            self.sfreq_hz,
            [self.pulse_sample],
            unit="uV",
            channel=self.channel,
        )


class EmgSource(Protocol):
    """Streams EMG and hands back the window around a pulse."""

    def window_after(
        self,
        t_pulse_monotonic_s: float,
        *,
        pre_s: float,
        post_s: float,
        timeout_s: float,
    ) -> EmgWindow:
        """Return the EMG around a pulse once the data after it has arrived.

        Parameters
        ----------
        t_pulse_monotonic_s : float
            Pulse time on ``time.monotonic`` (the stimulator's clock), s.
        pre_s, post_s : float
            EMG wanted before and after the pulse, s.
        timeout_s : float
            Longest wait for the data after the pulse, s.

        Returns
        -------
        window : EmgWindow
            The EMG, with the pulse's sample index.

        Raises
        ------
        EmgStreamError
            If the data do not arrive in time or are not (or no longer) buffered.
        """
        ...


class LiveTrial(NamedTuple):
    """One pulse of a live hunt and its MEP measurement.

    Parameters
    ----------
    pulse : PulseRecord
        The pulse as delivered.
    trial : MepTrial
        Its MEP analysis (``trial.rejected`` for a rejected attempt).
    """

    pulse: PulseRecord
    trial: MepTrial


# ---------------------------------------------------------------------------
# LSL source.
# ---------------------------------------------------------------------------

_UNIT_TO_UV: dict[str, float] = {"V": 1e6, "mV": 1e3, "uV": 1.0}


def _pylsl() -> Any:
    from ..delivery.drivers._common import soft_import

    return soft_import("pylsl", "pylsl")


def _measure_offset(pylsl: Any, monotonic: Callable[[], float]) -> float:
    """Return ``local_clock() - monotonic()``, s, from the tightest of 20 readings."""
    best: tuple[float, float] | None = None
    for _ in range(20):
        t0 = monotonic()
        t_lsl = float(pylsl.local_clock())
        t1 = monotonic()
        if best is None or t1 - t0 < best[0]:
            best = (t1 - t0, t_lsl - 0.5 * (t0 + t1))
    assert best is not None
    return best[1]


def _channel_labels(info: Any) -> list[str]:
    labels: list[str] = []
    ch = info.desc().child("channels").child("channel")
    while not ch.empty():
        labels.append(str(ch.child_value("label")))
        ch = ch.next_sibling()
    return labels


class LSLEmgSource:
    """One EMG channel of an LSL stream, buffered in a background thread.

    Parameters
    ----------
    stream : str
        Name or content type of the LSL stream (e.g. ``"EMG"``); a stream whose
        name matches is preferred over one whose type matches.
    channel : int | str
        Channel index (from 0) or label (``desc/channels/channel/label``).
    buffer_s : float
        Length of the ring buffer, s, in [1, 600].
    unit : {"uV", "mV", "V"}
        Unit of the stream's samples.
    resolve_timeout_s : float
        Longest wait for the stream to be found by :meth:`start`, s.

    Notes
    -----
    Nothing happens on construction; :meth:`start` (or ``with``) resolves the
    stream, checks the channel and the sampling rate, measures the offset between
    ``pylsl.local_clock`` and ``time.monotonic`` and starts the reader thread.
    The inlet applies LSL's clock synchronisation, de-jittering and monotonising,
    so the timestamps are on this host's LSL clock.
    """

    def __init__(
        self,
        stream: str,
        channel: int | str,
        *,
        buffer_s: float = 10.0,
        unit: Literal["uV", "mV", "V"] = "uV",
        resolve_timeout_s: float = 5.0,
    ) -> None:
        check_type(stream, str, "stream")
        check_type(channel, (int, str), "channel")
        if isinstance(channel, bool):
            raise TypeError(
                "Invalid type for 'channel': got bool; allowed: int or str."
            )
        check_range(buffer_s, "buffer_s", 1.0, 600.0, unit="s")
        if unit not in _UNIT_TO_UV:
            raise ValueError(
                f"Invalid value for 'unit': got {unit!r}; allowed values are "
                f"{', '.join(repr(u) for u in _UNIT_TO_UV)}."
            )
        check_range(
            resolve_timeout_s, "resolve_timeout_s", 0.0, None, low_inclusive=False
        )
        self.stream = stream
        self.stream_name = stream
        self.channel = channel
        self.buffer_s = float(buffer_s)
        self.unit = unit
        self.resolve_timeout_s = float(resolve_timeout_s)
        self._scale = _UNIT_TO_UV[unit]
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._inlet: Any = None
        self._error: BaseException | None = None
        self._sfreq = 0.0
        self._label = ""
        self._index = 0
        self._offset = 0.0
        self._times = np.empty(0)
        self._data = np.empty(0)
        self._count = 0  # samples written since start (ring head)

    # -- properties -----------------------------------------------------------

    @property
    def sfreq_hz(self) -> float:
        """Nominal sampling rate of the stream, Hz (0 before :meth:`start`)."""
        return self._sfreq

    @property
    def channel_label(self) -> str:
        """Label of the channel read ("" before :meth:`start`)."""
        return self._label

    @property
    def clock_offset_s(self) -> float:
        """``pylsl.local_clock() - time.monotonic()`` measured at start, s."""
        return self._offset

    @property
    def running(self) -> bool:
        """Whether the reader thread is running."""
        return self._thread is not None and self._thread.is_alive()

    # -- lifecycle --------------------------------------------------------------

    def start(self) -> LSLEmgSource:
        """Resolve the stream, check it and start buffering.

        Only samples that arrive after the start are buffered, so a pulse fired
        less than ``pre_s`` after :meth:`start` has no baseline (its
        :meth:`window_after` raises :class:`EmgStreamError`).

        Returns
        -------
        self : LSLEmgSource
            The running source.

        Raises
        ------
        EmgStreamError
            If no stream named or typed ``stream`` is found in time.
        ValueError
            If the channel does not exist in the stream.
        SamplingRateTooLowError
            If the stream is irregular or sampled below the MEP minimum.
        """
        if self.running:
            return self
        pylsl = _pylsl()
        pred = f"name='{self.stream}' or type='{self.stream}'"
        infos = pylsl.resolve_bypred(pred, 1, self.resolve_timeout_s)
        if not infos:
            raise EmgStreamError(
                f"No LSL stream named or typed {self.stream!r} found within "
                f"{self.resolve_timeout_s:g} s."
            )
        infos.sort(key=lambda i: i.name() != self.stream)
        info = infos[0]
        sfreq = float(info.nominal_srate())
        if sfreq < MIN_SFREQ_HZ:
            rate = "irregular" if sfreq == 0.0 else f"{sfreq:g} Hz"
            raise SamplingRateTooLowError(
                f"Invalid sampling rate of LSL stream {info.name()!r}: got {rate}; "
                f"MEP analysis needs a regular rate of at least {MIN_SFREQ_HZ:g} Hz."
            )
        inlet = pylsl.StreamInlet(
            info,
            max_buflen=max(1, math.ceil(self.buffer_s)),
            processing_flags=pylsl.proc_clocksync
            | pylsl.proc_dejitter
            | pylsl.proc_monotonize,
        )
        full = inlet.info(timeout=self.resolve_timeout_s)
        n_channels = int(full.channel_count())
        labels = _channel_labels(full)
        if len(labels) != n_channels:
            labels = [str(k) for k in range(n_channels)]
        if isinstance(self.channel, str):
            if self.channel not in labels:
                inlet.close_stream()
                raise ValueError(
                    f"Invalid value for 'channel': got {self.channel!r}; allowed "
                    f"labels in LSL stream {info.name()!r} are {labels}."
                )
            index = labels.index(self.channel)
        else:
            if not 0 <= self.channel < n_channels:
                inlet.close_stream()
                raise ValueError(
                    f"Invalid value for 'channel': got {self.channel}; allowed range "
                    f"is [0, {n_channels - 1}] for LSL stream {info.name()!r}."
                )
            index = self.channel
        self._inlet = inlet
        self._sfreq = sfreq
        self._index = index
        self._label = labels[index]
        self.stream_name = str(info.name())
        size = math.ceil(self.buffer_s * sfreq) + _CHUNK_SAMPLES
        self._times = np.full(size, np.nan)
        self._data = np.full(size, np.nan)
        self._count = 0
        self._error = None
        self._offset = _measure_offset(pylsl, time.monotonic)
        logger.info(
            "LSL EMG stream %r channel %r at %g Hz; local_clock - monotonic = %.6f s.",
            self.stream_name,
            self._label,
            sfreq,
            self._offset,
        )
        inlet.open_stream(timeout=self.resolve_timeout_s)
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"plptms-emg-{self.stream_name}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the reader thread and close the inlet (safe to call twice)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        if self._inlet is not None:
            try:
                self._inlet.close_stream()
            except Exception:  # pragma: no cover - best effort on shutdown
                logger.debug("closing the LSL inlet failed", exc_info=True)
            self._inlet = None

    def __enter__(self) -> LSLEmgSource:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        inlet = self._inlet
        try:
            while not self._stop.is_set():
                samples, stamps = inlet.pull_chunk(
                    timeout=_PULL_TIMEOUT_S, max_samples=_CHUNK_SAMPLES
                )
                if not stamps:
                    continue
                values = np.asarray(samples, dtype=np.float64)[:, self._index]
                times = np.asarray(stamps, dtype=np.float64) - self._offset
                self._append(times, values * self._scale)
        except Exception as err:  # e.g. pylsl.LostError
            logger.warning("LSL EMG stream %r failed: %s", self.stream, err)
            with self._cond:
                self._error = err
                self._cond.notify_all()

    def _append(self, times: NDArray[np.float64], values: NDArray[np.float64]) -> None:
        size = self._times.size
        with self._cond:
            pos = (self._count + np.arange(times.size)) % size
            self._times[pos] = times
            self._data[pos] = values
            self._count += times.size
            self._cond.notify_all()

    def _latest(self) -> float:
        if self._count == 0:
            return -math.inf
        return float(self._times[(self._count - 1) % self._times.size])

    # -- EmgSource ----------------------------------------------------------------

    def window_after(
        self,
        t_pulse_monotonic_s: float,
        *,
        pre_s: float,
        post_s: float,
        timeout_s: float = DEFAULT_EMG_TIMEOUT_S,
    ) -> EmgWindow:
        """Return the EMG around a pulse once the data after it has arrived.

        Parameters
        ----------
        t_pulse_monotonic_s : float
            Pulse time on ``time.monotonic``, s.
        pre_s, post_s : float
            EMG wanted before and after the pulse, s; together at most
            ``buffer_s``.
        timeout_s : float
            Longest wait, from now, for the sample ``post_s`` after the pulse, s.

        Returns
        -------
        window : EmgWindow
            The EMG in uV with the index of the sample nearest to the pulse.

        Raises
        ------
        EmgStreamError
            If the source is not running or the stream was lost, the data after
            the pulse do not arrive within ``timeout_s``, the data before it are
            no longer (or not yet) buffered, or the stream has a gap at the pulse.
        ValueError
            If a duration is out of range.
        """
        check_range(pre_s, "pre_s", 0.0, self.buffer_s, unit="s")
        check_range(post_s, "post_s", 0.0, self.buffer_s, low_inclusive=False, unit="s")
        check_range(timeout_s, "timeout_s", 0.0, None, unit="s")
        if pre_s + post_s > self.buffer_s:
            raise ValueError(
                f"Invalid value for 'pre_s + post_s': got {pre_s + post_s:g} s; "
                f"allowed: at most buffer_s={self.buffer_s:g} s."
            )
        if self._inlet is None:
            raise EmgStreamError(
                f"LSL EMG source {self.stream!r} is not running; call start() first."
            )
        name = self.stream_name
        t_end = t_pulse_monotonic_s + post_s
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._latest() < t_end:
                if self._error is not None:
                    raise EmgStreamError(
                        f"LSL EMG stream {name!r} was lost: {self._error}"
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0.0:
                    latest = self._latest()
                    got = (
                        "no sample yet"
                        if latest == -math.inf
                        else f"the last sample is {latest - t_pulse_monotonic_s:+.3f} s"
                        " from the pulse"
                    )
                    raise EmgStreamError(
                        f"Timed out after {timeout_s:g} s waiting for LSL EMG stream "
                        f"{name!r} to deliver {post_s:g} s after the pulse ({got})."
                    )
                self._cond.wait(remaining)
            size = self._times.size
            n_held = min(self._count, size)
            order = (self._count - n_held + np.arange(n_held)) % size
            times = self._times[order]
            data = self._data[order]
        sfreq = self._sfreq
        k = int(np.searchsorted(times, t_pulse_monotonic_s))
        if k > 0 and (
            k == times.size
            or abs(times[k - 1] - t_pulse_monotonic_s)
            <= abs(times[k] - t_pulse_monotonic_s)
        ):
            k -= 1
        n_pre = math.ceil(pre_s * sfreq) + _MARGIN_SAMPLES
        n_post = math.ceil(post_s * sfreq) + _MARGIN_SAMPLES
        if k - n_pre < 0:
            raise EmgStreamError(
                f"LSL EMG stream {name!r} holds no data {pre_s:g} s before the pulse "
                f"(the buffer starts {times[0] - t_pulse_monotonic_s:+.3f} s from it; "
                f"buffer_s={self.buffer_s:g} s)."
            )
        if abs(times[k] - t_pulse_monotonic_s) > 1.5 / sfreq:
            raise EmgStreamError(
                f"LSL EMG stream {name!r} has a gap at the pulse: the nearest sample "
                f"is {times[k] - t_pulse_monotonic_s:+.4f} s from it."
            )
        stop = min(k + n_post + 1, times.size)
        return EmgWindow(
            data_uv=data[k - n_pre : stop].copy(),
            sfreq_hz=sfreq,
            pulse_sample=n_pre,
            channel=self._label,
            source=f"lsl:{name}",
        )


# ---------------------------------------------------------------------------
# Responder.
# ---------------------------------------------------------------------------


class StimulatorResponder:
    """A :class:`~plptms.motor.Responder` made of a stimulator and an EMG source.

    Parameters
    ----------
    stimulator : Stimulator
        Connected stimulator; it is armed on the first pulse if it is not.
    emg : EmgSource
        Where the EMG around each pulse comes from (e.g. a started
        :class:`LSLEmgSource`).
    params : MepParams | None
        MEP analysis settings (muscle window, artefact window, pre-activation
        limits); ``None`` uses the defaults.
    inter_pulse_s : float
        Minimum time between pulses, s, at least :data:`MIN_INTER_PULSE_S`
        (default :data:`DEFAULT_INTER_PULSE_S`); see :footcite:`groppa2012`.
    max_retries : int
        Extra pulses at the same intensity after a rejected trial, in [0, 5]
        (default 1).
    emg_timeout_s : float
        Longest wait for the EMG after each pulse, s.
    ready_timeout_s : float
        Longest wait for the stimulator to be ready before a pulse, s.
    clock, sleep : callable | None
        The stimulator's clock and a matching sleep (``None``: ``time.monotonic``
        and ``time.sleep``); pass a :class:`~plptms.delivery.VirtualClock`'s
        ``now`` and ``sleep`` with a virtual-time simulator.

    Notes
    -----
    A rejected trial (pre-activation, non-finite EMG, ...) is never returned as an
    amplitude: the pulse is repeated at the same intensity after the inter-pulse
    interval, up to ``max_retries`` times, and if every attempt is rejected
    :class:`MepRejectedError` is raised, which stops the hunt (hunts never retry).
    Every pulse, accepted or not, is kept in :attr:`trials`.

    References
    ----------
    .. footbibliography::
    """

    def __init__(
        self,
        stimulator: Stimulator,
        emg: EmgSource,
        *,
        params: MepParams | None = None,
        inter_pulse_s: float = DEFAULT_INTER_PULSE_S,
        max_retries: int = 1,
        emg_timeout_s: float = DEFAULT_EMG_TIMEOUT_S,
        ready_timeout_s: float = DEFAULT_READY_TIMEOUT_S,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        from ..delivery import Stimulator

        check_type(stimulator, Stimulator, "stimulator")
        if not callable(getattr(emg, "window_after", None)):
            raise TypeError(
                f"Invalid type for 'emg': got {type(emg).__name__}; allowed: an "
                "EmgSource (with a window_after method)."
            )
        p = MepParams() if params is None else params
        check_type(p, MepParams, "params")
        check_range(inter_pulse_s, "inter_pulse_s", MIN_INTER_PULSE_S, None, unit="s")
        check_type(max_retries, int, "max_retries")
        check_range(max_retries, "max_retries", 0, 5)
        check_range(emg_timeout_s, "emg_timeout_s", 0.0, None, unit="s")
        check_range(ready_timeout_s, "ready_timeout_s", 0.0, None, unit="s")
        self.stimulator = stimulator
        self.emg = emg
        self.params = p
        self.inter_pulse_s = float(inter_pulse_s)
        self.max_retries = max_retries
        self.emg_timeout_s = float(emg_timeout_s)
        self.ready_timeout_s = float(ready_timeout_s)
        self._clock: Callable[[], float] = (
            clock if clock is not None else time.monotonic
        )
        self._sleep: Callable[[float], None] = (
            sleep if sleep is not None else time.sleep
        )
        self._last_pulse_s: float | None = None
        self._trials: list[LiveTrial] = []

    @property
    def trials(self) -> tuple[LiveTrial, ...]:
        """Every pulse delivered so far with its MEP analysis, in order."""
        return tuple(self._trials)

    def _wait_interval(self) -> None:
        if self._last_pulse_s is None:
            return
        due = self._last_pulse_s + self.inter_pulse_s
        while (remaining := due - self._clock()) > 0.0:
            self._sleep(remaining)

    def _wait_ready(self) -> None:
        status = self.stimulator.status()
        if not status.armed:
            self.stimulator.arm()
        wait_ready(
            self.stimulator,
            timeout_s=self.ready_timeout_s,
            poll_s=_READY_POLL_S,
            clock=self._clock,
            sleep=self._sleep,
        )

    def _one_pulse(self, intensity: float) -> LiveTrial:
        self._wait_interval()
        self.stimulator.set_intensity(intensity)
        self._wait_ready()
        record = self.stimulator.fire()
        self._last_pulse_s = record.t_monotonic_s
        window = self.emg.window_after(
            record.t_monotonic_s,
            pre_s=-self.params.epoch_tmin_ms / 1000.0,
            post_s=self.params.epoch_tmax_ms / 1000.0,
            timeout_s=self.emg_timeout_s,
        )
        trial = analyse_meps(window.to_trace(), self.params).trials[0]
        live = LiveTrial(record, trial)
        self._trials.append(live)
        return live

    def stimulate(self, intensity_pct_mso: float) -> float:
        """Deliver one pulse and return the MEP.

        Parameters
        ----------
        intensity_pct_mso : float
            Stimulator output, % MSO, in [0, 100] (whole numbers when the
            stimulator only takes whole % MSO); never clamped or rounded.

        Returns
        -------
        amplitude_uv : float
            Peak-to-peak MEP amplitude, uV, of the first accepted attempt.

        Raises
        ------
        TypeError, ValueError
            If the intensity is refused (before any pulse).
        MepRejectedError
            If every attempt (1 + ``max_retries`` pulses) was rejected.
        EmgStreamError
            If the EMG around a pulse did not arrive.
        StimulatorFault
            If the stimulator failed.
        """
        whole = bool(getattr(self.stimulator, "whole_intensity", False))
        value = check_intensity(intensity_pct_mso, whole=whole)
        attempts: list[LiveTrial] = []
        for attempt in range(self.max_retries + 1):
            live = self._one_pulse(value)
            attempts.append(live)
            trial = live.trial
            if not trial.rejected and trial.amplitude_uv is not None:
                return trial.amplitude_uv
            logger.warning(
                "Trial at %g %% MSO rejected (%s); attempt %d of %d.",
                value,
                trial.rejection_reason,
                attempt + 1,
                self.max_retries + 1,
            )
        reasons = ", ".join(str(a.trial.rejection_reason) for a in attempts)
        raise MepRejectedError(
            f"All {len(attempts)} pulse(s) at {value:g} % MSO were rejected "
            f"({reasons}); check that the muscle is at rest.",
            tuple(attempts),
        )
