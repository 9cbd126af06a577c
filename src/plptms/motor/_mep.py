"""Motor evoked potentials (MEPs): read EMG, find TMS pulses, measure each trial.

The analysis runs on an :class:`EmgTrace`: one EMG channel in microvolts, its
sampling rate and the sample index of every TMS pulse. A trace comes from a file
that MNE-Python reads (FIF, EDF, BrainVision ``.vhdr``; :func:`read_emg`), from an
``mne.io.Raw`` already in memory (:func:`emg_from_raw`) or from a plain array, as
a live source delivers it (:func:`emg_from_array`). :func:`analyse_meps` then
cuts an epoch around each pulse and, per trial:

1. removes the mean of the pre-stimulus baseline (-100 to -5 ms by default,
   :footcite:`summers2020`);
2. rejects the trial when the baseline shows muscle activity: peak-to-peak above
   50 uV by default (the MEP criterion of :footcite:`rossini1994`), and, when
   asked, RMS above a limit;
3. measures the peak-to-peak amplitude (uV) in the muscle's window (15-50 ms for
   hand muscles, 20-70 ms for tibialis anterior, 25-80 ms for EDB; built from the
   latencies in :footcite:`cantone2019` and :footcite:`jitsakulchaidej2022`),
   never counting a sample inside the TMS artefact window (-1 to 5 ms);
4. finds the onset latency (ms): the first sample of the window from which the
   rectified EMG stays above its baseline mean plus 3 baseline SDs
   :footcite:`summers2020` for at least 1 ms;
5. flags an MEP as present when the amplitude is at least 50 uV
   :footcite:`rossini1994`.

MNE-Python is imported inside the functions that use it, never at import time.

.. footbibliography::
"""

from __future__ import annotations

import csv
import difflib
import importlib
import io
import logging
import math
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..utils import (
    check_finite,
    check_option,
    check_range,
    check_type,
    read_raw_checked,
)
from ._mep_defaults import (
    ARTEFACT_WINDOW_MS,
    BASELINE_WINDOW_MS,
    EPOCH_TMAX_MS,
    EPOCH_TMIN_MS,
    MEP_PRESENT_MIN_UV,
    MIN_SFREQ_HZ,
    MUSCLE_WINDOWS_MS,
    ONSET_MIN_DURATION_MS,
    ONSET_SD_FACTOR,
    PRESTIM_MAX_PTP_UV,
    RECOMMENDED_SFREQ_HZ,
    TMS_ANNOTATION,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "EmgTrace",
    "MepAnalysis",
    "MepDataError",
    "MepParams",
    "MepSummary",
    "MepTrial",
    "Muscle",
    "NoTriggersError",
    "RejectionReason",
    "SamplingRateTooLowError",
    "analyse_mep_file",
    "analyse_meps",
    "emg_from_array",
    "emg_from_raw",
    "epoch_emg",
    "find_tms_triggers",
    "read_emg",
]

logger = logging.getLogger(__name__)

_FROZEN = ConfigDict(frozen=True, extra="forbid")

#: Scale from each accepted input unit to microvolts.
_TO_UV: dict[str, float] = {"V": 1e6, "mV": 1e3, "uV": 1.0}

#: Limits on the epoch, ms; wider epochs are not MEP epochs.
_EPOCH_LIMIT_MS = 1000.0

#: Tolerance when comparing sample times with window bounds, ms.
_EPS_MS = 1e-9

#: MNE's code for volts (``FIFF.FIFF_UNIT_V``).
_FIFF_UNIT_V = 107


# ---------------------------------------------------------------------------
# Errors and enums.
# ---------------------------------------------------------------------------


class MepDataError(ValueError):
    """The EMG data cannot be analysed for MEPs."""


class NoTriggersError(MepDataError):
    """No TMS pulse was found (stim channel, annotations or explicit samples)."""


class SamplingRateTooLowError(MepDataError):
    """The EMG sampling rate is below the minimum for MEP analysis."""


class EmgFileError(MepDataError):
    """A recording that is truncated, corrupt or cannot be read."""


class Muscle(StrEnum):
    """Target muscle; each has a default measurement window (ms after the pulse).

    Hand muscles use 15-50 ms, tibialis anterior 20-70 ms and extensor digitorum
    brevis 25-80 ms (see ``_mep_defaults.py`` for the sources). A custom window
    can always be given with ``MepParams(window_ms=...)``.
    """

    #: First dorsal interosseous (hand).
    FDI = "FDI"
    #: Abductor pollicis brevis (hand).
    APB = "APB"
    #: Abductor digiti minimi (hand).
    ADM = "ADM"
    #: Tibialis anterior (leg).
    TA = "TA"
    #: Extensor digitorum brevis (foot).
    EDB = "EDB"

    @property
    def default_window_ms(self) -> tuple[float, float]:
        """Default measurement window, ms after the pulse."""
        return MUSCLE_WINDOWS_MS[self.value]


