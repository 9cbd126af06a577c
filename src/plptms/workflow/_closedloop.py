"""Prepare and run a closed-loop (EEG phase-triggered) session: the assigned dose.

A closed-loop session delivers the assigned protocol, like an open-loop one: the
same pre-session checks (:func:`plptms.workflow.prepare_start`), the plan derived
from the assignment with the amendment in force, the patient's stored RMT. What
the EEG decides is only *when* each pulse goes; the safety gate
(:class:`plptms.closedloop.SafetyGate`) is built from the checked dose and holds
every pulse to its rate, trains, pauses and session total, and the % MSO fired is
the gate's, which is the plan's (computed once, from the checked dose's % RMT and
the stored RMT). The trigger rule is the dose's: at least one period of the
assigned rate between pulses, at the mu trough; a different rule is a recorded
amendment (:func:`plptms.workflow.amend_dose`), which may not fire faster.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._sites import site_today

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, Mapping

    from ..closedloop import (
        Calibration,
        ClosedLoopOutcome,
        ClosedLoopProgress,
        ClosedLoopSession,
        EEGSource,
        PhaseTrigger,
        SafetyGate,
        TriggerPolicy,
    )
    from ..delivery import CheckResult, SessionPlan, Stimulator
    from ..protocol import ClosedLoopRule, StimulationDose
    from ..registry import Registry

__all__ = [
    "CLOSEDLOOP_STATUS",
    "PreparedClosedLoop",
    "prepare_closedloop",
    "run_closedloop",
]

#: How a closed-loop outcome is stored (the delivery session's status); the same
#: statuses as an open-loop session, so a stop is treated alike (a physician's
#: reasoned restart after an emergency stop).
CLOSEDLOOP_STATUS: dict[str, str] = {
    "completed": "completed",
    "stream_lost": "interrupted",
    "aborted": "aborted",
    "emergency_stop": "emergency_stop",
    "faulted": "faulted",
}


@dataclass(frozen=True)
class PreparedClosedLoop:
    """A closed-loop session cleared to run.

    Attributes
    ----------
    session_id : int
        Delivery session (opened).
    plan : plptms.delivery.SessionPlan
        The checked plan: the assigned (or amended) dose at the stored RMT.
    dose : plptms.protocol.StimulationDose
        The block's per-session dose the gate holds every pulse to.
    trigger : plptms.closedloop.PhaseTrigger
        The calibrated trigger, its gate built from ``dose``.
    checks : list of CheckResult
        The pre-session checks, all passed.
    device : str
        Stimulator kind.
    dry_run : bool
        A recording replayed in virtual time.
    """

    session_id: int
    plan: SessionPlan
    dose: StimulationDose
    trigger: PhaseTrigger
    checks: list[CheckResult]
    device: str
    dry_run: bool

    @property
    def gate(self) -> SafetyGate:
        """The safety gate."""
        return self.trigger.gate

    @property
    def policy(self) -> TriggerPolicy:
        """The trigger rule."""
        return self.trigger.policy

    @property
    def intensity_pct_mso(self) -> float:
        """The % MSO fired: the gate's checked dose, equal to the plan's."""
        value = self.gate.intensity_pct_mso
        assert value is not None  # the gate is built with the stored RMT
        return value

    @property
    def max_pulses(self) -> int:
        """Pulses in the session (the plan's total)."""
        return self.plan.total_pulses


def _calibration(doc: Mapping[str, Any]) -> tuple[Calibration, str, list[str] | None]:
    from ..closedloop import Calibration

    try:
        cal = Calibration.from_dict(dict(doc["calibration"]))
        center = str(doc["center"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(
            f"Invalid value for 'calibration': {exc}; allowed: the document "
            "`plptms closedloop calibrate` writes."
        ) from None
    neighbours = doc.get("neighbours")
    return cal, center, None if neighbours is None else [str(n) for n in neighbours]


def _trigger_policy(
    dose: StimulationDose, cal: Calibration, rule: ClosedLoopRule | None
) -> TriggerPolicy:
    """Return the dose's trigger rule, or the amendment's (never faster)."""
    from ..closedloop import TriggerPolicy

    assert dose.frequency_hz is not None  # a checked plan knows its rate
    fields: dict[str, Any] = {
        "min_interpulse_interval_s": max(1.0 / dose.frequency_hz, 0.05),
        "amplitude_percentile": cal.amplitude_percentile,
    }
    if rule is not None:
        if rule.target_phase_deg is not None:
            fields["target_phase_rad"] = math.radians(rule.target_phase_deg)
        if rule.min_interpulse_interval_s is not None:
            fields["min_interpulse_interval_s"] = rule.min_interpulse_interval_s
    return TriggerPolicy(**fields)


def prepare_closedloop(
    reg: Registry,
    site: str,
    code: str,
    protocol_id: str,
    number: int,
    *,
    source: EEGSource,
    calibration: Mapping[str, Any],
    device: str,
    actor: str,
    ae_reviewed: bool,
    stream: str | None = None,
    dry_run: bool = False,
    today: dt.date | None = None,
) -> PreparedClosedLoop:
    """Check everything, build the gate from the checked dose, open the session.

    Nothing is stored when a check fails or the EEG stream does not fit the
    calibration.

    Parameters
    ----------
    reg : Registry
        The registry.
    site, code : str
        The patient.
    protocol_id : str
        The assigned protocol.
    number : int
        Session number in the course, from 1.
    source : plptms.closedloop.EEGSource
        The EEG (its channels and rate are checked against the calibration).
    calibration : mapping
        The document ``plptms closedloop calibrate`` wrote (calibration,
        Hjorth centre and neighbours).
    device : str
        Stimulator kind.
    actor : str
        The operator.
    ae_reviewed : bool
        The operator confirms adverse events since the last session were reviewed.
    stream : str | None
        The stream's name (stored with the plan).
    dry_run : bool
        A recording replayed in virtual time (stored with the plan).
    today : datetime.date | None
        Session date (today when ``None``).

    Returns
    -------
    prepared : PreparedClosedLoop
        The session, opened.

    Raises
    ------
    SessionRefusedError
        If a pre-session check failed.
    plptms.closedloop.StreamMismatchError
        If the stream lacks the calibration's channels or rate.
    ValueError
        On a bad input (device, calibration, a pattern the gate cannot hold).
    """
    from ..closedloop import HjorthFilter, PhaseTrigger, SafetyGate, make_estimator
    from ..delivery import STIMULATOR_KINDS
    from ..utils import check_option
    from ._delivery import _check_device, _checked_plan

    check_option(device, "device", STIMULATOR_KINDS)
    cal, center, neighbours = _calibration(calibration)
    checked = _checked_plan(
        reg,
        site,
        code,
        protocol_id,
        number,
        ae_reviewed=ae_reviewed,
        today=today or site_today(reg, site),
    )
    plan = checked.plan
    _check_device(device, plan.condition.value == "sham")
    dose = checked.protocol.block(plan.block).dose
    gate = SafetyGate(
        dose,
        rmt_pct_mso=plan.rmt_pct_mso,
        policy=plan.policy,
        review=checked.verdict.review,
    )
    planned = {t.intensity_pct_mso for t in plan.trains}
    if planned != {gate.intensity_pct_mso}:
        raise RuntimeError(  # one computation feeds both; a mismatch is a bug
            f"The gate's dose ({gate.intensity_pct_mso} % MSO) differs from the "
            f"plan's ({sorted(planned)}): nothing was started."
        )
    # the amendment the checks applied, not a second read that could differ
    amendment = checked.amendment
    rule = None if amendment is None else amendment.amendment.closed_loop
    policy = _trigger_policy(dose, cal, rule)
    sfreq = float(source.sfreq_hz)
    trigger = PhaseTrigger(
        HjorthFilter(list(source.ch_names), center, neighbours),
        make_estimator(cal, sfreq, horizon_s=policy.horizon_s),
        gate,
        cal.amplitude_threshold,
        policy,
    )
    trigger.check_stream(source.ch_names, sfreq)
    sid = reg.start_delivery(
        checked.assignment_id,
        number,
        device=device,
        plan={
            "mode": "closedloop",
            "session_plan": plan.model_dump(mode="json"),
            "dose": dose.model_dump(mode="json"),
            "intensity_pct_mso": gate.intensity_pct_mso,
            "trigger": policy.model_dump(mode="json"),
            "calibration": dict(calibration),
            "stream": stream,
            "dry_run": dry_run,
        },
        blinded=False,
        actor=actor,
    )
    return PreparedClosedLoop(
        session_id=sid,
        plan=plan,
        dose=dose,
        trigger=trigger,
        checks=checked.checks,
        device=device,
        dry_run=dry_run,
    )


def run_closedloop(
    reg: Registry,
    prepared: PreparedClosedLoop,
    source: EEGSource,
    stimulator: Stimulator,
    *,
    actor: str,
    max_duration_s: float | None = None,
    progress: Callable[[ClosedLoopProgress], None] | None = None,
    controls: Callable[[ClosedLoopSession], contextlib.AbstractContextManager[Any]]
    | None = None,
    ttl_s: float | None = None,
) -> ClosedLoopOutcome:
    """Run a prepared closed-loop session under a lease and store its outcome.

    Parameters
    ----------
    reg : Registry
        The registry.
    prepared : PreparedClosedLoop
        From :func:`prepare_closedloop`.
    source : plptms.closedloop.EEGSource
        The EEG (the one it was prepared with); closed when the run ends.
    stimulator : plptms.delivery.Stimulator
        The device (not yet connected).
    actor : str
        The operator.
    max_duration_s : float | None, s
        Stop after this much stream time.
    progress : callable | None
        Progress callback.
    controls : callable | None
        Called with the session; returns a context manager entered while it runs
        (e.g. Ctrl-C as an emergency stop).
    ttl_s : float | None
        Lease lifetime (:func:`plptms.workflow.lease_ttl_s` when ``None``).

    Returns
    -------
    outcome : plptms.closedloop.ClosedLoopOutcome
        How it ended, with the session's biomarkers (stored too). It is stored
        as :data:`CLOSEDLOOP_STATUS` says, except that a session whose EEG or
        time ran out before every planned pulse was given is ``interrupted``.
    """
    from ..closedloop import ClosedLoopSession
    from ..registry import RegistryDeliveryLog
    from ._delivery import _connected, _holder, lease_ttl_s

    ttl = lease_ttl_s() if ttl_s is None else ttl_s
    holder = _holder()
    sid = prepared.session_id
    since = time.monotonic()
    reg.acquire_lease(sid, holder=holder, ttl_s=ttl, actor=actor)
    try:
        log = RegistryDeliveryLog(
            reg, sid, lease=holder, lease_ttl_s=ttl, lease_since=since
        )
        session = ClosedLoopSession(
            source,
            prepared.trigger,
            stimulator,
            prepared.intensity_pct_mso,
            log,
            max_pulses=prepared.max_pulses,
            max_duration_s=max_duration_s,
            progress=progress,
        )
        try:
            with contextlib.ExitStack() as stack:
                if controls is not None:
                    stack.enter_context(controls(session))
                stack.enter_context(_connected(stimulator))
                out = session.run()
        finally:
            source.close()
        what = "closed loop" + (" (dry run)" if prepared.dry_run else "")
        status = CLOSEDLOOP_STATUS[out.status]
        if status == "completed" and out.pulses < prepared.max_pulses:
            status = "interrupted"  # the EEG or the time ran out first
        reg.finish_delivery(
            sid,
            status,
            actor=actor,
            detail=f"{what}, {out.pulses} of {prepared.max_pulses} pulses at "
            f"{prepared.intensity_pct_mso:.1f} % MSO at the target phase: "
            f"{out.detail}",
        )
        if out.biomarkers is not None:
            site, code, _ = reg.delivery_patient(sid)
            reg.record_biomarkers(
                site,
                code,
                out.biomarkers.to_dict(),
                source="closedloop",
                delivery_session_id=sid,
                actor=actor,
            )
        return out
    finally:
        reg.release_lease(sid, holder=holder)
