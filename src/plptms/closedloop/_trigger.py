"""Trigger decisions: fire at the target phase of a strong enough rhythm, safely.

:class:`PhaseTrigger` takes multichannel chunks with their timestamps (as an LSL
inlet delivers them), applies the spatial filter, feeds the phase estimator and
returns one :class:`TriggerDecision` per chunk. It fires only when

* the stream is the expected one and alive, with no gap in the window and no
  artefact or non-finite sample in it (otherwise the window is refilled first);
* the estimator's confidence is at least ``min_confidence`` (else "signal too
  poor");
* the rhythm's amplitude is at least the calibrated threshold (a percentile of
  the resting baseline :footcite:`zrenner2020`);
* the estimated phase has just crossed the target (mu trough by default
  :footcite:`zrenner2018`), at least ``min_interpulse_interval_s`` after the last
  pulse :footcite:`shirinpour2020`;
* the :class:`~plptms.closedloop.SafetyGate` allows the pulse.

The stimulator is not called here: a decision says "fire now" with the estimated
phase; the session wires it to the delivery interface.

.. footbibliography::
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from ..utils import check_range, check_type
from ._constants import (
    AMPLITUDE_PERCENTILE,
    MIN_INTERPULSE_INTERVAL_S,
    MU_BAND_HZ,
    MU_TROUGH_RAD,
    SSPE_BACKGROUND_ORDER,
)
from ._errors import SignalQualityError, StreamLostError, StreamMismatchError
from ._estimators import (
    ARPhaseEstimator,
    ETPModel,
    ETPPhaseEstimator,
    PhaseEstimator,
    fit_etp,
)
from ._spectral import MuPeak, individual_peak_frequency
from ._sspe import SSPEModel, SSPEPhaseEstimator, fit_sspe

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike, NDArray

    from ._gate import SafetyGate
    from ._spatial import HjorthFilter

__all__ = [
    "Calibration",
    "PhaseTrigger",
    "StreamSpec",
    "TriggerDecision",
    "TriggerPolicy",
    "TriggerStatus",
    "calibrate",
    "make_estimator",
]

logger = logging.getLogger(__name__)

_TWO_PI = 2.0 * math.pi
_FROZEN = ConfigDict(frozen=True, extra="forbid")


class StreamSpec(BaseModel):
    """What the closed loop expects of the EEG stream.

    Parameters
    ----------
    sfreq_hz : float, Hz
        Nominal sampling rate, in [100, 20000] Hz.
    ch_names : tuple of str
        Channels that must be present (matched case-insensitively).
    sfreq_rel_tolerance : float
        Largest accepted relative difference of the stream's nominal rate, in
        [0, 0.05].

    Notes
    -----
    Use :meth:`check` on the stream's metadata before the first sample.
    """

    model_config = _FROZEN

    sfreq_hz: float
    ch_names: tuple[str, ...]
    sfreq_rel_tolerance: float = 1e-3

    @field_validator("sfreq_hz")
    @classmethod
    def _check_sfreq(cls, v: float) -> float:
        return check_range(v, "sfreq_hz", 100.0, 20000.0, unit="Hz")

    @field_validator("sfreq_rel_tolerance")
    @classmethod
    def _check_tol(cls, v: float) -> float:
        return check_range(v, "sfreq_rel_tolerance", 0.0, 0.05)

    @field_validator("ch_names")
    @classmethod
    def _check_names(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError(
                "Invalid value for 'ch_names': got an empty tuple; allowed: at least "
                "one channel name."
            )
        return v

    def check(self, ch_names: Sequence[str], sfreq_hz: float) -> None:
        """Refuse a stream with missing channels or the wrong sampling rate.

        Parameters
        ----------
        ch_names : sequence of str
            The stream's channel names.
        sfreq_hz : float, Hz
            The stream's nominal sampling rate.

        Raises
        ------
        StreamMismatchError
            Listing every problem found: each missing channel, and the rate
            received against the rate expected.
        """
        problems: list[str] = []
        have = {str(n).strip().upper() for n in ch_names}
        missing = [n for n in self.ch_names if n.strip().upper() not in have]
        if missing:
            problems.append(
                f"missing channels {', '.join(missing)} (the stream has "
                f"{', '.join(str(n) for n in ch_names) or 'none'})"
            )
        sf = float(sfreq_hz)
        tol = self.sfreq_rel_tolerance * self.sfreq_hz
        if not math.isfinite(sf) or abs(sf - self.sfreq_hz) > tol:
            lo, hi = self.sfreq_hz - tol, self.sfreq_hz + tol
            problems.append(
                f"Invalid value for 'sfreq_hz': got {sfreq_hz!r}; allowed range is "
                f"[{lo:g}, {hi:g}] Hz"
            )
        if problems:
            raise StreamMismatchError(
                "The EEG stream does not match the closed-loop setup: "
                + "; ".join(problems)
                + ". No triggers will be issued."
            )


class TriggerPolicy(BaseModel):
    """When to fire.

    Parameters
    ----------
    target_phase_rad : float, rad
        Target phase, cosine convention, in [-2 pi, 2 pi]; default pi, the mu
        trough :footcite:`zrenner2018`.
    phase_tolerance_rad : float, rad
        Fire only if the estimated phase, just past the target, is within this of
        it, in (0, pi/2]. With one decision per sample at 1 kHz a 10 Hz phase
        advances 0.063 rad a sample; the default 0.3 rad allows chunks of ~5 ms.
    min_interpulse_interval_s : float, s
        Shortest interval between triggers, in [0.05, 600] s; default 2 s
        :footcite:`shirinpour2020`.
    amplitude_percentile : float
        Percentile of the baseline amplitude that the amplitude must reach, in
        [0, 100); default 50 :footcite:`zrenner2020`.
    min_confidence : float
        Smallest estimator confidence (share of the window's variance in the band)
        accepted, in [0, 1); below it the signal is "too poor" (design choice).
    max_abs_amplitude : float | None
        A spatially filtered sample beyond this (input unit) is an artefact and
        the window is refilled; ``None`` disables the check.
    lost_after_s : float, s
        No sample for this long means the stream is lost, in (0, 10] s (design
        choice: 100 ms, one mu cycle).
    max_sample_gap_s : float, s
        A gap between consecutive sample timestamps larger than this means dropped
        samples: the window is refilled, in (0, 1] s (design choice: 5 ms). The
        trigger uses at least 1.5 sample periods, so a slow stream (160 Hz: 6.25
        ms per sample) is not read as one gap after another.
    horizon_s : float, s
        Latency compensation: estimate the phase this long after the newest
        sample, in [0, 0.1] s.
    """

    model_config = _FROZEN

    target_phase_rad: float = MU_TROUGH_RAD
    phase_tolerance_rad: float = 0.3
    min_interpulse_interval_s: float = MIN_INTERPULSE_INTERVAL_S
    amplitude_percentile: float = AMPLITUDE_PERCENTILE
    min_confidence: float = 0.05
    max_abs_amplitude: float | None = None
    lost_after_s: float = 0.1
    max_sample_gap_s: float = 0.005
    horizon_s: float = 0.0

    @model_validator(mode="after")
    def _check(self) -> Self:
        check_range(
            self.target_phase_rad, "target_phase_rad", -_TWO_PI, _TWO_PI, unit="rad"
        )
        check_range(
            self.phase_tolerance_rad,
            "phase_tolerance_rad",
            0.0,
            math.pi / 2.0,
            low_inclusive=False,
            unit="rad",
        )
        check_range(
            self.min_interpulse_interval_s,
            "min_interpulse_interval_s",
            0.05,
            600.0,
            unit="s",
        )
        check_range(
            self.amplitude_percentile,
            "amplitude_percentile",
            0.0,
            100.0,
            high_inclusive=False,
        )
        check_range(
            self.min_confidence, "min_confidence", 0.0, 1.0, high_inclusive=False
        )
        if self.max_abs_amplitude is not None:
            check_range(
                self.max_abs_amplitude,
                "max_abs_amplitude",
                0.0,
                None,
                low_inclusive=False,
            )
        check_range(
            self.lost_after_s, "lost_after_s", 0.0, 10.0, low_inclusive=False, unit="s"
        )
        check_range(
            self.max_sample_gap_s,
            "max_sample_gap_s",
            0.0,
            1.0,
            low_inclusive=False,
            unit="s",
        )
        check_range(self.horizon_s, "horizon_s", 0.0, 0.1, unit="s")
        return self


class TriggerStatus(StrEnum):
    """Outcome of one decision."""

    FIRE = "fire"
    WAIT_PHASE = "wait_phase"
    REFRACTORY = "refractory"
    FILLING = "filling"
    LOW_POWER = "low_power"
    POOR_SIGNAL = "poor_signal"
    ARTIFACT = "artifact"
    STREAM_LOST = "stream_lost"
    GATE_REFUSED = "gate_refused"


@dataclass(frozen=True, slots=True)
class TriggerDecision:
    """One decision of the closed loop.

    Attributes
    ----------
    fire : bool
        ``True``: fire a pulse at :attr:`time_s`.
    status : TriggerStatus
        Why (``fire`` or the reason for not firing).
    time_s : float, s
        Newest sample's timestamp plus the horizon: when the pulse should land.
    sample_index : int
        Running index of the newest sample.
    phase_rad : float, rad
        Estimated phase at :attr:`time_s` (``nan`` when not estimated).
    amplitude : float
        Estimated amplitude (input unit; ``nan`` when not estimated).
    confidence : float
        Estimator confidence in [0, 1] (``nan`` when not estimated).
    message : str
        A sentence for the operator ("" when nothing to say).
    """

    fire: bool
    status: TriggerStatus
    time_s: float
    sample_index: int
    phase_rad: float = math.nan
    amplitude: float = math.nan
    confidence: float = math.nan
    message: str = ""


@dataclass(frozen=True, slots=True)
class Calibration:
    """What a resting baseline yields for the closed loop.

    Attributes
    ----------
    peak : MuPeak
        Individual mu peak frequency and its SNR.
    amplitude_threshold : float
        The estimator's amplitude at ``amplitude_percentile`` of the baseline.
    amplitude_percentile : float
        The percentile used.
    method : {"ar", "etp", "sspe"}
        Estimator calibrated.
    etp : ETPModel | None
        The learned ETP model (``None`` unless ``"etp"``).
    sspe : SSPEModel | None
        The fitted state space model (``None`` unless ``"sspe"``).
    """

    peak: MuPeak
    amplitude_threshold: float
    amplitude_percentile: float
    method: Literal["ar", "etp", "sspe"]
    etp: ETPModel | None = None
    sspe: SSPEModel | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the calibration as a JSON-ready dict (see :meth:`from_dict`)."""
        from dataclasses import asdict

        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Calibration:
        """Rebuild a calibration written by :meth:`to_dict`.

        Parameters
        ----------
        values : dict
            As written by :meth:`to_dict` (e.g. read back from JSON).

        Returns
        -------
        calibration : Calibration
            The same calibration.

        Raises
        ------
        ValueError
            If a field is missing, unknown or of the wrong kind.
        """
        try:
            peak = dict(values["peak"])
            peak["band_hz"] = tuple(peak["band_hz"])
            etp = values.get("etp")
            model = None
            if etp is not None:
                etp = dict(etp)
                etp["band_hz"] = tuple(etp["band_hz"])
                model = ETPModel(**etp)
            sspe = values.get("sspe")
            sspe_model = None
            if sspe is not None:
                sspe = dict(sspe)
                for key in ("freqs_hz", "damping", "state_var"):
                    sspe[key] = tuple(float(v) for v in sspe[key])
                sspe_model = SSPEModel(**sspe)
            method = values["method"]
            if method not in ("ar", "etp", "sspe"):
                raise ValueError(
                    f"Invalid value for 'method': got {method!r}; allowed values "
                    "are 'ar', 'etp', 'sspe'."
                )
            threshold = float(values["amplitude_threshold"])
            check_range(threshold, "amplitude_threshold", 0.0, None)
            extra = set(values) - {
                "peak",
                "amplitude_threshold",
                "amplitude_percentile",
                "method",
                "etp",
                "sspe",
            }
            if extra:
                raise ValueError(
                    f"Invalid value for 'calibration': unknown fields "
                    f"{', '.join(sorted(extra))}."
                )
            return cls(
                MuPeak(**peak),
                threshold,
                float(values["amplitude_percentile"]),
                method,
                model,
                sspe_model,
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(
                f"Invalid value for 'calibration': {exc!s} (expected the fields "
                "written by Calibration.to_dict)."
            ) from None


def make_estimator(
    calibration: Calibration, sfreq_hz: float, *, horizon_s: float = 0.0
) -> PhaseEstimator:
    """Build the calibrated estimator.

    Parameters
    ----------
    calibration : Calibration
        From :func:`calibrate`.
    sfreq_hz : float, Hz
        Sampling rate.
    horizon_s : float, s
        Latency compensation, in [0, 0.1] s.

    Returns
    -------
    estimator : PhaseEstimator
        :class:`ARPhaseEstimator` at the individual peak,
        :class:`ETPPhaseEstimator` with the learned model, or
        :class:`~plptms.closedloop._sspe.SSPEPhaseEstimator` with the fitted
        state space model.

    Raises
    ------
    ValueError
        If an ETP or SSPE calibration has no model, or ``horizon_s`` is out of
        range.
    """
    if calibration.method == "sspe":
        if calibration.sspe is None:
            raise ValueError(
                "Invalid value for 'calibration.sspe': got None; allowed: an "
                "SSPEModel for method 'sspe'."
            )
        return SSPEPhaseEstimator(calibration.sspe, horizon_s=horizon_s)
    if calibration.method == "etp":
        if calibration.etp is None:
            raise ValueError(
                "Invalid value for 'calibration.etp': got None; allowed: an ETPModel "
                "for method 'etp'."
            )
        return ETPPhaseEstimator(calibration.etp, horizon_s=horizon_s)
    return ARPhaseEstimator(sfreq_hz, calibration.peak.peak_hz, horizon_s=horizon_s)


def calibrate(
    baseline: ArrayLike,
    sfreq_hz: float,
    *,
    method: Literal["ar", "etp", "sspe"] = "ar",
    policy: TriggerPolicy | None = None,
    band_hz: tuple[float, float] = MU_BAND_HZ,
    min_snr_db: float | None = None,
    stride_s: float = 0.05,
    sspe_background_order: int = SSPE_BACKGROUND_ORDER,
) -> Calibration:
    """Calibrate from a spatially filtered resting baseline.

    Finds the individual mu peak (refusing a signal without one), learns the ETP
    model if asked, and runs the estimator over the baseline every ``stride_s``
    to set the amplitude threshold at the policy's percentile, in the estimator's
    own amplitude unit.

    Parameters
    ----------
    baseline : array-like of float, shape (n_times,)
        Spatially filtered resting EEG, at least 20 s (180 s recommended
        :footcite:`shirinpour2020`).
    sfreq_hz : float, Hz
        Sampling rate.
    method : {"ar", "etp", "sspe"}
        Estimator. ``"sspe"`` fits the state space model
        (:func:`~plptms.closedloop._sspe.fit_sspe`) on the last 5 s of the
        baseline at the individual peak :footcite:`wodeyar2021`, with an AR
        background of order ``sspe_background_order``.
    policy : TriggerPolicy | None
        For the percentile, the target phase and the horizon.
    band_hz : tuple of float, Hz
        Band searched for the peak (8-13 Hz).
    min_snr_db : float | None, dB
        Smallest peak SNR accepted (see
        :func:`~plptms.closedloop.individual_peak_frequency`).
    stride_s : float, s
        Step between amplitude samples of the baseline, in [0.001, 1] s.
    sspe_background_order : int
        ``"sspe"`` only: order of the AR model of the background noise (0: white
        observation noise, the authors' model; default 8, see
        ``SSPE_BACKGROUND_ORDER``; otherwise 2-200).

    Returns
    -------
    calibration : Calibration
        Peak, threshold and (ETP) model.

    Raises
    ------
    SignalQualityError
        If the baseline has no usable mu peak or too few cycles: the signal is
        too poor to estimate the phase.
    ValueError
        If a parameter is out of range.
    """
    pol = TriggerPolicy() if policy is None else policy
    if method not in ("ar", "etp", "sspe"):
        raise ValueError(
            f"Invalid value for 'method': got {method!r}; allowed values are 'ar', "
            "'etp', 'sspe'."
        )
    check_range(stride_s, "stride_s", 0.001, 1.0, unit="s")
    x = np.asarray(baseline, dtype=float)
    if x.ndim != 1 or x.size < 20.0 * sfreq_hz:
        raise ValueError(
            f"Invalid value for 'baseline': got shape {x.shape}; allowed: one "
            "channel of at least 20 s."
        )
    peak = individual_peak_frequency(
        x, sfreq_hz, band_hz=band_hz, min_snr_db=min_snr_db
    )
    etp = None
    if method == "etp":
        etp = fit_etp(
            x,
            sfreq_hz,
            band_hz=band_hz,
            target_phase_rad=pol.target_phase_rad,
            horizon_s=pol.horizon_s,
            tolerance_rad=pol.phase_tolerance_rad,
        )
    sspe = None
    if method == "sspe":
        check_type(sspe_background_order, int, "sspe_background_order")
        if sspe_background_order != 0:
            check_range(sspe_background_order, "sspe_background_order", 2, 200)
        sspe = fit_sspe(
            x, sfreq_hz, peak.peak_hz, background_order=sspe_background_order
        )
    cal = Calibration(peak, math.nan, pol.amplitude_percentile, method, etp, sspe)
    est = make_estimator(cal, sfreq_hz, horizon_s=pol.horizon_s)
    step = max(1, round(stride_s * sfreq_hz))
    amps: list[float] = []
    for start in range(0, x.size, step):
        est.update(x[start : start + step])
        if est.ready:
            a = est.estimate_now().amplitude
            if math.isfinite(a):
                amps.append(a)
    if len(amps) < 10:
        raise SignalQualityError(
            f"Only {len(amps)} amplitude estimates from the baseline; at least 10 "
            "are needed to set the power threshold."
        )
    threshold = float(np.percentile(amps, pol.amplitude_percentile))
    return Calibration(peak, threshold, pol.amplitude_percentile, method, etp, sspe)


class PhaseTrigger:
    """The closed-loop decision object.

    Parameters
    ----------
    spatial : HjorthFilter
        Spatial filter built on the stream's channel names.
    estimator : PhaseEstimator
        Phase estimator at the stream's rate (see :func:`make_estimator`).
    gate : SafetyGate
        Safety gate every pulse must pass.
    amplitude_threshold : float
        Smallest amplitude (estimator's unit) at which to fire.
    policy : TriggerPolicy | None
        Target, tolerances and quality limits. Its ``horizon_s`` must equal the
        estimator's.

    Raises
    ------
    ValueError
        If the horizons differ or the threshold is negative or not finite.

    Notes
    -----
    Call :meth:`check_stream` with the stream's metadata first, then :meth:`push`
    for every chunk and :meth:`check_alive` when no chunk arrived. Each returns a
    :class:`TriggerDecision`; a decision with ``fire=True`` has been committed to
    the gate. The trigger never fires while the window holds a gap, an artefact
    or non-finite samples, while the stream is lost, or without a confident
    phase.
    """

    def __init__(
        self,
        spatial: HjorthFilter,
        estimator: PhaseEstimator,
        gate: SafetyGate,
        amplitude_threshold: float,
        policy: TriggerPolicy | None = None,
    ) -> None:
        self.policy = TriggerPolicy() if policy is None else policy
        check_range(amplitude_threshold, "amplitude_threshold", 0.0, None)
        if abs(estimator.horizon_s - self.policy.horizon_s) > 1e-12:
            raise ValueError(
                f"Invalid value for 'policy.horizon_s': got {self.policy.horizon_s!r} "
                f"s; allowed: the estimator's horizon {estimator.horizon_s!r} s."
            )
        self.spatial = spatial
        self.estimator = estimator
        self.gate = gate
        self.amplitude_threshold = float(amplitude_threshold)
        self.sfreq_hz = float(estimator.sfreq_hz)
        # one missing sample is a gap whatever the policy says (a 5 ms limit is
        # shorter than the sample period of a 160 Hz stream)
        self.gap_limit_s = max(self.policy.max_sample_gap_s, 1.5 / self.sfreq_hz)
        self._last_ts: float | None = None
        self._last_fire: float | None = None
        self._prev_err: float | None = None
        self._lost = False
        self._lost_msg = ""
        self._status: TriggerStatus | None = None
        #: The spatially filtered samples of the last chunk pushed.
        self.last_filtered: NDArray[np.float64] = np.empty(0)

    # --------------------------------------------------------------- stream
    @property
    def spec(self) -> StreamSpec:
        """The stream this trigger needs."""
        return StreamSpec(
            sfreq_hz=self.sfreq_hz, ch_names=self.spatial.required_channels
        )

    def check_stream(self, ch_names: Sequence[str], sfreq_hz: float) -> None:
        """Refuse a stream with missing channels or the wrong sampling rate.

        Parameters
        ----------
        ch_names : sequence of str
            The stream's channel names, in order.
        sfreq_hz : float, Hz
            The stream's nominal sampling rate.

        Raises
        ------
        StreamMismatchError
            If a channel is missing, the order differs from the spatial filter's,
            or the rate is wrong.
        """
        self.spec.check(ch_names, sfreq_hz)
        if tuple(str(n) for n in ch_names) != self.spatial.ch_names:
            raise StreamMismatchError(
                "Invalid value for 'ch_names': the stream's channel order "
                f"({', '.join(ch_names)}) differs from the one the spatial filter "
                f"was built on ({', '.join(self.spatial.ch_names)}). Rebuild the "
                "filter on the stream's channels. No triggers will be issued."
            )

    def _decide(
        self,
        status: TriggerStatus,
        t: float,
        message: str = "",
        est: tuple[float, float, float] = (math.nan, math.nan, math.nan),
    ) -> TriggerDecision:
        if status is not self._status and status in _ANNOUNCED:
            level = logging.WARNING if status in _WARN else logging.INFO
            logger.log(level, "Closed loop: %s", message or status.value)
        self._status = status
        return TriggerDecision(
            fire=status is TriggerStatus.FIRE,
            status=status,
            time_s=t,
            sample_index=self.estimator.n_samples - 1,
            phase_rad=est[0],
            amplitude=est[1],
            confidence=est[2],
            message=message,
        )

    def check_alive(self, now_s: float) -> TriggerDecision:
        """Stop triggering when no sample arrived for ``lost_after_s``.

        Parameters
        ----------
        now_s : float, s
            Current time on the stream's clock (e.g. LSL ``local_clock()``).

        Returns
        -------
        decision : TriggerDecision
            ``stream_lost`` (and the window is emptied) or ``wait_phase``.
        """
        if self._last_ts is None:
            return self._decide(
                TriggerStatus.FILLING, now_s, "Waiting for the first EEG samples."
            )
        silent = now_s - self._last_ts
        if silent > self.policy.lost_after_s:
            self._lose(
                f"No EEG samples for {silent * 1e3:.0f} ms (limit "
                f"{self.policy.lost_after_s * 1e3:.0f} ms): stream lost, triggering "
                "stopped until a full window has been received again."
            )
            return self._decide(TriggerStatus.STREAM_LOST, now_s, self._lost_msg)
        return self._decide(TriggerStatus.WAIT_PHASE, now_s)

    def require_alive(self, now_s: float) -> None:
        """Raise if the stream is lost (for session loops that stop on loss).

        Parameters
        ----------
        now_s : float, s
            Current time on the stream's clock.

        Raises
        ------
        StreamLostError
            If no sample arrived for longer than ``lost_after_s``.
        """
        d = self.check_alive(now_s)
        if d.status is TriggerStatus.STREAM_LOST:
            raise StreamLostError(d.message)

    def _lose(self, message: str) -> None:
        self._lost = True
        self._lost_msg = message
        self.estimator.reset()
        self._prev_err = None

    # --------------------------------------------------------------- decide
    def push(self, samples: ArrayLike, timestamps: ArrayLike) -> TriggerDecision:
        """Feed one chunk and decide whether to fire now.

        Parameters
        ----------
        samples : array-like of float, shape (n_times, n_channels)
            New samples in stream channel order (oldest first).
        timestamps : array-like of float, shape (n_times,), s
            Their timestamps (e.g. LSL's, on the local clock).

        Returns
        -------
        decision : TriggerDecision
            The decision for the newest sample.

        Raises
        ------
        StreamMismatchError
            If the chunk's shape does not match the stream.
        """
        ts = np.asarray(timestamps, dtype=float).ravel()
        sig = self.spatial.apply(samples)
        self.last_filtered = sig
        if sig.size != ts.size:
            raise StreamMismatchError(
                f"Invalid value for 'timestamps': got {ts.size} for {sig.size} "
                "samples; allowed: one timestamp per sample."
            )
        if ts.size == 0:
            return self.check_alive(self._last_ts or 0.0)
        t_now = float(ts[-1]) + self.policy.horizon_s
        prev = self._last_ts
        self._last_ts = float(ts[-1])
        # quality of the new samples: gaps, non-finite values, artefacts
        first_gap = 0.0 if prev is None else float(ts[0]) - prev
        gaps = np.diff(ts) if ts.size > 1 else np.empty(0)
        worst_gap = max(first_gap, float(gaps.max()) if gaps.size else 0.0)
        bad = ~np.isfinite(sig)
        pol = self.policy
        gap_limit = self.gap_limit_s
        if worst_gap > gap_limit or bad.any():
            # keep only what follows the last problem, then refill
            self.estimator.reset()
            self._prev_err = None
            cut = int(np.flatnonzero(bad)[-1]) + 1 if bad.any() else 0
            if gaps.size and float(gaps.max()) > gap_limit:
                cut = max(cut, int(np.flatnonzero(gaps > gap_limit)[-1]) + 1)
            self.estimator.update(sig[cut:])
            what = (
                "non-finite samples"
                if bad.any()
                else f"a gap of {worst_gap * 1e3:.1f} ms between samples"
            )
            self._lost = False
            return self._decide(
                TriggerStatus.POOR_SIGNAL,
                t_now,
                f"The EEG window contains {what}: refilling the window before any "
                "trigger.",
            )
        if pol.max_abs_amplitude is not None:
            over = np.abs(sig) > pol.max_abs_amplitude
            if over.any():
                self.estimator.reset()
                self._prev_err = None
                self.estimator.update(sig[int(np.flatnonzero(over)[-1]) + 1 :])
                return self._decide(
                    TriggerStatus.ARTIFACT,
                    t_now,
                    f"Artefact: |signal| = {float(np.abs(sig).max()):.3g} above the "
                    f"limit {pol.max_abs_amplitude:g}; refilling the window before any "
                    "trigger.",
                )
        self.estimator.update(sig)
        if self._lost:
            if not self.estimator.ready:
                return self._decide(TriggerStatus.STREAM_LOST, t_now, self._lost_msg)
            self._lost = False
            logger.info("Closed loop: stream back, window full again.")
        if not self.estimator.ready:
            return self._decide(TriggerStatus.FILLING, t_now, "Filling the window.")
        if (
            self._last_fire is not None
            and t_now - self._last_fire < pol.min_interpulse_interval_s
        ):
            self._prev_err = None
            return self._decide(TriggerStatus.REFRACTORY, t_now)
        phase, amp, conf = self.estimator.estimate_now()
        est = (phase, amp, conf)
        if not math.isfinite(phase) or conf < pol.min_confidence:
            self._prev_err = None
            return self._decide(
                TriggerStatus.POOR_SIGNAL,
                t_now,
                f"Signal too poor to estimate the phase (confidence {conf:.3f} < "
                f"{pol.min_confidence:g}): not firing.",
                est,
            )
        err = (phase - pol.target_phase_rad + math.pi) % _TWO_PI - math.pi
        prev_err = self._prev_err
        self._prev_err = err
        if amp < self.amplitude_threshold:
            return self._decide(TriggerStatus.LOW_POWER, t_now, "", est)
        crossed = (
            prev_err is not None
            and prev_err < 0.0 <= err
            and err - prev_err < math.pi
            and err <= pol.phase_tolerance_rad
        )
        if not crossed:
            return self._decide(TriggerStatus.WAIT_PHASE, t_now, "", est)
        verdict = self.gate.check(t_now)
        if not verdict.allowed:
            return self._decide(
                TriggerStatus.GATE_REFUSED,
                t_now,
                f"Safety gate ({verdict.rule}): {verdict.message}",
                est,
            )
        self.gate.commit(t_now)
        self._last_fire = t_now
        self._prev_err = None
        return self._decide(
            TriggerStatus.FIRE,
            t_now,
            f"Fire at estimated phase {math.degrees(phase):.0f} deg.",
            est,
        )


_ANNOUNCED = {
    TriggerStatus.STREAM_LOST,
    TriggerStatus.POOR_SIGNAL,
    TriggerStatus.ARTIFACT,
    TriggerStatus.GATE_REFUSED,
}
_WARN = {TriggerStatus.STREAM_LOST, TriggerStatus.GATE_REFUSED, TriggerStatus.ARTIFACT}