class RejectionReason(StrEnum):
    """Why a trial was rejected."""

    #: Baseline peak-to-peak EMG above ``prestim_max_ptp_uv`` (pre-activation).
    PRESTIM_PTP = "prestim_ptp"
    #: Baseline RMS EMG above ``prestim_max_rms_uv`` (pre-activation).
    PRESTIM_RMS = "prestim_rms"
    #: The epoch runs past the start or the end of the recording.
    OUT_OF_BOUNDS = "out_of_bounds"
    #: The epoch holds NaN or infinite samples (e.g. a gap in a live stream).
    NOT_FINITE = "not_finite"


# ---------------------------------------------------------------------------
# Parameters.
# ---------------------------------------------------------------------------


def _interval_error(field_name: str, value: tuple[float, float], allowed: str) -> str:
    return (
        f"Invalid value for {field_name!r}: got {value!r}; allowed: start < stop "
        f"within {allowed} ms."
    )


def _check_interval(
    value: tuple[float, float], field_name: str, low: float, high: float
) -> None:
    start, stop = value
    for v in value:
        check_finite(v, field_name, "ms")
    if not (low <= start < stop <= high):
        raise ValueError(_interval_error(field_name, value, f"[{low:g}, {high:g}]"))


class MepParams(BaseModel):
    """Settings of the MEP analysis; every time is in ms relative to the pulse.

    Parameters
    ----------
    muscle : Muscle
        Target muscle; sets the default measurement window.
    window_ms : tuple of float | None
        Custom measurement window ``(start, stop)``, ms; ``None`` uses the
        muscle's default. Must lie after the baseline and end after the artefact
        window and before ``epoch_tmax_ms``.
    epoch_tmin_ms, epoch_tmax_ms : float
        Epoch limits, ms (default -100 and 100).
    baseline_ms : tuple of float
        Pre-stimulus baseline, ms (default -100 to -5); inside the epoch and
        ending before the artefact window.
    artefact_ms : tuple of float
        TMS artefact window, ms (default -1 to 5); its samples are never measured.
    prestim_max_ptp_uv : float | None
        Reject a trial whose baseline peak-to-peak EMG exceeds this, uV
        (default 50); ``None`` turns the criterion off.
    prestim_max_rms_uv : float | None
        Reject a trial whose baseline RMS EMG exceeds this, uV; ``None``
        (default) turns the criterion off. ``PRESTIM_MAX_RMS_UV`` (10 uV) is a
        suggested value.
    onset_sd_factor : float
        Onset threshold in baseline SDs of the rectified EMG (default 3).
    onset_min_duration_ms : float
        How long the rectified EMG must stay above the threshold, ms (default 1).
    mep_present_min_uv : float
        Peak-to-peak amplitude at or above which an MEP is present, uV
        (default 50).
    """

    model_config = _FROZEN

    muscle: Muscle = Muscle.FDI
    window_ms: tuple[float, float] | None = None
    epoch_tmin_ms: float = Field(
        default=EPOCH_TMIN_MS, ge=-_EPOCH_LIMIT_MS, lt=0.0, allow_inf_nan=False
    )
    epoch_tmax_ms: float = Field(
        default=EPOCH_TMAX_MS, gt=0.0, le=_EPOCH_LIMIT_MS, allow_inf_nan=False
    )
    baseline_ms: tuple[float, float] = BASELINE_WINDOW_MS
    artefact_ms: tuple[float, float] = ARTEFACT_WINDOW_MS
    prestim_max_ptp_uv: float | None = Field(
        default=PRESTIM_MAX_PTP_UV, gt=0.0, allow_inf_nan=False
    )
    prestim_max_rms_uv: float | None = Field(default=None, gt=0.0, allow_inf_nan=False)
    onset_sd_factor: float = Field(
        default=ONSET_SD_FACTOR, gt=0.0, le=100.0, allow_inf_nan=False
    )
    onset_min_duration_ms: float = Field(
        default=ONSET_MIN_DURATION_MS, ge=0.0, le=50.0, allow_inf_nan=False
    )
    mep_present_min_uv: float = Field(
        default=MEP_PRESENT_MIN_UV, gt=0.0, allow_inf_nan=False
    )

    @model_validator(mode="after")
    def _check_windows(self) -> Self:
        _check_interval(
            self.baseline_ms, "baseline_ms", self.epoch_tmin_ms, self.epoch_tmax_ms
        )
        _check_interval(
            self.artefact_ms,
            "artefact_ms",
            self.baseline_ms[1],
            self.epoch_tmax_ms,
        )
        window = self.measurement_window_ms
        _check_interval(window, "window_ms", self.baseline_ms[1], self.epoch_tmax_ms)
        if window[1] <= self.artefact_ms[1]:
            raise ValueError(
                _interval_error(
                    "window_ms",
                    window,
                    f"({self.artefact_ms[1]:g}, {self.epoch_tmax_ms:g}] (it must end "
                    "after the artefact window)",
                )
            )
        return self

    @property
    def measurement_window_ms(self) -> tuple[float, float]:
        """Window in which the MEP is measured, ms after the pulse."""
        if self.window_ms is not None:
            return self.window_ms
        return self.muscle.default_window_ms


# ---------------------------------------------------------------------------
# EMG trace and its constructors.
# ---------------------------------------------------------------------------


