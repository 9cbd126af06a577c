"""The session console's use cases: start, control and follow a delivery.

A session started from the web runs :func:`plptms.workflow.run_delivery` on the
simulated stimulator in a background thread of its own (one per session), held
by a :class:`SessionConsole` that lives as long as the application. The
registry stays the source of truth: a session's status is read from it, and
the console only adds the runner's latest :class:`plptms.delivery.Progress`
(pulses and trains so far) and the controls (pause, resume, abort, emergency
stop) of the runs it holds. A session another web worker runs is followed
through its heartbeat in the registry and controlled through a relayed command
(:mod:`plptms.workflow._console_hub`); a stale heartbeat shows "runner lost".

Every function checks ``session.run`` first (the rater never reaches the
console), then the patient's site, and the session's patient; the dose is the
one :func:`plptms.workflow.prepare_start` derives from the checked assignment,
never one given by the page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from pydantic import BaseModel, ConfigDict

from ..access import Permission, Principal, require
from ._console_hub import CONSOLE_SPEED_ENV, ScaledClock, SessionConsole
from ._views import PatientSummary, _not_found, _patient_in_scope

if TYPE_CHECKING:
    from ..delivery import CheckResult
    from ..registry import Registry

__all__ = [
    "CONSOLE_ACTIONS",
    "CONSOLE_SPEED_ENV",
    "ConsolePage",
    "ConsoleSession",
    "LiveStatus",
    "ScaledClock",
    "SessionConsole",
    "authorise_restart_for",
    "console_page",
    "control_session_for",
    "resume_session_for",
    "session_status_for",
    "start_session_for",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")

#: The operator's controls of a running session.
CONSOLE_ACTIONS: Final[tuple[str, ...]] = (
    "pause",
    "resume",
    "abort",
    "emergency_stop",
)
#: The reason stored with an emergency stop pressed on the console.
EMERGENCY_REASON: Final[str] = "emergency stop"
_MIN_REASON_CHARS: Final[int] = 5


class ConsoleSession(BaseModel):
    """A delivery session as the console lists it (never the condition)."""

    model_config = _FROZEN

    id: int
    protocol_id: str
    number: int
    status: str
    detail: str
    running_here: bool
    #: Running on this or another worker (a fresh heartbeat).
    running: bool = False
    #: Where it runs: "here", "worker <id>", "runner lost" or "".
    runner: str = ""


class ConsoleAssignment(BaseModel):
    """An assigned protocol and the next session number."""

    model_config = _FROZEN

    protocol_id: str
    next_number: int


class ConsolePage(BaseModel):
    """The session console of a patient."""

    model_config = _FROZEN

    patient: PatientSummary
    assignments: tuple[ConsoleAssignment, ...]
    sessions: tuple[ConsoleSession, ...]
    may_restart: bool


class LiveStatus(BaseModel):
    """A session's status (from the registry) and live progress (console)."""

    model_config = _FROZEN

    session_id: int
    status: str
    detail: str
    running_here: bool
    train: int | None
    n_trains: int | None
    pulses_delivered: int
    pulses_total: int
    seconds_left: float | None
    state: str
    error: str | None
    #: Running on this or another worker (a fresh heartbeat).
    running: bool = False
    #: The worker that runs it (``None``: here, or nowhere).
    worker: str | None = None
    #: Another worker ran it but its heartbeat is older than the console's limit.
    runner_lost: bool = False
    #: Age of that worker's last heartbeat, s.
    heartbeat_age_s: float | None = None


def _session_in_scope(
    reg: Registry, principal: Principal, site: str, code: str, session_id: int
) -> None:
    """Refuse alike a missing session and one of another patient."""
    from ..registry import RecordNotFoundError

    _patient_in_scope(reg, principal, site, code)
    try:
        s, c, _ = reg.delivery_patient(session_id)
    except RecordNotFoundError:
        raise _not_found(site, code) from None
    if (s, c) != (site, code):
        raise _not_found(site, code)


