"""EEG sources for a closed-loop session: an LSL stream, or a recording.

A source hands the session new samples with their timestamps and tells the time
on the same clock:

* :class:`LSLSource` reads a Lab Streaming Layer stream through mne-lsl's
  ``StreamLSL`` with manual acquisition :footcite:`gramfort2013`;
* :class:`ArraySource` replays an array in virtual time (tests, offline
  evaluation: no network, no waiting).

:func:`play_recording` streams a recording (a file, an ``mne.io.Raw`` or one of
the shipped recordings) on LSL with mne-lsl's ``PlayerLSL``, so that a whole
session can be run on a known recording exactly as on a live amplifier.

.. footbibliography::
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..utils import check_range
from ._errors import StreamLostError, StreamMismatchError

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "ArraySource",
    "EEGSource",
    "LSLSource",
    "play_recording",
    "recording_source",
]


class EEGSource(Protocol):
    """What a closed-loop session reads EEG from."""

    @property
    def ch_names(self) -> tuple[str, ...]:
        """Channel names, in the order of the samples' columns."""

    @property
    def sfreq_hz(self) -> float:
        """Nominal sampling rate, Hz."""

    @property
    def exhausted(self) -> bool:
        """``True`` when a finite source has delivered its last sample."""

    @property
    def virtual(self) -> bool:
        """``True`` when time is simulated (the session never sleeps)."""

    def pull(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Return the samples that arrived since the last call.

        Returns
        -------
        samples : ndarray, shape (n_new, n_channels)
            Oldest first (``n_new`` may be 0).
        timestamps : ndarray, shape (n_new,), s
            On the clock of :meth:`now`.
        """

    def now(self) -> float:
        """Return the current time on the samples' clock, s."""

    def close(self) -> None:
        """Release the stream."""


class ArraySource:
    """Replay an array in virtual time, chunk by chunk.

    Parameters
    ----------
    data : array-like of float, shape (n_times, n_channels)
        The recording.
    sfreq_hz : float, Hz
        Its sampling rate.
    ch_names : sequence of str
        Channel names.
    chunk_size : int
        Samples per pull, in [1, 1000].
    t0_s : float, s
        Timestamp of the first sample.
    stall_after_s : float | None, s
        Stop delivering samples after this much stream time (the stream goes
        silent while the clock keeps running), to test a lost stream. ``None``:
        deliver everything.

    Notes
    -----
    The clock is the timestamp of the newest delivered sample; once the data run
    out (or stall) each :meth:`now` call advances it by one chunk.
    """

    def __init__(
        self,
        data: ArrayLike,
        sfreq_hz: float,
        ch_names: Sequence[str],
        *,
        chunk_size: int = 1,
        t0_s: float = 0.0,
        stall_after_s: float | None = None,
    ) -> None:
        x = np.asarray(data, dtype=float)
        if x.ndim != 2 or x.shape[1] != len(ch_names):
            raise ValueError(
                f"Invalid value for 'data': got shape {x.shape}; allowed: (n_times, "
                f"{len(ch_names)}) for {len(ch_names)} channel names."
            )
        self._data = x
        self._sfreq = check_range(
            sfreq_hz, "sfreq_hz", 0.0, None, low_inclusive=False, unit="Hz"
        )
        self._names = tuple(str(n) for n in ch_names)
        self._chunk = int(check_range(chunk_size, "chunk_size", 1, 1000))
        self._t0 = float(t0_s)
        n = x.shape[0]
        if stall_after_s is not None:
            check_range(stall_after_s, "stall_after_s", 0.0, None, unit="s")
            n = min(n, round(stall_after_s * self._sfreq))
        self._stop = n
        self._pos = 0
        self._clock = self._t0 - 1.0 / self._sfreq

    @property
    def ch_names(self) -> tuple[str, ...]:
        """Channel names."""
        return self._names

    @property
    def sfreq_hz(self) -> float:
        """Sampling rate, Hz."""
        return self._sfreq

    @property
    def exhausted(self) -> bool:
        """Whether every sample has been delivered (a stall never exhausts)."""
        return bool(self._pos >= self._data.shape[0])

    @property
    def virtual(self) -> bool:
        """Always ``True``."""
        return True

    @property
    def position(self) -> int:
        """Samples delivered so far."""
        return self._pos

    def pull(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Return the next chunk (empty once exhausted or stalled)."""
        start = self._pos
        stop = min(self._stop, start + self._chunk)
        if stop <= start:
            return np.empty((0, len(self._names))), np.empty(0)
        self._pos = stop
        ts = self._t0 + np.arange(start, stop) / self._sfreq
        self._clock = float(ts[-1])
        return self._data[start:stop], ts

    def now(self) -> float:
        """Stream time; advances by one chunk per call once no data flows."""
        if self._pos >= self._stop:
            self._clock += self._chunk / self._sfreq
        return self._clock

    def close(self) -> None:
        """Nothing to release."""


class LSLSource:
    """Read an EEG stream from Lab Streaming Layer through mne-lsl.

    Parameters
    ----------
    name : str | None
        Stream name (``None``: any).
    source_id : str | None
        Stream source id (``None``: any).
    stype : str | None
        Stream type (``None``: any, e.g. ``"EEG"``).
    bufsize : float, s
        Buffer kept by mne-lsl, in [1, 600] s.
    timeout : float, s
        How long to look for the stream, in (0, 600] s.
    dejitter : bool
        Ask liblsl to smooth the timestamps of a regular stream. Off by default:
        dejittered timestamps lie on a fitted line, which hides a run of dropped
        samples that the trigger must see to refill its window. Clock
        synchronisation is always on, so the timestamps are on this host's
        ``local_clock``.
    picks : sequence of str | None
        Channels to keep (``None``: all), e.g. the spatial filter's channels.

    Raises
    ------
    StreamLostError
        If no such stream is found within ``timeout``.
    StreamMismatchError
        If a channel in ``picks`` is missing.
    """

    def __init__(
        self,
        name: str | None = None,
        *,
        source_id: str | None = None,
        stype: str | None = None,
        bufsize: float = 5.0,
        timeout: float = 10.0,
        dejitter: bool = False,
        picks: Sequence[str] | None = None,
    ) -> None:
        from mne_lsl.lsl import local_clock  # type: ignore[import-untyped]
        from mne_lsl.stream import StreamLSL  # type: ignore[import-untyped]

        check_range(bufsize, "bufsize", 1.0, 600.0, unit="s")
        check_range(timeout, "timeout", 0.0, 600.0, low_inclusive=False, unit="s")
        flags = ["clocksync", "dejitter"] if dejitter else ["clocksync"]
        self._clock = local_clock
        stream = StreamLSL(bufsize, name=name, stype=stype, source_id=source_id)
        try:
            stream.connect(
                acquisition_delay=None, processing_flags=flags, timeout=timeout
            )
        except RuntimeError as exc:
            what = ", ".join(
                f"{k}={v!r}"
                for k, v in (("name", name), ("source_id", source_id), ("type", stype))
                if v is not None
            )
            raise StreamLostError(
                f"No LSL stream found ({what or 'any'}) within {timeout:g} s: {exc}. "
                "No triggers will be issued."
            ) from None
        names = tuple(str(n) for n in stream.ch_names)
        if picks is not None:
            have = {n.upper(): n for n in names}
            missing = [p for p in picks if p.upper() not in have]
            if missing:
                stream.disconnect()
                raise StreamMismatchError(
                    f"Invalid value for 'picks': the stream has no channel "
                    f"{', '.join(missing)} (it has {', '.join(names)}). No triggers "
                    "will be issued."
                )
            keep = [have[p.upper()] for p in picks]
            stream.pick(keep)
            names = tuple(str(n) for n in stream.ch_names)
        self._stream: Any = stream
        self._names = names
        self._sfreq = float(stream.info["sfreq"])
        self._last_ts = -math.inf

    @property
    def ch_names(self) -> tuple[str, ...]:
        """Channel names, in stream order."""
        return self._names

    @property
    def sfreq_hz(self) -> float:
        """The stream's nominal rate, Hz."""
        return self._sfreq

    @property
    def exhausted(self) -> bool:
        """Always ``False``: a live stream has no end (silence means lost)."""
        return False

    @property
    def virtual(self) -> bool:
        """Always ``False``."""
        return False

    def pull(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Acquire and return the samples newer than the last pull."""
        s = self._stream
        s.acquire()
        n = int(s.n_new_samples)
        if n == 0:
            return np.empty((0, len(self._names))), np.empty(0)
        data, ts = s.get_data(winsize=(n + 2) / self._sfreq)
        # only the n newest samples are new: the older ones (and, right after
        # connecting, the buffer's zero-stamped initial content) are not
        data, ts = data[:, -n:], ts[-n:]
        new = ts > self._last_ts
        if not new.any():
            return np.empty((0, len(self._names))), np.empty(0)
        self._last_ts = float(ts[new][-1])
        return np.asarray(data[:, new].T, dtype=float), np.asarray(ts[new], dtype=float)

    def now(self) -> float:
        """LSL ``local_clock()``, s."""
        return float(self._clock())

    def close(self) -> None:
        """Disconnect the inlet."""
        if self._stream.connected:
            self._stream.disconnect()


@contextmanager
def play_recording(
    raw: Any,
    *,
    name: str = "plptms-replay",
    source_id: str | None = None,
    chunk_size: int = 10,
    n_repeat: float = 1,
) -> Iterator[Any]:
    """Stream a recording on LSL with mne-lsl's ``PlayerLSL`` (context manager).

    Parameters
    ----------
    raw : mne.io.BaseRaw | str | Path
        The recording (a Raw object or a file MNE reads).
    name : str
        LSL stream name.
    source_id : str | None
        LSL source id (default: unique per call).
    chunk_size : int
        Samples pushed at a time, in [1, 1000].
    n_repeat : float
        Times the recording is played (``math.inf``: forever).

    Yields
    ------
    player : mne_lsl.player.PlayerLSL
        The running player; it is stopped on exit.
    """
    from mne_lsl.player import PlayerLSL  # type: ignore[import-untyped]

    check_range(chunk_size, "chunk_size", 1, 1000)
    sid = source_id or f"plptms-{time.monotonic_ns()}"
    player = PlayerLSL(
        raw, chunk_size=int(chunk_size), n_repeat=n_repeat, name=name, source_id=sid
    )
    player.start()
    try:
        yield player
    finally:
        if player.running:
            player.stop()


def recording_source(raw: Any, **kwargs: Any) -> ArraySource:
    """Wrap an ``mne.io.Raw`` (EEG channels) as an :class:`ArraySource`.

    Parameters
    ----------
    raw : mne.io.BaseRaw
        A loaded recording.
    **kwargs
        Passed to :class:`ArraySource` (``chunk_size``, ``stall_after_s``...).

    Returns
    -------
    source : ArraySource
        The recording in virtual time.
    """
    return ArraySource(
        raw.get_data().T, float(raw.info["sfreq"]), list(raw.ch_names), **kwargs
    )