def _check_sfreq(sfreq_hz: float) -> float:
    check_type(sfreq_hz, (int, float), "sfreq_hz")
    try:
        value = check_range(sfreq_hz, "sfreq_hz", MIN_SFREQ_HZ, None, unit="Hz")
    except ValueError as err:
        raise SamplingRateTooLowError(
            f"{err} MEP analysis needs at least {MIN_SFREQ_HZ:g} Hz "
            f"({RECOMMENDED_SFREQ_HZ:g} Hz or more recommended)."
        ) from None
    if value < RECOMMENDED_SFREQ_HZ:
        logger.warning(
            "EMG sampled at %g Hz; %g Hz or more is recommended for MEP latencies.",
            value,
            RECOMMENDED_SFREQ_HZ,
        )
    return value


def _as_samples(trigger_samples: ArrayLike, n_times: int) -> NDArray[np.int64]:
    arr = np.asarray(trigger_samples)
    if arr.ndim != 1:
        raise ValueError(
            f"Invalid value for 'trigger_samples': got an array of shape "
            f"{arr.shape}; allowed: a 1-D sequence of sample indices."
        )
    if arr.size == 0:
        raise NoTriggersError(
            "Invalid value for 'trigger_samples': got no trigger; allowed: at "
            "least one TMS pulse sample index."
        )
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind != "f" or not np.all(np.isfinite(arr)):
            raise TypeError(
                f"Invalid type for 'trigger_samples': got {arr.dtype}; allowed: "
                "integer sample indices."
            )
        if not np.all(arr == np.round(arr)):
            raise ValueError(
                "Invalid value for 'trigger_samples': got non-integer values; "
                "allowed: integer sample indices."
            )
    out = arr.astype(np.int64)
    bad = out[(out < 0) | (out >= n_times)]
    if bad.size:
        raise ValueError(
            f"Invalid value for 'trigger_samples': got {int(bad[0])}; allowed "
            f"range is [0, {n_times - 1}] samples."
        )
    return out


@dataclass(frozen=True, slots=True)
class EmgTrace:
    """One EMG channel in microvolts with the sample index of each TMS pulse.

    Build it with :func:`emg_from_array`, :func:`emg_from_raw` or
    :func:`read_emg`; direct construction runs the same checks.

    Parameters
    ----------
    data_uv : ndarray, shape (n_times,)
        EMG, uV. NaN marks missing samples; a trial that touches one is
        rejected.
    sfreq_hz : float
        Sampling rate, Hz; at least ``MIN_SFREQ_HZ`` (1 kHz).
    trigger_samples : ndarray of int, shape (n_triggers,)
        Sample index of each TMS pulse, counted from the first sample of
        ``data_uv``.
    channel : str
        Channel name, for reports.
    trigger_source : str
        Where the triggers came from (``"explicit"``, ``"stim:<channel>"``,
        ``"annotation:<description>"``).

    Raises
    ------
    SamplingRateTooLowError
        If ``sfreq_hz`` is below the minimum.
    NoTriggersError
        If there is no trigger.
    ValueError
        If the data are not 1-D or a trigger lies outside the data.
    """

    data_uv: NDArray[np.float64]
    sfreq_hz: float
    trigger_samples: NDArray[np.int64]
    channel: str = "EMG"
    trigger_source: str = field(default="explicit")

    def __post_init__(self) -> None:
        check_type(self.channel, str, "channel")
        check_type(self.trigger_source, str, "trigger_source")
        sfreq = _check_sfreq(self.sfreq_hz)
        data = np.array(self.data_uv, dtype=np.float64)
        if data.ndim != 1:
            raise ValueError(
                f"Invalid value for 'data': got an array of shape {data.shape}; "
                "allowed: one channel, shape (n_times,)."
            )
        samples = _as_samples(self.trigger_samples, data.size)
        data.flags.writeable = False
        samples.flags.writeable = False
        object.__setattr__(self, "data_uv", data)
        object.__setattr__(self, "trigger_samples", samples)
        object.__setattr__(self, "sfreq_hz", sfreq)

    @property
    def n_times(self) -> int:
        """Number of samples."""
        return int(self.data_uv.size)


def emg_from_array(
    data: ArrayLike,
    sfreq_hz: float,
    trigger_samples: ArrayLike,
    *,
    unit: Literal["V", "mV", "uV"] = "V",
    channel: str = "EMG",
) -> EmgTrace:
    """Wrap EMG already in memory (e.g. from a live stream) as an :class:`EmgTrace`.

    Parameters
    ----------
    data : array-like, shape (n_times,)
        One EMG channel.
    sfreq_hz : float
        Sampling rate, Hz.
    trigger_samples : array-like of int, shape (n_triggers,)
        Sample index of each TMS pulse, from the first sample of ``data``.
    unit : {"V", "mV", "uV"}
        Unit of ``data`` (MNE-Python uses volts).
    channel : str
        Channel name, for reports.

    Returns
    -------
    trace : EmgTrace
        The EMG in uV with its triggers.

    Raises
    ------
    SamplingRateTooLowError
        If ``sfreq_hz`` is below ``MIN_SFREQ_HZ`` (1 kHz).
    NoTriggersError
        If ``trigger_samples`` is empty.
    ValueError
        If ``unit`` is unknown, ``data`` is not 1-D or a trigger lies outside it.
    """
    check_option(unit, "unit", list(_TO_UV))
    arr = np.asarray(data, dtype=np.float64) * _TO_UV[unit]
    return EmgTrace(
        data_uv=arr,
        sfreq_hz=sfreq_hz,
        trigger_samples=np.asarray(trigger_samples),
        channel=channel,
        trigger_source="explicit",
    )


