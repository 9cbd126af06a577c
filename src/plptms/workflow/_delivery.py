"""Start, resume and run a delivery session: one path for every shell.

A resume is as strict as a start: every pre-session check runs again against
the current registry (screening, RMT and its age, the safety verdict recomputed
now, adverse-event review), the plan is derived again from the assignment and
must equal the session's plan, a session ended by an emergency stop or an abort
needs a physician's reasoned restart, and only one runner holds a session at a
time (a lease with a heartbeat; a stale lease is taken over only after it
expires, with an audit entry).
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from ..delivery import (
    CheckResult,
    RunOutcome,
    SessionBlockedError,
    SessionPlan,
    SessionRunner,
    build_session_plan,
    pre_session_checks,
)
from ..registry import RegistryDeliveryLog
from ._sites import site_today

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, Iterator

    from ..delivery import Progress, Stimulator
    from ..protocol import Protocol
    from ..registry import AmendmentOut, Registry
    from ..safety import Verdict

__all__ = [
    "RESUMABLE_STATUSES",
    "PreparedSession",
    "SessionRefusedError",
    "lease_ttl_s",
    "prepare_resume",
    "prepare_start",
    "run_delivery",
]

#: Statuses from which a session may be resumed (``running``: its runner died;
#: ``restart_approved``: a physician recorded why a stopped session may go on).
RESUMABLE_STATUSES: tuple[str, ...] = (
    "running",
    "interrupted",
    "faulted",
    "lease_lost",
    "restart_approved",
)

#: Default lease lifetime, s: a runner renews it every quarter of this; a dead
#: runner's session can be resumed this long after its last heartbeat. [design]
DEFAULT_LEASE_TTL_S = 20.0

#: Environment variable overriding :data:`DEFAULT_LEASE_TTL_S` (tests, benchmarks).
LEASE_TTL_ENV = "PLPTMS_LEASE_TTL_S"


class SessionRefusedError(ValueError):
    """The session must not start or resume; ``checks`` says why.

    Parameters
    ----------
    message : str
        One line for the operator.
    checks : list of CheckResult
        The pre-session checks (empty when refused before them).
    """

    def __init__(self, message: str, checks: list[CheckResult] | None = None) -> None:
        super().__init__(message)
        self.checks = list(checks or [])


@dataclass(frozen=True)
class PreparedSession:
    """A session cleared to run.

    Attributes
    ----------
    session_id : int
        Delivery session.
    plan : SessionPlan
        The checked plan, derived from the assignment now.
    device : str
        Stimulator kind.
    blinded : bool
        Hide the condition from the display.
    checks : list of CheckResult
        The pre-session checks, all passed.
    resumed : bool
        Whether this resumes an interrupted session.
    """

    session_id: int
    plan: SessionPlan
    device: str
    blinded: bool
    checks: list[CheckResult]
    resumed: bool


def lease_ttl_s() -> float:
    """Return the lease lifetime, s (``$PLPTMS_LEASE_TTL_S`` or the default)."""
    raw = os.environ.get(LEASE_TTL_ENV)
    if not raw:
        return DEFAULT_LEASE_TTL_S
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 0.5 <= value <= 3600:
        raise ValueError(
            f"Invalid value for '{LEASE_TTL_ENV}': got {raw!r}; allowed range is "
            "[0.5, 3600] s."
        )
    return value


def _check_device(device: str, sham: bool) -> None:
    from ..delivery import STIMULATOR_KINDS
    from ..utils import check_option

    check_option(device, "device", STIMULATOR_KINDS)
    if sham and device != "sim":
        raise ValueError(
            f"Invalid value for 'device': got {device!r}; sham sessions on a real "
            "device need its sham coil, which plptms cannot confirm yet: use the "
            "simulator or deliver sham by hand."
        )


class _Checked(NamedTuple):
    """What the pre-session checks cleared: the plan and what it came from."""

    assignment_id: int
    plan: SessionPlan
    checks: list[CheckResult]
    protocol: Protocol  # as assigned, with the amendment in force applied
    verdict: Verdict
    amendment: AmendmentOut | None  # the amendment applied, the one the plan names


def _checked_plan(
    reg: Registry,
    site: str,
    code: str,
    protocol_id: str,
    number: int,
    *,
    ae_reviewed: bool,
    today: dt.date,
    block: str | None = None,
    session_id: int | None = None,
) -> _Checked:
    """Run every pre-session check now; derive the plan from the assignment.

    The dose is the assignment's, with the amendment in force for session
    ``number`` applied (checked again here like the assigned dose).
    """
    from ._adverse import adverse_event_check
    from ._amend import amended_protocol
    from ._safety import verdict_for_assignment

    aid, assigned = reg.find_assignment(site, code, protocol_id)
    proto, amendment = amended_protocol(reg, aid, assigned, number)
    rmt = reg.latest_rmt(site, code)
    screening = reg.latest_screening(site, code)
    policy = reg.site_policy(site)  # read once: the verdict and the plan share it
    verdict = (
        None
        if rmt is None
        else verdict_for_assignment(reg, site, aid, proto, rmt[0], policy=policy)
    )
    # the adverse-event check reads the registry's events and their reviews
    ae = adverse_event_check(
        reg, site, code, operator_confirmed=ae_reviewed, today=today
    )
    checks = [
        ae if c.check == ae.check else c
        for c in pre_session_checks(
            today=today,
            screening=screening,
            rmt_measured_on=None if rmt is None else rmt[1],
            verdict=verdict,
            adverse_events_reviewed=ae.passed,
        )
    ]
    refs = reg.session_record_refs(site, code, aid)
    if amendment is not None:
        refs.append(("dose_amendments", amendment.id))
    if session_id is not None:
        refs.append(("delivery_sessions", session_id))
    checks.append(_audit_check(reg, refs))
    if not all(c.passed for c in checks):
        failed = "; ".join(f"{c.check}: {c.message}" for c in checks if not c.passed)
        raise SessionRefusedError(f"Session blocked: {failed}", checks)
    assert rmt is not None
    assert verdict is not None
    plan = build_session_plan(proto, verdict, rmt[0], block=block, policy=policy)
    if amendment is not None:
        plan = plan.model_copy(update={"amendment_id": amendment.id})
    return _Checked(aid, plan, checks, proto, verdict, amendment)


def _audit_check(reg: Registry, refs: list[tuple[str, int]]) -> CheckResult:
    """Verify the audit of every record the session relies on."""
    verify = getattr(reg, "verify_records", None)
    if verify is None:
        return CheckResult(
            check="audit", passed=True, message="record audit not available"
        )
    report = verify(refs)
    if report.ok:
        return CheckResult(
            check="audit",
            passed=True,
            message=f"{len(refs)} record(s) match their audit trail",
        )
    return CheckResult(
        check="audit",
        passed=False,
        message="records do not match their audit trail: " + "; ".join(report.problems),
    )


def prepare_start(
    reg: Registry,
    site: str,
    code: str,
    protocol_id: str,
    number: int,
    *,
    device: str,
    actor: str,
    ae_reviewed: bool,
    blinded: bool = False,
    today: dt.date | None = None,
) -> PreparedSession:
    """Check everything, then open a delivery session (nothing stored on refusal).

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
    device : str
        Stimulator kind.
    actor : str
        The operator.
    ae_reviewed : bool
        The operator confirms adverse events since the last session were reviewed.
    blinded : bool
        Hide the condition from the display.
    today : datetime.date | None
        Session date (today when ``None``).

    Returns
    -------
    prepared : PreparedSession
        The session, opened.

    Raises
    ------
    SessionRefusedError
        If a check failed (its ``checks`` say which).
    ValueError
        If an input is invalid.
    """
    from ..delivery import STIMULATOR_KINDS
    from ..utils import check_option

    check_option(device, "device", STIMULATOR_KINDS)
    aid, plan, checks, _, _, _ = _checked_plan(
        reg,
        site,
        code,
        protocol_id,
        number,
        ae_reviewed=ae_reviewed,
        today=today or site_today(reg, site),
    )
    _check_device(device, plan.condition.value == "sham")
    sid = reg.start_delivery(
        aid,
        number,
        device=device,
        plan=plan.model_dump(mode="json"),
        blinded=blinded,
        actor=actor,
    )
    return PreparedSession(sid, plan, device, blinded, checks, resumed=False)


def prepare_resume(
    reg: Registry,
    session_id: int,
    *,
    device: str,
    ae_reviewed: bool,
    today: dt.date | None = None,
) -> PreparedSession:
    """Check that an interrupted session may go on, as strictly as a start.

    Parameters
    ----------
    reg : Registry
        The registry.
    session_id : int
        Delivery session.
    device : str
        Stimulator kind; must be the kind the session started on.
    ae_reviewed : bool
        The operator confirms adverse events were reviewed.
    today : datetime.date | None
        Date (today when ``None``).

    Returns
    -------
    prepared : PreparedSession
        The session, cleared to resume (nothing is stored here).

    Raises
    ------
    SessionRefusedError
        If the session may not resume (status, a failed check, or a plan that
        differs from the one derived now).
    """
    d = reg.get_delivery(session_id)
    if d.status == "completed":
        raise ValueError(
            f"Invalid value for 'session_id': got {session_id}; it is already "
            "completed."
        )
    if isinstance(d.plan, dict) and d.plan.get("mode") == "closedloop":
        raise SessionRefusedError(
            f"Session {session_id} is a closed-loop session: its pulses follow the "
            "EEG of that sitting and it is not resumed; start a new closed-loop "
            "session (plptms closedloop run)."
        )
    if d.status in ("emergency_stop", "aborted"):
        raise SessionRefusedError(
            f"Session {session_id} ended by {d.status.replace('_', ' ')}: it resumes "
            "only after a physician records a reasoned restart (plptms session "
            f"authorise-restart {session_id} --physician NAME --reason TEXT)."
        )
    if d.status not in RESUMABLE_STATUSES:
        raise ValueError(
            f"Invalid value for 'session_id': got {session_id} with status "
            f"{d.status!r}; allowed: {', '.join(RESUMABLE_STATUSES)}."
        )
    if device != d.device:
        raise ValueError(
            f"Invalid value for 'device': got {device!r}; session {session_id} "
            f"started on {d.device!r}, and % MSO is specific to a stimulator: "
            f"resume it on {d.device!r}."
        )
    site, code, protocol_id = reg.delivery_patient(session_id)
    block = d.plan.get("block") if isinstance(d.plan, dict) else None
    aid, plan, checks, _, _, _ = _checked_plan(
        reg,
        site,
        code,
        protocol_id,
        d.number,
        ae_reviewed=ae_reviewed,
        today=today or site_today(reg, site),
        block=block if isinstance(block, str) else None,
        session_id=session_id,
    )
    if aid != d.assignment_id:
        raise SessionRefusedError(
            f"Session {session_id} belongs to assignment {d.assignment_id}, but the "
            f"current assignment of {protocol_id!r} is {aid}: start a new session."
        )
    try:
        stored = SessionPlan.model_validate(d.plan)
    except ValueError:
        stored = None
    if stored != plan:
        raise SessionRefusedError(
            f"Session {session_id}'s stored plan differs from the plan derived now "
            "from its assignment and the current RMT (the RMT or protocol changed, "
            "or the stored plan was altered): this session cannot resume; start a "
            "new one.",
            checks,
        )
    _check_device(device, plan.condition.value == "sham")
    return PreparedSession(session_id, plan, device, d.blinded, checks, resumed=True)


def _holder() -> str:
    return f"{socket.gethostname()[:64]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def run_delivery(
    reg: Registry,
    prepared: PreparedSession,
    stimulator: Stimulator,
    *,
    actor: str,
    progress: Callable[[Progress], None] | None = None,
    controls: Callable[[SessionRunner], contextlib.AbstractContextManager[Any]]
    | None = None,
    ttl_s: float | None = None,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> RunOutcome:
    """Run a prepared session under a lease and store how it ended.

    Parameters
    ----------
    reg : Registry
        The registry.
    prepared : PreparedSession
        From :func:`prepare_start` or :func:`prepare_resume`.
    stimulator : Stimulator
        The device (not yet connected).
    actor : str
        The operator.
    progress : callable | None
        Progress callback.
    controls : callable | None
        Called with the runner; returns a context manager entered while the
        session runs (keyboard, signal handlers).
    ttl_s : float | None
        Lease lifetime (:func:`lease_ttl_s` when ``None``).
    clock, sleep : callable | None
        The runner's clock and sleep (real time when ``None``; a
        :class:`~plptms.delivery.VirtualClock` for simulations and the demo).

    Returns
    -------
    outcome : RunOutcome
        How the run ended.

    Raises
    ------
    SessionLeasedError
        If another runner holds the session (nothing is delivered or stored).
    SessionBlockedError
        If a train cut by an interruption cannot be delivered as two trains
        safely (nothing is fired; the session is stored as interrupted).
    """
    from ..delivery import StimulatorFault

    ttl = lease_ttl_s() if ttl_s is None else ttl_s
    holder = _holder()
    sid = prepared.session_id
    since = time.monotonic()
    reg.acquire_lease(sid, holder=holder, ttl_s=ttl, actor=actor)
    try:
        if prepared.resumed:
            reg.finish_delivery(sid, "running", actor=actor, detail="resumed")
        log = RegistryDeliveryLog(
            reg, sid, lease=holder, lease_ttl_s=ttl, lease_since=since
        )
        runner = SessionRunner(
            stimulator,
            prepared.plan,
            log,
            progress=progress,
            clock=time.monotonic if clock is None else clock,
            sleep=time.sleep if sleep is None else sleep,
        )
        try:
            with contextlib.ExitStack() as stack:
                if controls is not None:
                    stack.enter_context(controls(runner))
                stack.enter_context(_connected(stimulator))
                outcome = runner.run()
        except SessionBlockedError as exc:
            reg.finish_delivery(sid, "interrupted", actor=actor, detail=str(exc))
            raise
        except StimulatorFault as exc:
            # the device could not be opened or closed: what was fired is logged
            from ..delivery import replay_events

            detail = f"{type(exc).__name__}: {exc}"
            reg.finish_delivery(sid, "faulted", actor=actor, detail=detail)
            return RunOutcome(
                status="faulted",
                pulses_delivered=replay_events(reg.delivery_events(sid)).total,
                pulses_total=prepared.plan.total_pulses,
                detail=detail,
            )
        if outcome.status != "lease_lost":
            reg.finish_delivery(sid, outcome.status, actor=actor, detail=outcome.detail)
        return outcome
    finally:
        reg.release_lease(sid, holder=holder)


@contextlib.contextmanager
def _connected(stimulator: Stimulator) -> Iterator[Stimulator]:
    with stimulator:
        yield stimulator


def abort_session(reg: Registry, session_id: int, *, actor: str, reason: str) -> None:
    """End a session that will not be resumed as aborted (audited).

    For a session left ``interrupted``, ``faulted``, ``lease_lost`` or
    ``running`` by a runner that died: the clinic decides not to go on. The
    session's lease is taken first, so a runner still holding it live is never
    overtaken (the abort is refused); after an abort the session resumes only
    after a physician's reasoned restart, like after an operator's abort.

    Parameters
    ----------
    reg : Registry
        The registry.
    session_id : int
        Delivery session.
    actor : str
        Who aborts it.
    reason : str
        Why (at least 5 characters; stored with the status and audited).

    Raises
    ------
    plptms.registry.SessionLeasedError
        If a runner holds the session now.
    ValueError
        If the session is completed or already ended by an operator, or on a
        bad reason.
    """
    d = reg.get_delivery(session_id)
    if d.status not in RESUMABLE_STATUSES or d.status == "restart_approved":
        raise ValueError(
            f"Invalid value for 'session_id': got {session_id} with status "
            f"{d.status!r}; allowed: a session that could be resumed "
            "(running with a dead runner, interrupted, faulted, lease_lost)."
        )
    text = reason.strip() if isinstance(reason, str) else ""
    if len(text) < 5:
        raise ValueError(
            f"Invalid value for 'reason': got {reason!r}; allowed: at least 5 "
            "characters saying why the session is not resumed."
        )
    holder = _holder()
    reg.acquire_lease(session_id, holder=holder, ttl_s=lease_ttl_s(), actor=actor)
    try:
        reg.finish_delivery(
            session_id, "aborted", actor=actor, detail=f"aborted by {actor}: {text}"
        )
    finally:
        reg.release_lease(session_id, holder=holder)


def authorise_restart(
    reg: Registry, session_id: int, *, physician: str, reason: str
) -> None:
    """Record a physician's reasoned restart of a stopped session (audited).

    A session ended by an emergency stop or an abort resumes only after this;
    the resume then runs every pre-session check again
    (:func:`prepare_resume`).

    Parameters
    ----------
    reg : Registry
        The registry.
    session_id : int
        Delivery session (ended by an emergency stop or an abort).
    physician : str
        The physician.
    reason : str
        Why it may continue.
    """
    reg.authorise_restart(session_id, physician=physician, reason=reason)