def console_page(
    reg: Registry,
    principal: Principal,
    site: str,
    code: str,
    console: SessionConsole,
) -> ConsolePage:
    """Return a patient's console: assigned protocols and delivery sessions.

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in user.
    site, code : str
        The patient.
    console : SessionConsole
        The application's console.

    Returns
    -------
    page : ConsolePage
        Each assignment with its next session number; every delivery session
        with its status from the registry.

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not run sessions.
    PatientNotFoundError
        If there is no such patient at the user's sites.
    """
    require(principal, Permission.SESSION_RUN)
    reg = reg.scoped(principal.sites)  # row-level security on PostgreSQL too
    patient = _patient_in_scope(reg, principal, site, code)
    assignments = []
    listed = []
    for a in reg.list_assignments(site, code):
        deliveries = reg.list_deliveries(a.id)
        numbers = [d.number for d in deliveries]
        assignments.append(
            ConsoleAssignment(
                protocol_id=a.protocol_id, next_number=max(numbers, default=0) + 1
            )
        )
        listed += [(a.protocol_id, d) for d in deliveries]
    away = console.elsewhere(reg, [d.id for _, d in listed])
    sessions = []
    for protocol_id, d in listed:
        here = console.live(d.id)[0]
        other = away.get(d.id)
        runner = "here" if here else ""
        if other is not None:
            lost = other.lost and d.status == "running"
            runner = "runner lost" if lost else f"worker {other.worker}"
            if other.lost and not lost:
                runner = ""  # an old row of a session that ended elsewhere
        sessions.append(
            ConsoleSession(
                id=d.id,
                protocol_id=protocol_id,
                number=d.number,
                status=d.status,
                detail=d.detail,
                running_here=here,
                running=here or (other is not None and not other.lost),
                runner=runner,
            )
        )
    return ConsolePage(
        patient=patient,
        assignments=tuple(assignments),
        sessions=tuple(sessions),
        may_restart=principal.may(Permission.SESSION_RESTART),
    )


def start_session_for(
    reg: Registry,
    principal: Principal,
    site: str,
    code: str,
    protocol_id: str,
    number: int,
    console: SessionConsole,
    *,
    ae_reviewed: bool,
) -> tuple[int, list[CheckResult]]:
    """Run the pre-session checks, then start the session on the simulator.

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in operator or physician (the audited actor).
    site, code : str
        The patient.
    protocol_id : str
        The assigned protocol.
    number : int
        Session number, from 1.
    console : SessionConsole
        The application's console (runs it in a thread).
    ae_reviewed : bool
        The user confirms adverse events since the last session were reviewed.

    Returns
    -------
    session_id, checks : int, list of plptms.delivery.CheckResult
        The delivery session (now running) and its checks, all passed.

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not run sessions.
    PatientNotFoundError
        If there is no such patient at the user's sites.
    SessionRefusedError
        If a pre-session check failed (its ``checks`` list each); nothing runs.
    ValueError
        On a protocol not assigned or a bad number (nothing stored).
    """
    from ._delivery import prepare_start

    require(principal, Permission.SESSION_RUN)
    reg = reg.scoped(principal.sites)  # row-level security on PostgreSQL too
    _patient_in_scope(reg, principal, site, code)
    prepared = prepare_start(
        reg,
        site,
        code,
        protocol_id,
        number,
        device="sim",
        actor=principal.username,
        ae_reviewed=ae_reviewed,
    )
    console.launch(reg, prepared, site=site, code=code, actor=principal.username)
    return prepared.session_id, prepared.checks


def control_session_for(
    reg: Registry,
    principal: Principal,
    site: str,
    code: str,
    session_id: int,
    action: str,
    console: SessionConsole,
    *,
    reason: str = "",
) -> None:
    """Pause, resume, abort (with a reason) or emergency-stop a running session.

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in user (stored as who stopped it).
    site, code : str
        The patient.
    session_id : int
        The session.
    action : str
        One of :data:`CONSOLE_ACTIONS`.
    console : SessionConsole
        The application's console.
    reason : str
        Why, for an abort (at least 5 characters); an emergency stop stores
        "emergency stop".

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not run sessions.
    PatientNotFoundError
        If the session is not one of this patient's at the user's sites.
    ValueError
        On an unknown action, a missing reason, or a session not running here.
    """
    from ..utils import check_option

    require(principal, Permission.SESSION_RUN)
    reg = reg.scoped(principal.sites)  # row-level security on PostgreSQL too
    _session_in_scope(reg, principal, site, code, session_id)
    check_option(action, "action", CONSOLE_ACTIONS)
    text = reason.strip()
    if action == "emergency_stop":
        text = EMERGENCY_REASON
    elif action == "abort" and len(text) < _MIN_REASON_CHARS:
        raise ValueError(
            f"Invalid value for 'reason': got {reason!r}; allowed: at least "
            f"{_MIN_REASON_CHARS} characters saying why the session is aborted."
        )
    console.control(session_id, action, actor=principal.username, reason=text, reg=reg)