def _mne() -> Any:
    """Import MNE-Python on demand (it is heavy; see the import-nesting test)."""
    try:
        return importlib.import_module("mne")
    except ImportError as err:  # pragma: no cover - mne is a dependency
        raise ImportError(
            "Reading EMG files needs MNE-Python: pip install mne"
        ) from err


def _matching_descriptions(descriptions: Sequence[str], annotation: str) -> list[str]:
    """Descriptions equal to ``annotation`` or ending in ``/annotation``.

    BrainVision markers read back as ``"<type>/<description>"``, e.g.
    ``"Comment/TMS"`` or ``"Stimulus/S  1"``.
    """
    out = []
    for desc in sorted(set(descriptions)):
        if desc == annotation or desc.split("/")[-1].strip() == annotation.strip():
            out.append(desc)
    return out


def _triggers_from_raw(
    raw: Any, stim_channel: str | None, annotation: str | None
) -> tuple[NDArray[np.int64], str]:
    mne = _mne()
    if stim_channel is not None and annotation is not None:
        raise ValueError(
            "Invalid value for 'annotation': got "
            f"{annotation!r} together with stim_channel={stim_channel!r}; "
            "allowed: one trigger source, not both."
        )
    descriptions = [str(d) for d in raw.annotations.description]
    stim_types = [raw.ch_names[i] for i in mne.pick_types(raw.info, stim=True)]

    if stim_channel is None and annotation is None:
        if _matching_descriptions(descriptions, TMS_ANNOTATION):
            annotation = TMS_ANNOTATION
        elif stim_types:
            stim_channel = stim_types[0]
        else:
            found = ", ".join(repr(d) for d in sorted(set(descriptions))) or "none"
            raise NoTriggersError(
                "No TMS triggers found: there is no stim channel and no "
                f"{TMS_ANNOTATION!r} annotation. Give 'stim_channel' (channels: "
                f"{', '.join(repr(c) for c in raw.ch_names)}) or 'annotation' "
                f"(descriptions: {found})."
            )

    first_samp = int(raw.first_samp)
    if stim_channel is not None:
        check_type(stim_channel, str, "stim_channel")
        check_option(stim_channel, "stim_channel", raw.ch_names)
        events = mne.find_events(
            raw, stim_channel=stim_channel, shortest_event=1, verbose=False
        )
        if len(events) == 0:
            raise NoTriggersError(
                f"Invalid value for 'stim_channel': got {stim_channel!r}; no "
                "trigger (no rising edge) on this channel. Stim channels: "
                f"{', '.join(repr(c) for c in stim_types) or 'none'}."
            )
        samples = np.asarray(events[:, 0], dtype=np.int64) - first_samp
        source = f"stim:{stim_channel}"
    else:
        assert annotation is not None  # narrowed above
        check_type(annotation, str, "annotation")
        matching = _matching_descriptions(descriptions, annotation)
        if not matching:
            options = sorted(set(descriptions))
            hint = ""
            close = difflib.get_close_matches(annotation, options, n=1)
            if close:
                hint = f" Did you mean {close[0]!r}?"
            found = ", ".join(repr(d) for d in options) or "none"
            raise NoTriggersError(
                f"Invalid value for 'annotation': got {annotation!r}; no annotation "
                f"matches. Descriptions in the recording: {found}.{hint}"
            )
        events, _ = mne.events_from_annotations(
            raw, event_id=dict.fromkeys(matching, 1), verbose=False
        )
        samples = np.asarray(events[:, 0], dtype=np.int64) - first_samp
        source = f"annotation:{annotation}"
    samples = np.unique(samples)
    logger.info("Found %d TMS triggers (%s).", samples.size, source)
    return samples, source


def find_tms_triggers(
    raw: object, *, stim_channel: str | None = None, annotation: str | None = None
) -> NDArray[np.int64]:
    """Find the TMS pulses in an MNE-Python Raw object.

    With neither ``stim_channel`` nor ``annotation``, annotations matching
    ``"TMS"`` are used if there are any, else the first stim channel.

    Parameters
    ----------
    raw : mne.io.BaseRaw
        The recording.
    stim_channel : str | None
        Stim channel whose rising edges mark the pulses (``mne.find_events``).
    annotation : str | None
        Annotation description of the pulses (``mne.events_from_annotations``);
        a description ``"<type>/<annotation>"`` (BrainVision) also matches.

    Returns
    -------
    samples : ndarray of int
        Sorted sample index of each pulse, from the first sample of ``raw``.

    Raises
    ------
    TypeError
        If ``raw`` is not an MNE Raw object.
    NoTriggersError
        If no pulse is found; the message lists channels or descriptions.
    ValueError
        If ``stim_channel`` is not a channel (the message lists them), or both
        sources are given.
    """
    check_type(raw, _mne().io.BaseRaw, "raw")
    samples, _ = _triggers_from_raw(raw, stim_channel, annotation)
    return samples


