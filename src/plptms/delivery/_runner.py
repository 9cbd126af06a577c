"""The session runner: deliver a checked protocol train by train, pulse by pulse.

Every pulse is logged durably so that a crash never loses or repeats one.

For each pulse the runner writes a ``pulse_intent`` event, fires, then writes a
``pulse`` event, each committed before going on. The intent of the next pulse is
written in the gap after the previous one, before the wait, so that the durable
log never sits between the schedule and the trigger; and a pulse never leaves
sooner than one period after the previous one: when the host falls behind, the
train stretches, it never compresses.

After a crash, an intent without its pulse is settled with the device's own pulse
count when the count is trustworthy (same device, not below what the log already
holds); otherwise the pulse is counted as delivered (never risk giving more than
planned) and the settlement is logged. A resumed session keeps the inter-train
interval across the crash, and a train cut by the crash is delivered as two trains
with the protocol's inter-train interval between them, checked by the safety rules.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from typing import Protocol as TypingProtocol

from pydantic import BaseModel, ConfigDict

from ..protocol import Condition, Pattern
from ..safety import (
    Decision,
    RuleStatus,
    SafetyPolicy,
    check_dose,
)
from ._events import DeliveryLogLostError, EventKind
from ._interface import Stimulator, StimulatorFault, TrainRequest
from ._runner_defaults import RMT_MAX_AGE_DAYS, SCREENING_MAX_AGE_DAYS

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ..protocol import Protocol
    from ..safety import ScreeningReport, Verdict
    from ._events import DeliveryEvent

__all__ = [
    "CheckResult",
    "DeliveryLog",
    "DeliveryLogLostError",
    "PlannedTrain",
    "Progress",
    "RunOutcome",
    "SessionBlockedError",
    "SessionPlan",
    "SessionRunner",
    "build_session_plan",
    "pre_session_checks",
    "replay_events",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class SessionBlockedError(ValueError):
    """A pre-session check failed: the session must not start."""


class PlannedTrain(BaseModel):
    """One train of a session plan."""

    model_config = _FROZEN

    index: int
    block: str
    frequency_hz: float
    n_pulses: int
    intensity_pct_mso: float
    pause_after_s: float


class SessionPlan(BaseModel):
    """The trains of one session, derived from an accepted verdict.

    Attributes
    ----------
    protocol_id : str
        Protocol.
    condition : Condition
        Active or sham (hidden from the display when blinded).
    rmt_pct_mso : float
        The RMT the intensities were computed from.
    intensity_pct_rmt : float
        Intensity, % RMT.
    trains : tuple of PlannedTrain
        In delivery order.
    policy : plptms.safety.SafetyPolicy
        The safety policy the verdict was computed under (the site's); every
        re-check during the session (a train cut by a fault, an intensity change)
        uses it.
    amendment_id : int | None
        The recorded dose amendment the plan was derived with (``None``: the
        dose as assigned).
    """

    model_config = _FROZEN

    protocol_id: str
    block: str
    condition: Condition
    rmt_pct_mso: float
    intensity_pct_rmt: float
    pattern: Pattern
    trains: tuple[PlannedTrain, ...]
    policy: SafetyPolicy = SafetyPolicy()
    amendment_id: int | None = None

    @property
    def total_pulses(self) -> int:
        """Pulses in the session."""
        return sum(t.n_pulses for t in self.trains)


def build_session_plan(
    protocol: Protocol,
    verdict: Verdict,
    rmt_pct_mso: float,
    *,
    block: str | None = None,
    policy: SafetyPolicy | None = None,
) -> SessionPlan:
    """Turn an accepted protocol block into the trains of one session.

    Parameters
    ----------
    protocol : Protocol
        The protocol.
    verdict : Verdict
        Its verdict, computed with this RMT; must be accepted (with a physician's
        review where one is needed).
    rmt_pct_mso : float
        The patient's RMT, % MSO.
    block : str | None
        Block label (the first block when ``None``).
    policy : plptms.safety.SafetyPolicy | None
        The policy the verdict was computed under (the site's); the default
        policy when ``None``. Its name must be the verdict's.

    Returns
    -------
    plan : SessionPlan
        The plan.

    Raises
    ------
    UnsafeProtocolError, SafetyCheckIncompleteError, SafetyReviewRequiredError
        If the verdict is not accepted (a verdict needing review must carry the
        physician's recorded review).
    ValueError
        If the verdict is for another protocol or RMT, or the train structure is
        unreported, or the pattern is not deliverable by the host-timed runner.
    """
    verdict.require_accepted()
    if verdict.protocol_id != protocol.id:
        raise ValueError(
            f"Invalid value for 'verdict': got a verdict of {verdict.protocol_id!r}; "
            f"allowed: the verdict of {protocol.id!r}."
        )
    if verdict.rmt_pct_mso is None or abs(verdict.rmt_pct_mso - rmt_pct_mso) > 1e-9:
        raise ValueError(
            f"Invalid value for 'rmt_pct_mso': got {rmt_pct_mso!r}; the verdict was "
            f"computed with RMT {verdict.rmt_pct_mso!r} % MSO: check again with this "
            "RMT."
        )
    pol = SafetyPolicy() if policy is None else policy
    if verdict.policy_name != pol.name:
        raise ValueError(
            f"Invalid value for 'policy': got {pol.name!r}; the verdict was computed "
            f"under {verdict.policy_name!r}: check again under this policy."
        )
    b = protocol.blocks[0] if block is None else protocol.block(block)
    d = b.dose
    if d.pattern not in (Pattern.RTMS, Pattern.SINGLE_PULSE):
        raise ValueError(
            f"Invalid value for 'pattern': got {d.pattern.value!r}; the host-timed "
            "runner delivers 'rtms' and 'single_pulse' (theta burst needs the "
            "device's own burst timing)."
        )
    missing = [
        n
        for n in (
            "frequency_hz",
            "intensity_pct_rmt",
            "pulses_per_train",
            "trains_per_session",
        )
        if getattr(d, n) is None
    ]
    if d.pattern is Pattern.RTMS and d.inter_train_interval_s is None:
        missing.append("inter_train_interval_s")
    if missing:
        raise ValueError(
            f"Invalid value for {missing[0]!r}: got 'unreported'; a session can only "
            "be delivered when every train parameter is known."
        )
    assert d.frequency_hz is not None
    assert d.intensity_pct_rmt is not None
    assert d.pulses_per_train is not None
    assert d.trains_per_session is not None
    mso = d.intensity_pct_rmt * rmt_pct_mso / 100.0
    if d.pattern is Pattern.SINGLE_PULSE:
        trains = tuple(
            PlannedTrain(
                index=k,
                block=b.label,
                frequency_hz=d.frequency_hz,
                n_pulses=1,
                intensity_pct_mso=mso,
                # single pulses are one-pulse trains one period apart: the
                # runner keeps one period after every pulse, so no pause here
                pause_after_s=0.0,
            )
            for k in range(d.trains_per_session)
        )
    else:
        iti = float(d.inter_train_interval_s or 0.0)
        trains = tuple(
            PlannedTrain(
                index=k,
                block=b.label,
                frequency_hz=d.frequency_hz,
                n_pulses=d.pulses_per_train,
                intensity_pct_mso=mso,
                pause_after_s=iti if k < d.trains_per_session - 1 else 0.0,
            )
            for k in range(d.trains_per_session)
        )
    return SessionPlan(
        protocol_id=protocol.id,
        block=b.label,
        condition=protocol.condition,
        rmt_pct_mso=rmt_pct_mso,
        intensity_pct_rmt=d.intensity_pct_rmt,
        pattern=d.pattern,
        trains=trains,
        policy=pol,
    )


class CheckResult(BaseModel):
    """One pre-session check."""

    model_config = _FROZEN

    check: str
    passed: bool
    message: str


def pre_session_checks(
    *,
    today: dt.date,
    screening: ScreeningReport | None,
    rmt_measured_on: dt.date | None,
    verdict: Verdict | None,
    adverse_events_reviewed: bool,
    rmt_max_age_days: int = RMT_MAX_AGE_DAYS,
    screening_max_age_days: int = SCREENING_MAX_AGE_DAYS,
) -> list[CheckResult]:
    """Check everything that must hold before a session starts.

    Parameters
    ----------
    today : datetime.date
        Session date.
    screening : ScreeningReport | None
        The latest screening.
    rmt_measured_on : datetime.date | None
        When the RMT in use was measured.
    verdict : Verdict | None
        The protocol's verdict for this RMT.
    adverse_events_reviewed : bool
        The operator confirms adverse events since the last session were reviewed.
    rmt_max_age_days, screening_max_age_days : int
        Limits (site settings).

    Returns
    -------
    results : list of CheckResult
        Every check; the session is blocked if any failed.
    """
    out: list[CheckResult] = []
    if screening is None:
        out.append(
            CheckResult(
                check="screening", passed=False, message="no screening recorded"
            )
        )
    else:
        on = screening.screened_on
        age = None if on is None else (today - on).days
        if screening.status.value == "excluded":
            out.append(
                CheckResult(
                    check="screening",
                    passed=False,
                    message="screening excluded the patient: "
                    + "; ".join(screening.reasons),
                )
            )
        elif age is None or age > screening_max_age_days or age < 0:
            out.append(
                CheckResult(
                    check="screening",
                    passed=False,
                    message=f"screening dated {on} is older than "
                    f"{screening_max_age_days} days (or undated): screen again",
                )
            )
        else:
            note = (
                " (relative contraindications were reviewed by a physician)"
                if screening.status.value == "needs_physician_review"
                else ""
            )
            out.append(
                CheckResult(
                    check="screening",
                    passed=True,
                    message=f"screened {age} day(s) ago{note}",
                )
            )
    if rmt_measured_on is None:
        out.append(CheckResult(check="rmt", passed=False, message="no RMT recorded"))
    else:
        age = (today - rmt_measured_on).days
        ok = 0 <= age <= rmt_max_age_days
        out.append(
            CheckResult(
                check="rmt",
                passed=ok,
                message=f"RMT measured {age} day(s) ago"
                + (
                    ""
                    if ok
                    else f"; allowed: at most {rmt_max_age_days} days: measure again"
                ),
            )
        )
    if verdict is None:
        out.append(
            CheckResult(check="verdict", passed=False, message="protocol not checked")
        )
    else:
        # only an accepted verdict starts a session: one needing review must carry
        # the physician's recorded review (it is then accepted)
        ok = verdict.decision is Decision.ACCEPTED
        if verdict.decision is Decision.REVIEW:
            message = (
                f"safety verdict review (policy {verdict.policy_name}): physician "
                "review not recorded for "
                + ", ".join(
                    f"{r.rule_id} [{r.block}] {r.status.value}"
                    for r in verdict.to_review
                )
            )
        elif verdict.review is not None:
            message = (
                f"safety verdict accepted after review by {verdict.review.physician} "
                f"(policy {verdict.policy_name})"
            )
        else:
            message = f"safety verdict {verdict.decision.value}"
        out.append(CheckResult(check="verdict", passed=ok, message=message))
    out.append(
        CheckResult(
            check="adverse_events",
            passed=adverse_events_reviewed,
            message="adverse events since the last session reviewed"
            if adverse_events_reviewed
            else "adverse events since the last session not "
            "reviewed: confirm the review before stimulating",
        )
    )
    return out


class DeliveryLog(TypingProtocol):
    """Where the runner writes its events (durably) and reads them back."""

    def append(self, kind: str, **fields: Any) -> int:
        """Append one event, committed before returning."""

    def events(self) -> Sequence[DeliveryEvent]:
        """Return the events so far, in order."""

    def heartbeat(self) -> None:
        """Tell the log this runner is alive (renews a lease; may be a no-op)."""

    def may_fire(self) -> bool:
        """Whether this runner's hold on the session is certain now (no I/O)."""


class MemoryDeliveryLog:
    """A :class:`DeliveryLog` in memory (simulations, dry runs, benchmarks).

    Nothing survives the process: use :class:`plptms.registry.RegistryDeliveryLog`
    for a real
    session.
    """

    def __init__(self) -> None:
        self._events: list[DeliveryEvent] = []

    def append(self, kind: str, **fields: Any) -> int:
        """Append one event; return its sequence number."""
        from ._events import DeliveryEvent

        seq = len(self._events) + 1
        self._events.append(
            DeliveryEvent(
                seq=seq,
                kind=kind,
                train_index=fields.get("train_index"),
                pulse_index=fields.get("pulse_index"),
                t_monotonic_s=fields.get("t_monotonic_s"),
                at=dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
                intensity_pct_mso=fields.get("intensity_pct_mso"),
                detail=fields.get("detail", ""),
                data=fields.get("data") or {},
            )
        )
        return seq

    def events(self) -> Sequence[DeliveryEvent]:
        """Return the events so far."""
        return list(self._events)

    def heartbeat(self) -> None:
        """Nothing to renew in memory."""

    def may_fire(self) -> bool:
        """Return True: nothing else can hold an in-memory log."""
        return True


def _count(value: int | float | str | None) -> int:
    """Return a pulse count from an event field (0 when absent or not a count)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@dataclass
class DeliveryState:
    """What the log says was delivered.

    Attributes
    ----------
    delivered : dict of int to int
        Pulses delivered per train index.
    uncertain : list of (int, int)
        (train, pulse) issued without a recorded outcome.
    device_count_at_start : int | None
        The device's pulse count when the current run started (its baseline).
    device_id : str | None
        The device that count comes from.
    total_at_baseline : int
        Pulses logged as delivered when that baseline was taken.
    finished : bool
        The session ended normally.
    last_wall : str | None
        Wall-clock time (UTC ISO) of the last pulse recorded as delivered.
    last_train : int | None
        Train of that pulse.
    """

    delivered: dict[int, int] = field(default_factory=dict)
    uncertain: list[tuple[int, int]] = field(default_factory=list)
    device_count_at_start: int | None = None
    device_id: str | None = None
    total_at_baseline: int = 0
    finished: bool = False
    last_wall: str | None = None
    last_train: int | None = None

    @property
    def total(self) -> int:
        """Pulses recorded as delivered."""
        return sum(self.delivered.values())


def replay_events(events: Sequence[DeliveryEvent]) -> DeliveryState:
    """Rebuild the delivery state from the log.

    Parameters
    ----------
    events : sequence of DeliveryEvent
        The session's events in order.

    Returns
    -------
    state : DeliveryState
        Pulses delivered per train, and intents without a recorded pulse.
    """
    st = DeliveryState()
    pending: dict[tuple[int, int], bool] = {}
    for ev in events:
        if ev.kind in (EventKind.SESSION_START, EventKind.RESUME_SESSION):
            # each run records the device's count (and identity) as its baseline
            count = ev.field("device_count")
            st.device_count_at_start = count if isinstance(count, int) else None
            ident = ev.field("device_id")
            st.device_id = None if ident in (None, "none") else str(ident)
            st.total_at_baseline = st.total
        elif ev.kind == EventKind.PULSE_INTENT and ev.train_index is not None:
            pending[(ev.train_index, ev.pulse_index or 0)] = True
        elif ev.kind == EventKind.TRAIN_INTENT and ev.train_index is not None:
            # a device-timed train: every pulse of it is in flight until reported
            n = _count(ev.field("n"))
            first = ev.pulse_index or 0
            for k in range(first, first + n):
                pending[(ev.train_index, k)] = True
        elif (
            ev.kind in (EventKind.PULSE, EventKind.RECONCILED_DELIVERED)
            and ev.train_index is not None
        ):
            key = (ev.train_index, ev.pulse_index or 0)
            pending.pop(key, None)
            st.delivered[ev.train_index] = st.delivered.get(ev.train_index, 0) + 1
            st.last_wall = ev.at
            st.last_train = ev.train_index
        elif (
            ev.kind == EventKind.RECONCILED_NOT_DELIVERED and ev.train_index is not None
        ):
            pending.pop((ev.train_index, ev.pulse_index or 0), None)
        elif (
            ev.kind == EventKind.RECONCILED_NOT_DELIVERED_TRAIN
            and ev.train_index is not None
        ):
            n = _count(ev.field("n"))
            first = ev.pulse_index or 0
            for k in range(first, first + n):
                pending.pop((ev.train_index, k), None)
        elif ev.kind == EventKind.SESSION_END:
            st.finished = True
    st.uncertain = sorted(pending)
    return st


class Progress(BaseModel):
    """What the display shows (never the condition when blinded)."""

    model_config = _FROZEN

    train_index: int
    n_trains: int
    pulses_delivered: int
    pulses_total: int
    intensity_pct_mso: float
    seconds_left: float
    coil_temperature_c: float | None
    state: str


class RunOutcome(BaseModel):
    """How a run ended."""

    model_config = _FROZEN

    status: str
    pulses_delivered: int
    pulses_total: int
    detail: str


class SessionRunner:
    """Deliver a :class:`SessionPlan` on a :class:`Stimulator`.

    Parameters
    ----------
    stimulator : Stimulator
        A connected device.
    plan : SessionPlan
        The checked plan.
    log : DeliveryLog
        Durable event log (resumes from what it already holds).
    progress : callable | None
        Called with a :class:`Progress` after every pulse and pause.
    clock, sleep : callable
        Monotonic clock and sleep (injectable for tests).
    """

    def __init__(
        self,
        stimulator: Stimulator,
        plan: SessionPlan,
        log: DeliveryLog,
        *,
        progress: Callable[[Progress], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.stimulator = stimulator
        self.plan = plan
        self.log = log
        self._progress = progress
        self._clock = clock
        self._sleep = sleep
        self._intensity = plan.trains[0].intensity_pct_mso if plan.trains else 0.0
        self._lock = threading.Lock()
        self._paused = threading.Event()
        self._control_by: str | None = None
        self._stop: str | None = None
        self._coil_temperature_c: float | None = None

    # ---------------------------------------------------------------- controls
    def pause(self, by: str | None = None) -> None:
        """Pause after the current train (the pause is logged).

        Parameters
        ----------
        by : str | None
            Who paused (logged as ``by=<name>`` in the event's detail).
        """
        self._control_by = by
        self._paused.set()

    def resume(self, by: str | None = None) -> None:
        """Resume a paused session.

        Parameters
        ----------
        by : str | None
            Who resumed (logged as ``by=<name>`` in the event's detail).
        """
        self._control_by = by
        self._paused.clear()

    def abort(self) -> None:
        """Stop before the next pulse and end the session as aborted."""
        with self._lock:
            self._stop = EventKind.ABORT
        self.stimulator.request_stop()

    def emergency_stop(self) -> None:
        """Stop at once and disarm (thread-safe)."""
        with self._lock:
            self._stop = EventKind.EMERGENCY_STOP
        self.stimulator.request_stop()
        try:
            self.stimulator.disarm()
        except StimulatorFault:
            pass

    def change_intensity(self, intensity_pct_mso: float) -> None:
        """Lower the intensity for the following trains (e.g. for tolerability).

        The change is re-checked against the safety rules under the plan's
        policy, and it may not exceed the assigned dose: the dose fired is never
        more than the checked, assigned one (an increase needs a new assignment,
        checked again).

        Parameters
        ----------
        intensity_pct_mso : float
            New intensity, % MSO, in (0, the assigned intensity].

        Raises
        ------
        UnsafeProtocolError
            If the new intensity exceeds the assigned dose or breaks a limit
            (nothing changes; the refusal is logged).
        ValueError
            If the intensity is not a positive number.
        """
        from ..safety import RuleResult, UnsafeProtocolError, Verdict
        from ..utils import check_range

        check_range(
            intensity_pct_mso,
            "intensity_pct_mso",
            0.0,
            100.0,
            low_inclusive=False,
            unit="% MSO",
        )
        pct_rmt = intensity_pct_mso * 100.0 / self.plan.rmt_pct_mso
        t = self.plan.trains[0]
        bad = self._failed_rules(
            pct_rmt,
            t.n_pulses if self.plan.pattern is Pattern.RTMS else 1,
            len(self.plan.trains),
            t.pause_after_s if self.plan.pattern is Pattern.RTMS else None,
        )
        assigned = t.intensity_pct_mso
        if intensity_pct_mso > assigned * (1.0 + 1e-9):
            bad.insert(
                0,
                RuleResult(
                    rule_id="assigned_dose",
                    block=self.plan.block,
                    field="intensity_pct_rmt",
                    status=RuleStatus.FAILED,
                    value=pct_rmt,
                    limit=self.plan.intensity_pct_rmt,
                    unit="% RMT",
                    citation="the assigned, checked dose",
                    message=f"'intensity_pct_rmt' = {pct_rmt:.4g} % RMT "
                    f"({intensity_pct_mso:.4g} % MSO) exceeds the assigned dose "
                    f"{self.plan.intensity_pct_rmt:g} % RMT ({assigned:.4g} % MSO); "
                    "allowed: at most the assigned dose (an increase needs a new "
                    "assignment, checked again).",
                ),
            )
        if bad:
            v = Verdict(
                protocol_id=self.plan.protocol_id,
                decision=Decision.REFUSED,
                rules=tuple(bad),
                policy_name=self.plan.policy.name,
                policy=self.plan.policy.describe(),
                rmt_pct_mso=self.plan.rmt_pct_mso,
            )
            self.log.append(
                EventKind.INTENSITY_REFUSED,
                intensity_pct_mso=intensity_pct_mso,
                detail="; ".join(r.message for r in bad),
            )
            raise UnsafeProtocolError(
                "Intensity change refused:\n"
                + "\n".join(f"  - {r.message}" for r in bad),
                v,
            )
        self._intensity = intensity_pct_mso
        self.log.append(EventKind.INTENSITY_CHANGE, intensity_pct_mso=intensity_pct_mso)

    def _failed_rules(
        self,
        intensity_pct_rmt: float,
        pulses_per_train: int,
        trains_per_session: int,
        inter_train_interval_s: float | None,
    ) -> list[Any]:
        """Check a variant of the plan's dose; return the rules it fails.

        Only ``failed`` rules refuse: the plan comes from an accepted verdict (a
        physician reviewed any ``unverified`` or ``review`` rule), so those do not
        stop a train. The check uses the plan's policy (the site's).
        """
        from ..protocol import StimulationDose

        t = self.plan.trains[0]
        dose = StimulationDose(
            pattern=self.plan.pattern,
            target="m1",
            laterality="left",
            frequency_hz=t.frequency_hz,
            intensity_pct_rmt=intensity_pct_rmt,
            pulses_per_train=pulses_per_train,
            trains_per_session=trains_per_session,
            inter_train_interval_s=inter_train_interval_s,
        )
        results = check_dose(
            dose,
            block=self.plan.block,
            rmt_pct_mso=self.plan.rmt_pct_mso,
            policy=self.plan.policy,
        )
        return [r for r in results if r.status is RuleStatus.FAILED]

    # ---------------------------------------------------------------- running
    def _settle(self, st: DeliveryState) -> DeliveryState:
        """Settle pulses issued without a recorded outcome (after a crash or fault).

        The device's pulse count decides only when it can be trusted: the same
        device as this run's baseline, not below the pulses the log already holds
        since then (a reset counter), and not above them by more than the pulses in
        question (pulses the log cannot place). Otherwise every uncertain pulse is
        counted delivered: a pulse is never repeated.
        """
        if not st.uncertain:
            return st
        count = self.stimulator.device_pulse_count()
        ident = self.stimulator.device_id()
        why: str | None = None
        extra = 0
        if count is None:
            why = "device keeps no pulse count"
        elif st.device_count_at_start is None:
            why = "no device count was recorded when the run started"
        elif ident != st.device_id:
            why = f"device {ident} is not the device {st.device_id} the run started on"
        else:
            fired = count - st.device_count_at_start
            logged = st.total - st.total_at_baseline
            extra = fired - logged
            if fired < logged:
                why = (
                    f"device count {count} is below the {logged} pulse(s) logged "
                    f"since its baseline {st.device_count_at_start} (counter reset?)"
                )
            elif extra > len(st.uncertain):
                why = (
                    f"device fired {extra} pulse(s) for {len(st.uncertain)} "
                    "uncertain one(s) (used elsewhere meanwhile?)"
                )
        for k, (ti, pi) in enumerate(st.uncertain):
            data: dict[str, int | str | None] = {}
            if why is None:
                kind = (
                    EventKind.RECONCILED_DELIVERED
                    if k < extra
                    else EventKind.RECONCILED_NOT_DELIVERED
                )
                detail = (
                    f"device_count={count} baseline={st.device_count_at_start} "
                    f"device_id={ident}"
                )
                data = {
                    "device_count": count,
                    "baseline": st.device_count_at_start,
                    "device_id": ident,
                }
            else:
                kind = EventKind.RECONCILED_DELIVERED
                detail = f"{why}: counted as delivered (never repeated)"
            self.log.append(
                kind, train_index=ti, pulse_index=pi, detail=detail, data=data
            )
        return replay_events(self.log.events())

    def _resume_gap(self, st: DeliveryState) -> tuple[float, str]:
        """Return the pause still owed since the last pulse before a resume, s.

        After a whole train, its inter-train interval (counted from the end of the
        train, one period after its last pulse). A train cut by the crash is
        delivered as two trains: the rest waits the protocol's inter-train
        interval, and that two-train structure must pass the safety rules.

        Raises
        ------
        SessionBlockedError
            If the cut train cannot be delivered as two trains safely.
        """
        if st.last_wall is None or st.last_train is None:
            return 0.0, ""
        nxt = next(
            (t for t in self.plan.trains if st.delivered.get(t.index, 0) < t.n_pulses),
            None,
        )
        if nxt is None:
            return 0.0, ""
        done = st.delivered.get(nxt.index, 0)
        last = self.plan.trains[st.last_train]
        period = 1.0 / last.frequency_hz
        if done == 0:
            needed = last.pause_after_s + period
            why = f"inter-train interval after train {last.index + 1}"
        else:
            from ..safety import ITI_SAFE_S

            itis = [t.pause_after_s for t in self.plan.trains if t.pause_after_s > 0]
            multi = self.plan.pattern is Pattern.RTMS and len(self.plan.trains) > 1
            pause = max(itis) if multi and itis else ITI_SAFE_S
            if self.plan.pattern is Pattern.RTMS:
                bad = self._failed_rules(
                    self.plan.intensity_pct_rmt,
                    max(done, nxt.n_pulses - done) if not multi else nxt.n_pulses,
                    max(2, len(self.plan.trains)),
                    pause,
                )
                if bad:
                    raise SessionBlockedError(
                        f"Train {nxt.index + 1} was cut by the interruption after "
                        f"{done} of {nxt.n_pulses} pulses; delivered as two trains "
                        f"with {pause:g} s between them it breaks: "
                        + "; ".join(r.message for r in bad)
                    )
            needed = pause + period
            why = (
                f"train {nxt.index + 1} cut after {done} pulse(s): the rest is a new "
                f"train after {pause:g} s"
            )
        last_at = dt.datetime.fromisoformat(st.last_wall)
        if last_at.tzinfo is None:
            last_at = last_at.replace(tzinfo=dt.UTC)
        # a wall clock set back makes the elapsed time negative: then wait it all
        elapsed = max((dt.datetime.now(dt.UTC) - last_at).total_seconds(), 0.0)
        return max(needed - elapsed, 0.0), why

    def _report(self, ti: int, st_total: int, state: str, left: float) -> None:
        if self._progress is None:
            return
        if state != "stimulating":
            # read the coil temperature between trains only: on a real device each
            # status query is a serial round trip, too slow to make between pulses
            try:
                self._coil_temperature_c = self.stimulator.status().coil_temperature_c
            except StimulatorFault:
                self._coil_temperature_c = None
        temp = self._coil_temperature_c
        self._progress(
            Progress(
                train_index=ti,
                n_trains=len(self.plan.trains),
                pulses_delivered=st_total,
                pulses_total=self.plan.total_pulses,
                intensity_pct_mso=self._intensity,
                seconds_left=left,
                coil_temperature_c=temp,
                state=state,
            )
        )

    def _seconds_left(self, ti: int, done_in_train: int) -> float:
        left = 0.0
        for t in self.plan.trains[ti:]:
            n = t.n_pulses - (done_in_train if t.index == ti else 0)
            left += max(n, 0) / t.frequency_hz + t.pause_after_s
        return left

    def _wait(self, seconds: float, *, train_index: int | None = None) -> bool:
        """Sleep in small steps (renewing the lease); return False when stopped.

        An operator pause pressed during the wait holds it, and is logged.
        """
        end = self._clock() + seconds
        paused = False
        while True:
            if self._stop is not None:
                return False
            self.log.heartbeat()
            if self._paused.is_set() != paused:
                paused = not paused
                by = self._control_by
                self.log.append(
                    EventKind.PAUSE if paused else EventKind.RESUME,
                    train_index=train_index,
                    detail="" if by is None else f"by={by}",
                )
            now = self._clock()
            if now >= end and not paused:
                return True
            self._sleep(min(0.05, max(end - now, 0.001)))

    def _wait_until(self, target: float) -> bool:
        """Wait for ``target`` on the clock, precisely; return False when stopped."""
        while True:
            if self._stop is not None:
                return False
            now = self._clock()
            if now >= target:
                return True
            rest = target - now
            if rest > 0.25:
                # long waits (slow trains) in steps, keeping the lease alive
                self.log.heartbeat()
                self._sleep(0.2)
            else:
                # sleep most of the wait, then the short rest exactly
                self._sleep(rest - 0.001 if rest > 0.002 else rest)

    def _device_timed(self, frequency_hz: float) -> bool:
        """Whether the device must time this train itself (host limit exceeded)."""
        settings = getattr(self.stimulator, "settings", None) or getattr(
            getattr(self.stimulator, "inner", None), "settings", None
        )
        limit = getattr(settings, "host_max_frequency_hz", None)
        return limit is not None and frequency_hz > float(limit)

    def _device_train(self, t: PlannedTrain, done: int) -> int:
        """Deliver the rest of a train with the device's own timing.

        The whole remainder is logged as in flight (``train_intent``) before the
        device starts, and each pulse the device reports is logged after it.
        """
        n = t.n_pulses - done
        self.log.append(
            EventKind.TRAIN_INTENT,
            train_index=t.index,
            pulse_index=done,
            detail=f"n={n} device-timed at {t.frequency_hz:g} Hz",
            data={"n": n},
        )
        res = self.stimulator.run_train(
            TrainRequest(
                frequency_hz=t.frequency_hz,
                n_pulses=n,
                intensity_pct_mso=self._intensity,
            )
        )
        for k, rec in enumerate(res.pulses):
            self.log.append(
                EventKind.PULSE,
                train_index=t.index,
                pulse_index=done + k,
                t_monotonic_s=rec.t_monotonic_s,
                intensity_pct_mso=rec.intensity_pct_mso,
                detail="inferred" if res.pulses_inferred else "",
            )
        unreported = n - len(res.pulses)
        if unreported > 0:
            self.log.append(
                EventKind.RECONCILED_NOT_DELIVERED_TRAIN,
                train_index=t.index,
                pulse_index=done + len(res.pulses),
                detail=f"n={unreported} not delivered: {res.fault or 'stopped'}",
                data={"n": unreported},
            )
        if res.fault is not None:
            res.raise_for_fault()
        return len(res.pulses)

    def _wait_ready(self, timeout_s: float = 30.0) -> None:
        """Wait for the device to finish charging after arming."""
        from ._timing import wait_ready

        wait_ready(
            self.stimulator,
            timeout_s=timeout_s,
            clock=self._clock,
            sleep=self._sleep,
            stopped=lambda: self._stop is not None,
        )

    def _host_train(self, t: PlannedTrain, done: int, total: int) -> tuple[int, float]:
        """Fire the rest of a train pulse by pulse; return (total, last stamp).

        The intent of each pulse is logged before its wait, in the gap after the
        previous pulse; pulse ``k`` is due at ``t0 + k / f`` but never sooner than
        one period after the previous pulse left (its stamp), so a slow log or a
        busy host stretches the train and never compresses it.
        """
        period = 1.0 / t.frequency_hz
        self.log.append(EventKind.PULSE_INTENT, train_index=t.index, pulse_index=done)
        t0 = self._clock()
        last: float | None = None
        for k in range(done, t.n_pulses):
            due = t0 + (k - done) * period
            if last is not None:
                due = max(due, last + period)
            if not self._wait_until(due):
                # armed but never fired: close the intent as not delivered
                self.log.append(
                    EventKind.RECONCILED_NOT_DELIVERED,
                    train_index=t.index,
                    pulse_index=k,
                    detail=f"stopped before the pulse ({self._stop})",
                )
                break
            if not self.log.may_fire():
                # the lease is not certainly ours: renew it (or stop) first
                self.log.heartbeat()
                if not self.log.may_fire():
                    raise DeliveryLogLostError(
                        "the lease could not be renewed in time; stopping without "
                        "firing"
                    )
            rec = self.stimulator.fire()
            last = rec.t_monotonic_s
            self.log.append(
                EventKind.PULSE,
                train_index=t.index,
                pulse_index=k,
                t_monotonic_s=rec.t_monotonic_s,
                intensity_pct_mso=rec.intensity_pct_mso,
            )
            total += 1
            if k + 1 < t.n_pulses:
                self.log.heartbeat()
                self.log.append(
                    EventKind.PULSE_INTENT, train_index=t.index, pulse_index=k + 1
                )
            self._report(
                t.index, total, "stimulating", self._seconds_left(t.index, k + 1)
            )
        return total, self._clock() if last is None else last

    def _start(self) -> DeliveryState:
        """Log the start (or resume) of this run with the device's baseline."""
        events = self.log.events()
        count = self.stimulator.device_pulse_count()
        ident = self.stimulator.device_id()
        base = (
            f"device_count={'none' if count is None else count} "
            f"device_id={ident or 'none'}"
        )
        data: dict[str, int | str | None] = {
            "device_count": count,
            "device_id": ident or None,
        }
        if not any(e.kind == EventKind.SESSION_START for e in events):
            self.log.append(EventKind.SESSION_START, detail=base, data=data)
            return replay_events(self.log.events())
        st = self._settle(replay_events(events))
        # settling fires nothing: the count read above is this run's baseline
        self.log.append(
            EventKind.RESUME_SESSION,
            detail=f"{base} delivered={st.total}",
            data={**data, "delivered": st.total},
        )
        return replay_events(self.log.events())

    def run(self) -> RunOutcome:
        """Deliver the rest of the plan (resuming from the log).

        Returns
        -------
        outcome : RunOutcome
            ``completed``, ``aborted``, ``emergency_stop``, ``faulted`` or
            ``lease_lost`` (another runner took the session over: this one stopped
            without firing again and logged nothing more).

        Raises
        ------
        SessionBlockedError
            If a train cut by an interruption cannot be delivered as two trains
            safely (nothing is fired).
        """
        try:
            return self._run()
        except DeliveryLogLostError as exc:
            self._stop = "lease_lost"
            self.stimulator.request_stop()
            try:
                self.stimulator.disarm()
            except StimulatorFault:
                pass
            try:
                total = replay_events(self.log.events()).total
            except Exception:
                total = -1
            return RunOutcome(
                status="lease_lost",
                pulses_delivered=total,
                pulses_total=self.plan.total_pulses,
                detail=str(exc),
            )

    def _run(self) -> RunOutcome:
        st = self._start()
        total = st.total
        gap, why = self._resume_gap(st)
        try:
            self.stimulator.arm()
            self._wait_ready()
            if gap > 0:
                # the pause owed since the last pulse runs on, whatever the crash
                gap, why = self._resume_gap(st)
                self.log.append(
                    EventKind.RESUME_WAIT, detail=f"seconds={gap:.3f} {why}"
                )
                self._report(st.last_train or 0, total, "pause between trains", gap)
                if gap > 0 and not self._wait(gap):
                    return self._stopped(total)
            for t in self.plan.trains:
                done = st.delivered.get(t.index, 0)
                if done >= t.n_pulses:
                    continue
                if self._paused.is_set():
                    self._report(
                        t.index, total, "paused", self._seconds_left(t.index, done)
                    )
                    if not self._wait(0.0, train_index=t.index):
                        break
                self.stimulator.set_intensity(self._intensity)
                self.log.append(
                    EventKind.TRAIN_START,
                    train_index=t.index,
                    intensity_pct_mso=self._intensity,
                    detail=f"{t.n_pulses - done} pulses at {t.frequency_hz:g} Hz",
                )
                period = 1.0 / t.frequency_hz
                if self._device_timed(t.frequency_hz):
                    total += self._device_train(t, done)
                    self.log.append(EventKind.TRAIN_END, train_index=t.index)
                    last_pulse = self._clock()
                else:
                    total, last_pulse = self._host_train(t, done, total)
                    if self._stop is not None:
                        break
                    self.log.append(EventKind.TRAIN_END, train_index=t.index)
                if t.index + 1 < len(self.plan.trains):
                    if t.pause_after_s > 0:
                        self._report(
                            t.index,
                            total,
                            "pause between trains",
                            self._seconds_left(t.index + 1, 0),
                        )
                    # the pause runs from the end of the train (one period after
                    # its last pulse), as the inter-train interval is defined; with
                    # no pause (single pulses) the next pulse still waits a period
                    gap = t.pause_after_s + period - (self._clock() - last_pulse)
                    if not self._wait(max(gap, 0.0)):
                        break
        except StimulatorFault as exc:
            self._stop = "fault"
            try:
                self.stimulator.disarm()
            except StimulatorFault:
                pass
            self.log.append(EventKind.FAULT, detail=f"{type(exc).__name__}: {exc}")
            # a pulse issued just before the fault may or may not have left the
            # device: settle it now, with the device's count when it keeps one
            try:
                total = self._settle(replay_events(self.log.events())).total
            except StimulatorFault:
                pass
            return RunOutcome(
                status="faulted",
                pulses_delivered=total,
                pulses_total=self.plan.total_pulses,
                detail=f"{type(exc).__name__}: {exc}",
            )
        finally:
            if self._stop is not None:
                try:
                    self.stimulator.disarm()
                except StimulatorFault:
                    pass
        if self._stop in (EventKind.ABORT, EventKind.EMERGENCY_STOP):
            return self._stopped(total)
        try:
            self.stimulator.disarm()
        except StimulatorFault:
            pass
        self.log.append(EventKind.SESSION_END)
        return RunOutcome(
            status="completed",
            pulses_delivered=total,
            pulses_total=self.plan.total_pulses,
            detail="",
        )

    def _stopped(self, total: int) -> RunOutcome:
        """Log and report a stop by the operator."""
        stop = self._stop or EventKind.ABORT
        try:
            self.stimulator.disarm()
        except StimulatorFault:
            pass
        self.log.append(stop)
        return RunOutcome(
            status="aborted" if stop == EventKind.ABORT else "emergency_stop",
            pulses_delivered=total,
            pulses_total=self.plan.total_pulses,
            detail=f"{stop} by the operator",
        )
