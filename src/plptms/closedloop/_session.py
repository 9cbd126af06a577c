"""A closed-loop session: EEG source -> phase trigger -> stimulator, every pulse logged.

:class:`ClosedLoopSession` pulls chunks from an :class:`EEGSource`, feeds the
:class:`~plptms.closedloop.PhaseTrigger` (spatial filter, phase estimator,
power and phase decision, safety gate) and, for each decision that fires, calls
the stimulator through the delivery interface (simulator or real driver). Every
pulse is written to the durable delivery log twice, as in the open-loop runner:
a ``pulse_intent`` and a ``pulse`` after the device confirmed, the latter with
the estimated phase, amplitude, confidence and the measured latency from the
newest sample to the pulse. The intent is written ahead, when the pulse is
armed (at the start, and right after the previous pulse was logged), so that no
disk write stands between a phase decision and its pulse; an armed pulse that
never fires is closed with ``reconciled_not_delivered`` when the session ends,
and after a crash an armed intent without a pulse is reconciled with the
device's pulse count like any other.

It never fires blind: a stream that does not match is refused before the first
sample; a lost stream, a gap, an artefact or a signal too poor to estimate the
phase stop the triggering (the trigger refills its window first), and a stream
silent for longer than ``stop_after_lost_s`` ends the session.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..delivery import EventKind
from ..utils import check_range
from ._trigger import TriggerStatus

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..delivery import DeliveryLog, Stimulator
    from ._biomarkers import SessionBiomarkers
    from ._source import EEGSource
    from ._trigger import PhaseTrigger, TriggerDecision

__all__ = ["ClosedLoopOutcome", "ClosedLoopProgress", "ClosedLoopSession"]

#: Statuses written to the log when the trigger enters them (not every sample).
_LOGGED = {
    TriggerStatus.STREAM_LOST,
    TriggerStatus.POOR_SIGNAL,
    TriggerStatus.ARTIFACT,
    TriggerStatus.GATE_REFUSED,
}
#: A status that comes back is logged again only after this much stream time, s.
_RELOG_S = 5.0


@dataclass(frozen=True, slots=True)
class ClosedLoopProgress:
    """What the live display shows.

    Attributes
    ----------
    elapsed_s : float, s
        Stream time since the first sample.
    status : str
        The trigger's latest status.
    phase_deg : float, deg
        Latest estimated phase (``nan`` when none).
    amplitude : float
        Latest estimated mu amplitude (estimator unit).
    amplitude_threshold : float
        The power gate.
    confidence : float
        Latest estimator confidence.
    pulses : int
        Pulses fired.
    max_pulses : int
        Session limit.
    last_latency_ms : float, ms
        Latency of the last pulse (``nan`` before the first).
    message : str
        The latest operator message.
    """

    elapsed_s: float
    status: str
    phase_deg: float
    amplitude: float
    amplitude_threshold: float
    confidence: float
    pulses: int
    max_pulses: int
    last_latency_ms: float
    message: str


@dataclass
class ClosedLoopOutcome:
    """How a closed-loop session ended and what it delivered.

    Attributes
    ----------
    status : str
        ``completed`` (pulse count or duration reached, or the recording ended),
        ``stream_lost``, ``aborted``, ``emergency_stop`` or ``faulted``.
    detail : str
        Why, in a sentence.
    pulses : int
        Pulses confirmed by the stimulator.
    fire_samples : ndarray of int
        Index, into :attr:`signal`, of the sample at which each pulse landed.
    estimated_phase_rad : ndarray of float, rad
        Estimated phase at each pulse.
    latency_s : ndarray of float, s
        Newest sample's timestamp to the stimulator's confirmation, per pulse.
    compute_s : ndarray of float, s
        Wall time of each decision that estimated a phase.
    status_counts : dict of str to int
        Decisions per trigger status.
    signal : ndarray of float
        The spatially filtered EEG of the whole session (for biomarkers and the
        offline ground truth).
    sfreq_hz : float, Hz
        Its rate.
    biomarkers : SessionBiomarkers | None
        Session biomarkers (``None`` when the session was shorter than 20 s).
    """

    status: str
    detail: str
    pulses: int
    fire_samples: np.ndarray[Any, np.dtype[np.intp]]
    estimated_phase_rad: np.ndarray[Any, np.dtype[np.float64]]
    latency_s: np.ndarray[Any, np.dtype[np.float64]]
    compute_s: np.ndarray[Any, np.dtype[np.float64]]
    status_counts: dict[str, int] = field(default_factory=dict)
    signal: np.ndarray[Any, np.dtype[np.float64]] = field(
        default_factory=lambda: np.empty(0)
    )
    sfreq_hz: float = math.nan
    biomarkers: SessionBiomarkers | None = None


class ClosedLoopSession:
    """Run phase-triggered stimulation from an EEG source.

    Parameters
    ----------
    source : EEGSource
        Where the EEG comes from (:class:`LSLSource`, :class:`ArraySource`).
    trigger : PhaseTrigger
        A fresh, calibrated trigger whose gate holds the checked dose.
    stimulator : Stimulator
        A connected stimulator (simulator or driver).
    intensity_pct_mso : float | None, % MSO
        Intensity, in (0, 100]. ``None`` (the default) fires the gate's checked
        dose (its % RMT times the patient's RMT, computed once in the gate); a
        value given must equal it when the gate knows the RMT (a dry run
        without a patient gives its own).
    log : DeliveryLog
        Durable event log (e.g. :class:`~plptms.registry.RegistryDeliveryLog`).
    max_pulses : int | None
        Stop after this many pulses (default: the gate's session limit).
    max_duration_s : float | None, s
        Stop after this much stream time.
    stop_after_lost_s : float, s
        End the session when no sample arrived for this long, in (0, 600] s.
    progress : callable | None
        Called with a :class:`ClosedLoopProgress` every ``progress_every_s``.
    progress_every_s : float, s
        Interval between progress calls (stream time).
    poll_s : float, s
        Sleep between empty pulls of a live source.
    """

    def __init__(
        self,
        source: EEGSource,
        trigger: PhaseTrigger,
        stimulator: Stimulator,
        intensity_pct_mso: float | None,
        log: DeliveryLog,
        *,
        max_pulses: int | None = None,
        max_duration_s: float | None = None,
        stop_after_lost_s: float = 5.0,
        progress: Callable[[ClosedLoopProgress], None] | None = None,
        progress_every_s: float = 0.1,
        poll_s: float = 0.0005,
    ) -> None:
        self.source = source
        self.trigger = trigger
        self.stimulator = stimulator
        checked = trigger.gate.intensity_pct_mso
        if intensity_pct_mso is None:
            if checked is None:
                raise ValueError(
                    "Invalid value for 'intensity_pct_mso': got None and the gate "
                    "has no RMT; allowed: the gate's checked dose (give the gate "
                    "the patient's RMT) or, for a dry run, an explicit intensity."
                )
            intensity_pct_mso = checked
        elif checked is not None and not math.isclose(
            intensity_pct_mso, checked, rel_tol=1e-9
        ):
            raise ValueError(
                f"Invalid value for 'intensity_pct_mso': got {intensity_pct_mso!r}; "
                f"allowed: the gate's checked dose, {checked!r} % MSO (the "
                "stimulator fires what the gate approved)."
            )
        self.intensity_pct_mso = check_range(
            intensity_pct_mso,
            "intensity_pct_mso",
            0.0,
            100.0,
            low_inclusive=False,
            unit="% MSO",
        )
        self.log = log
        limit = trigger.gate.max_session_pulses
        if max_pulses is None:
            max_pulses = limit
        check_range(max_pulses, "max_pulses", 1, limit)
        self.max_pulses = int(max_pulses)
        if max_duration_s is not None:
            check_range(
                max_duration_s, "max_duration_s", 0.0, None, low_inclusive=False
            )
        self.max_duration_s = max_duration_s
        self.stop_after_lost_s = check_range(
            stop_after_lost_s,
            "stop_after_lost_s",
            0.0,
            600.0,
            low_inclusive=False,
            unit="s",
        )
        self.progress = progress
        self.progress_every_s = float(progress_every_s)
        self.poll_s = float(poll_s)
        self._stop: str | None = None

    # ---------------------------------------------------------------- control
    def abort(self) -> None:
        """Stop after the current decision (no further pulse)."""
        self._stop = self._stop or "aborted"

    def emergency_stop(self) -> None:
        """Stop now and ask the stimulator to stop."""
        self._stop = "emergency_stop"
        self.stimulator.request_stop()

    # ---------------------------------------------------------------- run
    def run(self) -> ClosedLoopOutcome:
        """Check the stream, then stimulate until a limit or a stop.

        Returns
        -------
        outcome : ClosedLoopOutcome
            How it ended, the pulses with their phase and latency, and the
            session biomarkers.

        Raises
        ------
        StreamMismatchError
            If the stream's channels or rate do not match the trigger (nothing
            is logged or fired).
        """
        from ..delivery import StimulatorFault

        src, trig = self.source, self.trigger
        trig.check_stream(src.ch_names, src.sfreq_hz)
        fs = trig.sfreq_hz
        count = self.stimulator.device_pulse_count()
        self.log.append(
            EventKind.SESSION_START,
            detail=(
                f"device_count={'none' if count is None else count} mode=closedloop "
                f"target_deg={math.degrees(trig.policy.target_phase_rad):.0f}"
            ),
        )
        horizon = round(trig.policy.horizon_s * fs)
        chunks: list[np.ndarray[Any, np.dtype[np.float64]]] = []
        n_total = 0
        fire_samples: list[int] = []
        phases: list[float] = []
        latencies: list[float] = []
        compute: list[float] = []
        counts: dict[str, int] = {}
        t_first: float | None = None
        last_sample_t: float | None = None
        next_progress = -math.inf
        last: TriggerDecision | None = None
        last_status: TriggerStatus | None = None
        last_logged: TriggerStatus | None = None
        last_logged_t = -math.inf
        message = ""
        status, detail = "completed", ""
        perf = time.perf_counter
        armed: int | None = None
        in_fire = False
        try:
            self.stimulator.set_intensity(self.intensity_pct_mso)
            self.stimulator.arm()
            self._wait_ready()
            armed = self._arm(0)
            while True:
                if self._stop is not None:
                    status = self._stop
                    detail = f"{self._stop.replace('_', ' ')} by the operator"
                    break
                x, ts = src.pull()
                if x.shape[0] == 0:
                    now = src.now()
                    if src.exhausted:
                        detail = "the recording ended"
                        break
                    d = trig.check_alive(now)
                    if d.status is TriggerStatus.STREAM_LOST:
                        silent = now - (last_sample_t if last_sample_t else now)
                        if d.status is not last_status:
                            self.log.append(
                                EventKind.CLOSEDLOOP_STATUS, detail=d.message
                            )
                            message = d.message
                        last_status = d.status
                        if silent >= self.stop_after_lost_s:
                            status = "stream_lost"
                            detail = (
                                f"No EEG for {silent:.1f} s (limit "
                                f"{self.stop_after_lost_s:g} s): session ended; no "
                                "pulse was fired without a signal."
                            )
                            break
                    if not src.virtual:
                        time.sleep(self.poll_s)
                    continue
                if t_first is None:
                    t_first = float(ts[0])
                last_sample_t = float(ts[-1])
                t0 = perf()
                d = trig.push(x, ts)
                dt = perf() - t0
                chunks.append(trig.last_filtered)
                n_total += x.shape[0]
                counts[d.status.value] = counts.get(d.status.value, 0) + 1
                if math.isfinite(d.phase_rad):
                    compute.append(dt)
                last = d
                if (
                    d.status in _LOGGED
                    and d.status is not last_status
                    and (
                        d.status is not last_logged
                        or last_sample_t - last_logged_t >= _RELOG_S
                    )
                ):
                    # one durable write per change of state, not one per sample
                    self.log.append(EventKind.CLOSEDLOOP_STATUS, detail=d.message)
                    last_logged, last_logged_t = d.status, last_sample_t
                if d.message:
                    message = d.message
                last_status = d.status
                if d.fire:
                    k = len(fire_samples)
                    in_fire = True
                    rec = self.stimulator.fire()
                    in_fire = False
                    armed = None
                    # live: newest sample's LSL timestamp to the confirmation;
                    # virtual time: the wall time from the push to the confirmation
                    latency = perf() - t0 if src.virtual else src.now() - float(ts[-1])
                    self.log.append(
                        EventKind.PULSE,
                        train_index=0,
                        pulse_index=k,
                        t_monotonic_s=rec.t_monotonic_s,
                        intensity_pct_mso=rec.intensity_pct_mso,
                        detail=(
                            f"phase_deg={math.degrees(d.phase_rad):.1f} "
                            f"amplitude={d.amplitude:.4g} "
                            f"confidence={d.confidence:.3f} "
                            f"latency_ms={latency * 1e3:.2f} "
                            f"sample={n_total - 1 + horizon}"
                        ),
                    )
                    fire_samples.append(n_total - 1 + horizon)
                    phases.append(d.phase_rad)
                    latencies.append(latency)
                    if len(fire_samples) >= self.max_pulses:
                        detail = f"{self.max_pulses} pulses delivered"
                        break
                    armed = self._arm(k + 1)
                elapsed = last_sample_t - t_first
                if self.max_duration_s is not None and elapsed >= self.max_duration_s:
                    detail = f"{self.max_duration_s:g} s of EEG"
                    break
                if self.progress is not None and elapsed >= next_progress:
                    next_progress = elapsed + self.progress_every_s
                    self.progress(
                        self._progress(
                            elapsed, last, len(fire_samples), latencies, message
                        )
                    )
        except StimulatorFault as exc:
            status, detail = "faulted", f"{type(exc).__name__}: {exc}"
            self.log.append(EventKind.FAULT, detail=detail)
        finally:
            try:
                self.stimulator.disarm()
            except StimulatorFault:
                pass
        if armed is not None and not in_fire:
            # the armed pulse never went to the device: close its intent
            self.log.append(
                EventKind.RECONCILED_NOT_DELIVERED,
                train_index=0,
                pulse_index=armed,
                detail="armed, not fired: the session ended first",
            )
        if status in ("aborted", "emergency_stop"):
            self.log.append(status)
        elif status == "completed":
            self.log.append(EventKind.SESSION_END, detail=detail)
        else:
            self.log.append(EventKind.SESSION_INTERRUPTED, detail=detail)
        signal = np.concatenate(chunks) if chunks else np.empty(0)
        fires = np.asarray(fire_samples, dtype=np.intp)
        ph = np.asarray(phases, dtype=float)
        outcome = ClosedLoopOutcome(
            status=status,
            detail=detail,
            pulses=len(fire_samples),
            fire_samples=fires,
            estimated_phase_rad=ph,
            latency_s=np.asarray(latencies, dtype=float),
            compute_s=np.asarray(compute, dtype=float),
            status_counts=counts,
            signal=signal,
            sfreq_hz=fs,
        )
        outcome.biomarkers = self._biomarkers(outcome)
        if self.progress is not None:
            self.progress(
                self._progress(
                    (last_sample_t or 0.0) - (t_first or 0.0),
                    last,
                    len(fire_samples),
                    latencies,
                    detail,
                )
            )
        return outcome

    def _arm(self, k: int) -> int:
        """Log the intent of pulse ``k`` before it can fire (off the fast path)."""
        self.log.append(
            EventKind.PULSE_INTENT,
            train_index=0,
            pulse_index=k,
            detail="armed: fires at the next target-phase crossing",
        )
        return k

    def _biomarkers(self, outcome: ClosedLoopOutcome) -> SessionBiomarkers | None:
        from ._biomarkers import session_biomarkers
        from ._constants import MIN_BIOMARKER_S

        x = outcome.signal
        # the longest stretch of finite samples (a dropped channel leaves nans)
        good = np.isfinite(x)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], good.view(np.int8), [0]])))
        if edges.size == 0:
            return None
        runs = edges.reshape(-1, 2)
        start, stop = runs[int(np.argmax(runs[:, 1] - runs[:, 0]))]
        if stop - start < MIN_BIOMARKER_S * outcome.sfreq_hz:
            return None
        fires = outcome.fire_samples
        keep = (fires >= start) & (fires < stop)  # a horizon may land past the end
        est = self.trigger.estimator
        return session_biomarkers(
            x[start:stop],
            outcome.sfreq_hz,
            trigger_samples=fires[keep] - start,
            estimated_phase_rad=outcome.estimated_phase_rad[keep],
            target_phase_rad=self.trigger.policy.target_phase_rad,
            peak_hz=getattr(est, "peak_hz", None),
            derivation=f"{self.trigger.spatial.center} Hjorth",
        )

    def _progress(
        self,
        elapsed: float,
        d: TriggerDecision | None,
        pulses: int,
        latencies: list[float],
        message: str,
    ) -> ClosedLoopProgress:
        nan = math.nan
        return ClosedLoopProgress(
            elapsed_s=elapsed,
            status="waiting" if d is None else d.status.value,
            phase_deg=nan if d is None else math.degrees(d.phase_rad),
            amplitude=nan if d is None else d.amplitude,
            amplitude_threshold=self.trigger.amplitude_threshold,
            confidence=nan if d is None else d.confidence,
            pulses=pulses,
            max_pulses=self.max_pulses,
            last_latency_ms=latencies[-1] * 1e3 if latencies else nan,
            message=message,
        )

    def _wait_ready(self, timeout_s: float = 30.0) -> None:
        from ..delivery import wait_ready

        wait_ready(
            self.stimulator,
            timeout_s=timeout_s,
            poll_s=0.01,
            stopped=lambda: self._stop is not None,
        )