def emg_from_raw(
    raw: object,
    channel: str,
    *,
    stim_channel: str | None = None,
    annotation: str | None = None,
    trigger_samples: ArrayLike | None = None,
) -> EmgTrace:
    """Take one EMG channel and its TMS pulses from an MNE-Python Raw object.

    Parameters
    ----------
    raw : mne.io.BaseRaw
        The recording (data in volts, as MNE-Python stores them).
    channel : str
        EMG channel name.
    stim_channel, annotation : str | None
        Trigger source, see :func:`find_tms_triggers`.
    trigger_samples : array-like of int | None
        Explicit pulse sample indices (from the first sample of ``raw``); they
        override ``stim_channel`` and ``annotation``.

    Returns
    -------
    trace : EmgTrace
        The EMG in uV with its triggers.

    Raises
    ------
    TypeError
        If ``raw`` is not an MNE Raw object.
    SamplingRateTooLowError
        If the sampling rate is below ``MIN_SFREQ_HZ`` (1 kHz).
    ValueError
        If ``channel`` is missing (the message lists the channels and suggests
        the closest) or is not in volts.
    NoTriggersError
        If no pulse is found.
    """
    mne = _mne()
    check_type(raw, mne.io.BaseRaw, "raw")
    r: Any = raw  # an mne.io.BaseRaw (MNE-Python ships no type information)
    check_type(channel, str, "channel")
    sfreq = _check_sfreq(float(r.info["sfreq"]))
    check_option(channel, "channel", r.ch_names)
    ch = r.info["chs"][r.ch_names.index(channel)]
    if int(ch["unit"]) != _FIFF_UNIT_V:
        raise ValueError(
            f"Invalid value for 'channel': got {channel!r}, whose unit is not "
            "volts; allowed: an EMG channel in volts."
        )
    data_uv = r.get_data(picks=[channel])[0] * _TO_UV["V"]
    if trigger_samples is not None:
        samples = np.asarray(trigger_samples)
        source = "explicit"
    else:
        samples, source = _triggers_from_raw(r, stim_channel, annotation)
    return EmgTrace(
        data_uv=data_uv,
        sfreq_hz=sfreq,
        trigger_samples=samples,
        channel=channel,
        trigger_source=source,
    )


def read_emg(
    fname: str | Path,
    channel: str,
    *,
    stim_channel: str | None = None,
    annotation: str | None = None,
    trigger_samples: ArrayLike | None = None,
) -> EmgTrace:
    """Read one EMG channel and its TMS pulses from a file.

    Any format ``mne.io.read_raw`` reads works, among them FIF (``.fif``), EDF
    (``.edf``) and BrainVision (``.vhdr``).

    Parameters
    ----------
    fname : str | Path
        The recording.
    channel : str
        EMG channel name.
    stim_channel, annotation : str | None
        Trigger source, see :func:`find_tms_triggers`.
    trigger_samples : array-like of int | None
        Explicit pulse sample indices; override the other sources.

    Returns
    -------
    trace : EmgTrace
        The EMG in uV with its triggers.

    Raises
    ------
    FileNotFoundError
        If ``fname`` does not exist.
    EmgFileError
        If the file is truncated (an EDF/BDF shorter than its header says, a FIF
        with a cut-off tag, markers after the end of the data) or cannot be read.
    SamplingRateTooLowError, NoTriggersError, ValueError
        As :func:`emg_from_raw`.
    """
    path = Path(fname)
    if not path.is_file():
        raise FileNotFoundError(
            f"Invalid value for 'fname': got {str(path)!r}; no such file."
        )
    raw = _read_raw_checked(path, channel, stim_channel)
    return emg_from_raw(
        raw,
        channel,
        stim_channel=stim_channel,
        annotation=annotation,
        trigger_samples=trigger_samples,
    )


def _read_raw_checked(path: Path, channel: str, stim_channel: str | None) -> Any:
    """Read a recording and load the channels used, refusing a damaged file.

    The EMG channel and the stim channels are loaded at once (see
    :func:`plptms.utils._rawfile.read_raw_checked`), so that a truncated or corrupt
    file fails here with a clear message and never yields a shorter analysis.
    """
    mne = _mne()

    def load(raw: Any) -> None:
        names = list(raw.ch_names)
        if channel in names and (stim_channel is None or stim_channel in names):
            stim = [names[i] for i in mne.pick_types(raw.info, stim=True)]
            keep = [channel, *[c for c in [stim_channel, *stim] if c]]
            raw.pick(list(dict.fromkeys(keep)))
            raw.load_data(verbose=False)
        # else: emg_from_raw names the missing channel and lists the others

    return read_raw_checked(path, field="fname", load=load, error=EmgFileError)


# ---------------------------------------------------------------------------
# Epochs and measurement.
# ---------------------------------------------------------------------------


def _times_ms(sfreq_hz: float, params: MepParams) -> NDArray[np.float64]:
    start = math.ceil(params.epoch_tmin_ms * sfreq_hz / 1000.0 - 1e-9)
    stop = math.floor(params.epoch_tmax_ms * sfreq_hz / 1000.0 + 1e-9)
    return np.arange(start, stop + 1, dtype=np.float64) * (1000.0 / sfreq_hz)