def authorise_restart_for(
    reg: Registry,
    principal: Principal,
    site: str,
    code: str,
    session_id: int,
    *,
    reason: str,
) -> None:
    """Record the signed-in physician's reasoned restart of a stopped session.

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in physician.
    site, code : str
        The patient.
    session_id : int
        A session ended by an emergency stop or an abort.
    reason : str
        Why it may continue (at least 5 characters).

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not authorise restarts.
    PatientNotFoundError
        If the session is not one of this patient's at the user's sites.
    ValueError
        On a short reason or a session not stopped (nothing stored).
    """
    from ._delivery import authorise_restart

    require(principal, Permission.SESSION_RESTART)
    reg = reg.scoped(principal.sites)  # row-level security on PostgreSQL too
    _session_in_scope(reg, principal, site, code, session_id)
    authorise_restart(reg, session_id, physician=principal.username, reason=reason)


def resume_session_for(
    reg: Registry,
    principal: Principal,
    site: str,
    code: str,
    session_id: int,
    console: SessionConsole,
    *,
    ae_reviewed: bool,
) -> list[CheckResult]:
    """Check again, then resume an interrupted or restart-approved session.

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in user.
    site, code : str
        The patient.
    session_id : int
        The session.
    console : SessionConsole
        The application's console.
    ae_reviewed : bool
        The user confirms adverse events were reviewed.

    Returns
    -------
    checks : list of plptms.delivery.CheckResult
        The checks, all passed.

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not run sessions.
    PatientNotFoundError
        If the session is not one of this patient's at the user's sites.
    SessionRefusedError
        If the session may not resume (no physician's restart after a stop, a
        failed check, a changed plan); nothing runs.
    """
    from ._delivery import prepare_resume

    require(principal, Permission.SESSION_RUN)
    reg = reg.scoped(principal.sites)  # row-level security on PostgreSQL too
    _session_in_scope(reg, principal, site, code, session_id)
    prepared = prepare_resume(reg, session_id, device="sim", ae_reviewed=ae_reviewed)
    console.launch(reg, prepared, site=site, code=code, actor=principal.username)
    return prepared.checks


def session_status_for(
    reg: Registry,
    principal: Principal,
    site: str,
    code: str,
    session_id: int,
    console: SessionConsole,
) -> LiveStatus:
    """Return a session's status (registry) and progress (console, if running).

    Parameters
    ----------
    reg : plptms.registry.Registry
        The registry.
    principal : plptms.access.Principal
        The signed-in user.
    site, code : str
        The patient.
    session_id : int
        The session.
    console : SessionConsole
        The application's console.

    Returns
    -------
    status : LiveStatus
        The stored status and detail; trains, pulses and time left from the
        runner while it runs here, from its heartbeat while another worker runs
        it (``runner_lost`` when that heartbeat is stale), else pulses counted
        from the stored events.

    Raises
    ------
    plptms.access.AccessDeniedError
        If the role may not run sessions.
    PatientNotFoundError
        If the session is not one of this patient's at the user's sites.
    """
    from ..delivery import SessionPlan, replay_events

    require(principal, Permission.SESSION_RUN)
    reg = reg.scoped(principal.sites)  # row-level security on PostgreSQL too
    _session_in_scope(reg, principal, site, code, session_id)
    d = reg.get_delivery(session_id)
    running, progress, error = console.live(session_id)
    if progress is not None and running:
        return LiveStatus(
            session_id=session_id,
            status=d.status,
            detail=d.detail,
            running_here=True,
            train=progress.train_index + 1,
            n_trains=progress.n_trains,
            pulses_delivered=progress.pulses_delivered,
            pulses_total=progress.pulses_total,
            seconds_left=progress.seconds_left,
            state=progress.state,
            error=error,
            running=True,
        )
    other = None if running else console.elsewhere(reg, [session_id]).get(session_id)
    if other is not None and not (other.lost and d.status != "running"):
        row = other
        return LiveStatus(
            session_id=session_id,
            status=d.status,
            detail=d.detail,
            running_here=False,
            train=row.train,
            n_trains=row.n_trains,
            pulses_delivered=row.pulses_delivered,
            pulses_total=row.pulses_total,
            seconds_left=row.seconds_left,
            state="runner lost" if other.lost else row.state,
            error=None,
            running=not other.lost,
            worker=row.worker,
            runner_lost=other.lost,
            heartbeat_age_s=round(other.age_s, 3),
        )
    try:
        n_trains: int | None = len(SessionPlan.model_validate(d.plan).trains)
        total = SessionPlan.model_validate(d.plan).total_pulses
    except ValueError:  # a closed-loop session's plan
        n_trains, total = None, 0
    return LiveStatus(
        session_id=session_id,
        status=d.status,
        detail=d.detail,
        running_here=running,
        train=None,
        n_trains=n_trains,
        pulses_delivered=replay_events(reg.delivery_events(session_id)).total,
        pulses_total=total,
        seconds_left=None,
        state="starting" if running else d.status.replace("_", " "),
        error=error,
        running=running,
    )