def _mask(times: NDArray[np.float64], window: tuple[float, float]) -> NDArray[np.bool_]:
    return (times >= window[0] - _EPS_MS) & (times <= window[1] + _EPS_MS)


def _cut_epochs(
    trace: EmgTrace, p: MepParams
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Baseline-corrected epochs, their times (ms) and which fit in the data."""
    times = _times_ms(trace.sfreq_hz, p)
    offsets = np.rint(times * trace.sfreq_hz / 1000.0).astype(np.int64)
    base = _mask(times, p.baseline_ms)
    epochs = np.full((trace.trigger_samples.size, times.size), np.nan)
    in_bounds = np.zeros(trace.trigger_samples.size, dtype=bool)
    for k, s in enumerate(trace.trigger_samples):
        idx = s + offsets
        if idx[0] < 0 or idx[-1] >= trace.n_times:
            continue
        in_bounds[k] = True
        seg = trace.data_uv[idx].copy()
        if np.all(np.isfinite(seg[base])):
            seg -= seg[base].mean()
        epochs[k] = seg
    return epochs, times, in_bounds


def epoch_emg(
    trace: EmgTrace, params: MepParams | None = None, *, blank_artefact: bool = False
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Cut baseline-corrected epochs around each TMS pulse.

    Parameters
    ----------
    trace : EmgTrace
        EMG and triggers.
    params : MepParams | None
        Epoch, baseline and artefact windows; ``None`` uses the defaults.
    blank_artefact : bool
        Replace the samples of the artefact window by a straight line between
        its neighbours (for display or later filtering; measurements never use
        those samples either way).

    Returns
    -------
    epochs : ndarray, shape (n_triggers, n_times)
        EMG, uV, minus the baseline mean; a row of NaN where the epoch runs past
        the recording.
    times_ms : ndarray, shape (n_times,)
        Time of each column, ms relative to the pulse.

    Raises
    ------
    TypeError
        If ``trace`` or ``params`` has the wrong type.
    """
    check_type(trace, EmgTrace, "trace")
    p = MepParams() if params is None else params
    check_type(p, MepParams, "params")
    epochs, times, _ = _cut_epochs(trace, p)
    art = _mask(times, p.artefact_ms)
    if blank_artefact and art.any():
        cols = np.flatnonzero(art)
        left, right = cols[0] - 1, cols[-1] + 1
        if left >= 0 and right < times.size:
            frac = (cols - left) / (right - left)
            epochs[:, cols] = (
                epochs[:, [left]] + (epochs[:, [right]] - epochs[:, [left]]) * frac
            )
    return epochs, times


def _onset_index(
    rect: NDArray[np.float64],
    candidates: NDArray[np.bool_],
    threshold: float,
    min_samples: int,
) -> int | None:
    """First index of a run of ``min_samples`` candidate samples above threshold."""
    above = candidates & (rect > threshold)
    run = 0
    for i, flag in enumerate(above):
        run = run + 1 if flag else 0
        if run >= min_samples:
            return i - min_samples + 1
    return None


class MepTrial(BaseModel):
    """Measurements of one TMS pulse.

    Parameters
    ----------
    index : int
        Trial number, from 0, in trigger order.
    sample : int
        Sample index of the pulse, from the first sample of the trace.
    time_s : float
        Time of the pulse, s, from the first sample of the trace.
    amplitude_uv : float | None
        Peak-to-peak amplitude in the measurement window, uV; measured for
        rejected trials too (for review); ``None`` when the epoch could not be
        cut or holds non-finite samples.
    latency_ms : float | None
        Onset latency, ms after the pulse: first sample from which the rectified
        EMG stays above its baseline mean + ``onset_sd_factor`` baseline SDs for
        ``onset_min_duration_ms``. Given only for accepted trials with an MEP.
    prestim_ptp_uv, prestim_rms_uv : float | None
        Baseline peak-to-peak and RMS EMG, uV.
    rejected : bool
        Whether the trial is excluded from the summary.
    rejection_reason : RejectionReason | None
        Why, when rejected.
    mep_present : bool | None
        Whether ``amplitude_uv >= mep_present_min_uv``; ``None`` when rejected.
    """

    model_config = _FROZEN

    index: int = Field(ge=0)
    sample: int = Field(ge=0)
    time_s: float = Field(ge=0.0, allow_inf_nan=False)
    amplitude_uv: float | None = Field(default=None, ge=0.0, allow_inf_nan=False)
    latency_ms: float | None = Field(default=None, allow_inf_nan=False)
    prestim_ptp_uv: float | None = Field(default=None, ge=0.0, allow_inf_nan=False)
    prestim_rms_uv: float | None = Field(default=None, ge=0.0, allow_inf_nan=False)
    rejected: bool = False
    rejection_reason: RejectionReason | None = None
    mep_present: bool | None = None

    @model_validator(mode="after")
    def _check_rejection(self) -> Self:
        if self.rejected != (self.rejection_reason is not None):
            raise ValueError(
                f"Invalid value for 'rejection_reason': got "
                f"{self.rejection_reason!r} with rejected={self.rejected}; allowed: "
                "a reason exactly when the trial is rejected."
            )
        if self.rejected and self.mep_present is not None:
            raise ValueError(
                f"Invalid value for 'mep_present': got {self.mep_present!r} for a "
                "rejected trial; allowed: None."
            )
        return self


class MepSummary(BaseModel):
    """Summary over the accepted trials.

    Parameters
    ----------
    n_trials, n_accepted, n_rejected : int
        Trial counts.
    n_mep_present : int
        Accepted trials with an MEP (amplitude >= criterion).
    proportion_mep_present : float | None
        ``n_mep_present / n_accepted``; ``None`` without accepted trials.
    mean_amplitude_uv, median_amplitude_uv : float | None
        Of the accepted trials, uV.
    sd_amplitude_uv : float | None
        Sample SD (ddof=1) of the accepted amplitudes, uV; needs 2 trials.
    mean_latency_ms, median_latency_ms : float | None
        Of the accepted trials with a latency, ms.
    mep_present_min_uv : float
        The MEP criterion used, uV.
    """

    model_config = _FROZEN

    n_trials: int = Field(ge=0)
    n_accepted: int = Field(ge=0)
    n_rejected: int = Field(ge=0)
    n_mep_present: int = Field(ge=0)
    proportion_mep_present: float | None = Field(default=None, ge=0.0, le=1.0)
    mean_amplitude_uv: float | None = None
    median_amplitude_uv: float | None = None
    sd_amplitude_uv: float | None = None
    mean_latency_ms: float | None = None
    median_latency_ms: float | None = None
    mep_present_min_uv: float = Field(gt=0.0)


#: Columns of :meth:`MepAnalysis.to_rows`, in order.
_ROW_FIELDS: tuple[str, ...] = (
    "channel",
    "muscle",
    "index",
    "sample",
    "time_s",
    "amplitude_uv",
    "latency_ms",
    "prestim_ptp_uv",
    "prestim_rms_uv",
    "rejected",
    "rejection_reason",
    "mep_present",
)


class MepAnalysis(BaseModel):
    """Result of :func:`analyse_meps`: per-trial measurements and a summary.

    Serialise with ``model_dump_json()`` (JSON), :meth:`to_rows` (plain dict
    rows) or :meth:`to_csv` (CSV text).

    Parameters
    ----------
    channel : str
        EMG channel.
    sfreq_hz : float
        Sampling rate, Hz.
    trigger_source : str
        Where the triggers came from.
    window_ms : tuple of float
        Measurement window used, ms.
    params : MepParams
        All settings used.
    trials : tuple of MepTrial
        One entry per trigger.
    summary : MepSummary
        Summary over the accepted trials.
    """

    model_config = _FROZEN

    channel: str
    sfreq_hz: float = Field(gt=0.0)
    trigger_source: str
    window_ms: tuple[float, float]
    params: MepParams
    trials: tuple[MepTrial, ...]
    summary: MepSummary

    def to_rows(self) -> list[dict[str, str | int | float | bool | None]]:
        """One plain dict per trial, for tables and CSV (no pandas needed).

        Returns
        -------
        rows : list of dict
            Keys are, in order: channel, muscle, index, sample, time_s,
            amplitude_uv, latency_ms, prestim_ptp_uv, prestim_rms_uv, rejected,
            rejection_reason, mep_present.
        """
        rows: list[dict[str, str | int | float | bool | None]] = []
        for t in self.trials:
            rows.append(
                {
                    "channel": self.channel,
                    "muscle": self.params.muscle.value,
                    "index": t.index,
                    "sample": t.sample,
                    "time_s": t.time_s,
                    "amplitude_uv": t.amplitude_uv,
                    "latency_ms": t.latency_ms,
                    "prestim_ptp_uv": t.prestim_ptp_uv,
                    "prestim_rms_uv": t.prestim_rms_uv,
                    "rejected": t.rejected,
                    "rejection_reason": (
                        None if t.rejection_reason is None else t.rejection_reason.value
                    ),
                    "mep_present": t.mep_present,
                }
            )
        return rows

    def to_csv(self) -> str:
        """Trials as CSV text with a header row; ``None`` is written empty.

        Returns
        -------
        text : str
            The CSV table.
        """
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(_ROW_FIELDS), lineterminator="\n")
        writer.writeheader()
        for row in self.to_rows():
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
        return buf.getvalue()


def _summarise(trials: Sequence[MepTrial], criterion_uv: float) -> MepSummary:
    accepted = [t for t in trials if not t.rejected and t.amplitude_uv is not None]
    amps = np.array([t.amplitude_uv for t in accepted], dtype=np.float64)
    lats = np.array(
        [t.latency_ms for t in accepted if t.latency_ms is not None], dtype=np.float64
    )
    n_acc = len(accepted)
    n_mep = sum(1 for t in accepted if t.mep_present)
    return MepSummary(
        n_trials=len(trials),
        n_accepted=n_acc,
        n_rejected=len(trials) - n_acc,
        n_mep_present=n_mep,
        proportion_mep_present=n_mep / n_acc if n_acc else None,
        mean_amplitude_uv=float(amps.mean()) if n_acc else None,
        median_amplitude_uv=float(np.median(amps)) if n_acc else None,
        sd_amplitude_uv=float(amps.std(ddof=1)) if n_acc >= 2 else None,
        mean_latency_ms=float(lats.mean()) if lats.size else None,
        median_latency_ms=float(np.median(lats)) if lats.size else None,
        mep_present_min_uv=criterion_uv,
    )


def analyse_meps(trace: EmgTrace, params: MepParams | None = None) -> MepAnalysis:
    """Measure the MEP of every TMS pulse and summarise the accepted trials.

    Per trial: baseline correction, rejection of pre-activated trials,
    peak-to-peak amplitude in the muscle's window outside the artefact window,
    onset latency (baseline mean + 3 SD of the rectified EMG, held for 1 ms)
    :footcite:`summers2020`, and the 50 uV MEP criterion :footcite:`rossini1994`.

    Parameters
    ----------
    trace : EmgTrace
        EMG (uV) and triggers.
    params : MepParams | None
        Settings; ``None`` uses the defaults (FDI window 15-50 ms).

    Returns
    -------
    analysis : MepAnalysis
        Per-trial results and summary.

    Raises
    ------
    TypeError
        If ``trace`` or ``params`` has the wrong type.

    References
    ----------
    .. footbibliography::
    """
    check_type(trace, EmgTrace, "trace")
    p = MepParams() if params is None else params
    check_type(p, MepParams, "params")
    epochs, times, in_bounds = _cut_epochs(trace, p)
    base = _mask(times, p.baseline_ms)
    art = _mask(times, p.artefact_ms)
    window = p.measurement_window_ms
    meas = _mask(times, window) & ~art
    min_samples = max(1, math.ceil(p.onset_min_duration_ms * trace.sfreq_hz / 1000.0))

    trials: list[MepTrial] = []
    for k, s in enumerate(trace.trigger_samples):
        seg = epochs[k]
        common: dict[str, Any] = {
            "index": k,
            "sample": int(s),
            "time_s": float(s) / trace.sfreq_hz,
        }
        if not in_bounds[k]:
            reason = RejectionReason.OUT_OF_BOUNDS
            trials.append(MepTrial(**common, rejected=True, rejection_reason=reason))
            continue
        if not np.all(np.isfinite(seg[base | meas])):
            reason = RejectionReason.NOT_FINITE
            trials.append(MepTrial(**common, rejected=True, rejection_reason=reason))
            continue
        b = seg[base]
        ptp_pre = float(np.ptp(b))
        rms_pre = float(np.sqrt(np.mean(b**2)))
        amplitude = float(np.ptp(seg[meas]))
        reason_or_none: RejectionReason | None = None
        if p.prestim_max_ptp_uv is not None and ptp_pre > p.prestim_max_ptp_uv:
            reason_or_none = RejectionReason.PRESTIM_PTP
        elif p.prestim_max_rms_uv is not None and rms_pre > p.prestim_max_rms_uv:
            reason_or_none = RejectionReason.PRESTIM_RMS
        rejected = reason_or_none is not None
        mep_present = None if rejected else amplitude >= p.mep_present_min_uv
        latency = None
        if mep_present:
            rect_b = np.abs(b)
            sd = float(rect_b.std(ddof=1)) if rect_b.size > 1 else 0.0
            threshold = float(rect_b.mean()) + p.onset_sd_factor * sd
            onset = _onset_index(np.abs(seg), meas, threshold, min_samples)
            if onset is not None:
                latency = float(times[onset])
        trials.append(
            MepTrial(
                **common,
                amplitude_uv=amplitude,
                latency_ms=latency,
                prestim_ptp_uv=ptp_pre,
                prestim_rms_uv=rms_pre,
                rejected=rejected,
                rejection_reason=reason_or_none,
                mep_present=mep_present,
            )
        )

    summary = _summarise(trials, p.mep_present_min_uv)
    logger.info(
        "MEP analysis of %r: %d trials, %d accepted, %d with an MEP.",
        trace.channel,
        summary.n_trials,
        summary.n_accepted,
        summary.n_mep_present,
    )
    return MepAnalysis(
        channel=trace.channel,
        sfreq_hz=trace.sfreq_hz,
        trigger_source=trace.trigger_source,
        window_ms=window,
        params=p,
        trials=tuple(trials),
        summary=summary,
    )


def analyse_mep_file(
    fname: str | Path,
    channel: str,
    *,
    params: MepParams | None = None,
    stim_channel: str | None = None,
    annotation: str | None = None,
) -> MepAnalysis:
    """Read a recording and analyse its MEPs (:func:`read_emg` + :func:`analyse_meps`).

    Parameters
    ----------
    fname : str | Path
        Recording readable by ``mne.io.read_raw`` (FIF, EDF, BrainVision...).
    channel : str
        EMG channel name.
    params : MepParams | None
        Analysis settings; ``None`` uses the defaults.
    stim_channel, annotation : str | None
        Trigger source, see :func:`find_tms_triggers`.

    Returns
    -------
    analysis : MepAnalysis
        Per-trial results and summary.

    Raises
    ------
    FileNotFoundError, SamplingRateTooLowError, NoTriggersError, ValueError
        As :func:`read_emg`.
    """
    trace = read_emg(fname, channel, stim_channel=stim_channel, annotation=annotation)
    return analyse_meps(trace, params)
