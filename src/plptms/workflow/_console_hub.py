"""The session console's runs: one background thread per delivery session.

:class:`SessionConsole` runs :func:`plptms.workflow.run_delivery` on the
simulated stimulator, paced by a :class:`ScaledClock`, keeps each runner's
latest progress and passes the operator's controls to it. It holds no
permission rule: the guarded use cases of :mod:`plptms.workflow._views_console`
call it.

Several web workers (``plptms serve --workers 4``) each hold a console of their
own; they meet in the registry (:mod:`plptms.registry._console_relay`). Each
run has a relay thread beside its runner that writes the run's progress as a
heartbeat (every :data:`HEARTBEAT_S`) and takes the controls posted to other
workers (polled every :data:`COMMAND_POLL_S`, emergency stop first), applying
them through the same path as a local control. A control for a session that
runs elsewhere is written as a command and waited for (:data:`ACK_TIMEOUT_S`);
one for a session that runs nowhere is refused. A heartbeat older than
:data:`RUNNER_LOST_S` marks the runner as lost.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from ..delivery import Progress, RunOutcome, SessionRunner
    from ..registry import Registry
    from ._delivery import PreparedSession

__all__ = [
    "ACK_TIMEOUT_S",
    "COMMAND_POLL_S",
    "CONSOLE_SPEED_ENV",
    "DEFAULT_CONSOLE_SPEED",
    "HEARTBEAT_S",
    "RUNNER_LOST_S",
    "RunnerElsewhere",
    "ScaledClock",
    "SessionConsole",
    "console_speed",
]

logger = logging.getLogger(__name__)

#: Environment variable: the simulator's speed factor on the console (default 10).
CONSOLE_SPEED_ENV: Final[str] = "PLPTMS_CONSOLE_SPEED"
#: Default speed of the simulated session on the console: 10x real time, so a
#: 15-minute demonstration session is seen in 90 s. [design]
DEFAULT_CONSOLE_SPEED: Final[float] = 10.0
#: How often a runner's worker looks for controls posted to other workers, s.
#: [design: an emergency stop reaches the runner within about 0.1 s]
COMMAND_POLL_S: Final[float] = 0.1
#: How often a runner's worker writes the run's progress (its heartbeat), s.
#: [design: the event stream's own interval, 0.25 s]
HEARTBEAT_S: Final[float] = 0.25
#: A heartbeat older than this shows the runner as lost, s (12 missed beats).
#: [design]
RUNNER_LOST_S: Final[float] = 3.0
#: How long a control relayed to another worker is waited for, s. [design]
ACK_TIMEOUT_S: Final[float] = 2.0
_ACK_POLL_S: Final[float] = 0.01


class ScaledClock:
    """A real-time clock running ``speed`` times faster (the simulator's pacing).

    Parameters
    ----------
    speed : float
        Speed factor, in [1, 100000]: 1 is real time.
    """

    def __init__(self, speed: float) -> None:
        if not 1.0 <= speed <= 100_000.0:
            raise ValueError(
                f"Invalid value for 'speed': got {speed!r}; allowed range is "
                "[1, 100000]."
            )
        self.speed = float(speed)
        self._t0 = time.monotonic()

    def now(self) -> float:
        """Return the scaled time, s."""
        return self._t0 + (time.monotonic() - self._t0) * self.speed

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of scaled time."""
        time.sleep(max(0.0, seconds) / self.speed)


@dataclass
class _Live:
    """A run the console holds."""

    session_id: int
    site: str
    code: str
    actor: str
    runner: SessionRunner | None = None
    progress: Progress | None = None
    outcome: RunOutcome | None = None
    error: str | None = None
    pending: list[tuple[str, str]] = field(default_factory=list)
    stop: tuple[str, str, str] | None = None  # action, actor, reason
    thread: threading.Thread | None = None
    relay: threading.Thread | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


@dataclass(frozen=True)
class RunnerElsewhere:
    """A session another worker runs, as its last heartbeat shows it."""

    #: The worker that runs it.
    worker: str
    #: The runner's state at the last heartbeat.
    state: str
    #: Current train (from 1) and number of trains.
    train: int | None
    n_trains: int | None
    #: Pulses delivered and planned.
    pulses_delivered: int
    pulses_total: int
    #: Time left, s (simulated on the console).
    seconds_left: float | None
    #: Age of that heartbeat, s.
    age_s: float
    #: Whether the heartbeat is older than the console's ``stale_s``.
    lost: bool


def _worker_id() -> str:
    """Return this process's console id: host, process and a random part."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


def console_speed() -> float:
    """Return the console's speed factor (``$PLPTMS_CONSOLE_SPEED`` or 10)."""
    raw = os.environ.get(CONSOLE_SPEED_ENV)
    if not raw:
        return DEFAULT_CONSOLE_SPEED
    try:
        return float(raw)
    except ValueError:
        raise ValueError(
            f"Invalid value for '{CONSOLE_SPEED_ENV}': got {raw!r}; allowed: a "
            "number in [1, 100000]."
        ) from None


class SessionConsole:
    """The delivery sessions started from the web, one thread each.

    Parameters
    ----------
    speed : float | None
        Speed factor of the simulator (:class:`ScaledClock`); from
        :func:`console_speed` when ``None``.
    worker : str | None
        This console's id among the web workers (host, process and a random
        part when ``None``).
    poll_s : float
        How often a run's relay looks for controls posted elsewhere, s.
    heartbeat_s : float
        How often it writes the run's progress, s.
    stale_s : float
        Age after which another worker's heartbeat shows its runner as lost, s.
    ack_timeout_s : float
        How long a control relayed to another worker is waited for, s.
    """

    def __init__(
        self,
        speed: float | None = None,
        *,
        worker: str | None = None,
        poll_s: float = COMMAND_POLL_S,
        heartbeat_s: float = HEARTBEAT_S,
        stale_s: float = RUNNER_LOST_S,
        ack_timeout_s: float = ACK_TIMEOUT_S,
    ) -> None:
        self.speed = console_speed() if speed is None else float(speed)
        ScaledClock(self.speed)  # validate now
        for name, value in (
            ("poll_s", poll_s),
            ("heartbeat_s", heartbeat_s),
            ("stale_s", stale_s),
            ("ack_timeout_s", ack_timeout_s),
        ):
            if not (isinstance(value, int | float) and 0.0 < value <= 3600.0):
                raise ValueError(
                    f"Invalid value for '{name}': got {value!r}; allowed range is "
                    "(0, 3600] s."
                )
        self.worker = _worker_id() if worker is None else str(worker)
        self.poll_s = float(poll_s)
        self.heartbeat_s = float(heartbeat_s)
        self.stale_s = float(stale_s)
        self.ack_timeout_s = float(ack_timeout_s)
        self._runs: dict[int, _Live] = {}
        self._lock = threading.Lock()

    def launch(
        self,
        reg: Registry,
        prepared: PreparedSession,
        *,
        site: str,
        code: str,
        actor: str,
    ) -> None:
        """Run a prepared session on the simulator in a background thread.

        Parameters
        ----------
        reg : plptms.registry.Registry
            The (scoped) registry.
        prepared : plptms.workflow.PreparedSession
            From :func:`~plptms.workflow.prepare_start` or ``prepare_resume``.
        site, code : str
            The patient.
        actor : str
            The operator who starts it.
        """
        if prepared.device != "sim":
            raise ValueError(
                f"Invalid value for 'device': got {prepared.device!r}; allowed: "
                "sim (the console runs the simulated stimulator only)."
            )
        live = _Live(prepared.session_id, site, code, actor)
        with self._lock:
            old = self._runs.get(prepared.session_id)
            if old is not None and old.running:
                raise ValueError(
                    f"Invalid value for 'session_id': got {prepared.session_id}; "
                    "it is already running on this console."
                )
            self._runs[prepared.session_id] = live
        try:  # the live row first: other workers see the run at once
            reg.console_runner_start(prepared.session_id, worker=self.worker)
        except Exception:
            with self._lock:
                self._runs.pop(prepared.session_id, None)
            raise
        live.thread = threading.Thread(
            target=self._run,
            args=(reg, prepared, live),
            name=f"plptms-session-{prepared.session_id}",
            daemon=True,
        )
        live.relay = threading.Thread(
            target=self._relay,
            args=(reg, live),
            name=f"plptms-relay-{prepared.session_id}",
            daemon=True,
        )
        live.thread.start()
        live.relay.start()

    def _run(self, reg: Registry, prepared: PreparedSession, live: _Live) -> None:
        from ..delivery import open_stimulator
        from ..delivery.sim import default_pulse_log
        from ._delivery import run_delivery

        clock = ScaledClock(self.speed)
        serial = os.environ.get("PLPTMS_SIM_SERIAL", "SIM-0001")
        try:
            stim = open_stimulator(
                "sim",
                serial=serial,
                pulse_log=default_pulse_log(serial),
                sham=prepared.plan.condition.value == "sham",
                clock=clock.now,
                sleep=clock.sleep,
            )
            outcome = run_delivery(
                reg,
                prepared,
                stim,
                actor=live.actor,
                progress=lambda p: setattr(live, "progress", p),
                controls=lambda runner: _Attached(live, runner),
                clock=clock.now,
                sleep=clock.sleep,
            )
            live.outcome = outcome
            stop = live.stop
            if stop is not None and outcome.status in ("aborted", "emergency_stop"):
                action, by, reason = stop
                reg.finish_delivery(
                    prepared.session_id,
                    outcome.status,
                    actor=by,
                    detail=f"{action.replace('_', ' ')} by {by}: {reason}",
                )
        except Exception as exc:  # the thread must never die silently
            logger.exception("Session %d failed", prepared.session_id)
            live.error = f"{type(exc).__name__}: {exc}"

    def _relay(self, reg: Registry, live: _Live) -> None:
        """Beside a run: heartbeat, and controls posted to other workers."""
        sid = live.session_id
        last_beat = float("-inf")
        runner = live.thread
        try:
            while runner is not None and runner.is_alive():
                try:
                    if reg.pending_console_commands(sid):
                        for c in reg.take_console_commands(sid, worker=self.worker):
                            logger.info(
                                "Session %d: %s by %s relayed to %s",
                                sid,
                                c.command,
                                c.actor,
                                self.worker,
                            )
                            self._apply_local(live, c.command, c.actor, c.reason)
                    if time.monotonic() - last_beat >= self.heartbeat_s:
                        self._beat(reg, live)
                        last_beat = time.monotonic()
                except Exception:  # the relay must outlive a busy database
                    logger.exception("Session %d: console relay failed", sid)
                runner.join(self.poll_s)
        finally:
            try:
                reg.console_runner_end(sid, worker=self.worker)
            except Exception:
                logger.exception("Session %d: live row not removed", sid)

    def _beat(self, reg: Registry, live: _Live) -> None:
        p = live.progress
        if p is None:
            reg.console_heartbeat(live.session_id, worker=self.worker, state="starting")
            return
        reg.console_heartbeat(
            live.session_id,
            worker=self.worker,
            state=p.state,
            train=p.train_index + 1,
            n_trains=p.n_trains,
            pulses_delivered=p.pulses_delivered,
            pulses_total=p.pulses_total,
            seconds_left=p.seconds_left,
        )

    @staticmethod
    def _apply_local(live: _Live, action: str, actor: str, reason: str) -> None:
        """Apply a control to a run this console holds (local or relayed)."""
        with live.lock:
            if action in ("abort", "emergency_stop") and live.stop is None:
                live.stop = (action, actor, reason)
            if live.runner is None:
                live.pending.append((action, actor))
                return
            _apply(live.runner, action, actor)

    def control(
        self,
        session_id: int,
        action: str,
        *,
        actor: str,
        reason: str,
        reg: Registry | None = None,
    ) -> None:
        """Pause, resume, abort or emergency-stop a running session.

        A session this console runs gets the control at once. One that another
        worker runs gets it through the registry (with ``reg``): the control is
        written as a command and this call waits until that worker's relay has
        taken it (at most ``ack_timeout_s``).

        Parameters
        ----------
        session_id : int
            The session.
        action : str
            One of :data:`CONSOLE_ACTIONS`.
        actor : str
            Who pressed it.
        reason : str
            Why (stored with an abort or an emergency stop).
        reg : plptms.registry.Registry | None
            The (scoped) registry, to reach the other workers.

        Raises
        ------
        ValueError
            If the session runs on no worker (nothing is stored), if it ended
            before the control reached it, or if its runner did not take the
            control in time (the runner is lost: an abort or an emergency stop
            stays queued for it, a pause or a resume is withdrawn).
        """
        live = self._runs.get(session_id)
        if live is not None and live.running:
            self._apply_local(live, action, actor, reason)
            return
        if reg is None:
            raise ValueError(
                f"Invalid value for 'session_id': got {session_id}; it is not "
                "running on this console."
            )
        command, row = reg.issue_console_command(
            session_id, action, actor=actor, reason=reason
        )
        deadline = time.monotonic() + self.ack_timeout_s
        taken = command
        while taken.taken_at is None and time.monotonic() < deadline:
            time.sleep(_ACK_POLL_S)
            taken = reg.console_command(command.id)
        if taken.outcome == "applied":
            return
        if taken.outcome == "ended":
            raise ValueError(
                f"Invalid value for 'session_id': got {session_id}; the session "
                f"ended before the {action.replace('_', ' ')} reached its runner "
                f"on {row.worker} (see its status)."
            )
        withdrawn = action in ("pause", "resume") and reg.expire_console_command(
            command.id
        )
        age = row.age_s()
        raise ValueError(
            f"Runner lost: the {action.replace('_', ' ')} of session {session_id} "
            f"was sent to worker {row.worker} but not taken within "
            f"{self.ack_timeout_s:g} s (last heartbeat {age:.1f} s before it was "
            "sent). "
            + (
                "It was withdrawn."
                if withdrawn
                else "It stays queued for that runner; check the stimulator and "
                "switch it off if it still fires."
            )
        )

    def elsewhere(
        self, reg: Registry, session_ids: list[int]
    ) -> dict[int, RunnerElsewhere]:
        """Return the sessions another worker runs, from their heartbeats.

        Parameters
        ----------
        reg : plptms.registry.Registry
            The (scoped) registry.
        session_ids : list of int
            The sessions to look at (those running here are left out).

        Returns
        -------
        elsewhere : dict of int to RunnerElsewhere
            By session id: the last heartbeat, its age and whether the runner
            is lost (heartbeat older than ``stale_s``).
        """
        ids = [i for i in session_ids if not self.live(i)[0]]
        out = {}
        for sid, row in reg.console_live(ids).items():
            age = row.age_s()
            out[sid] = RunnerElsewhere(
                worker=row.worker,
                state=row.state,
                train=row.train,
                n_trains=row.n_trains,
                pulses_delivered=row.pulses_delivered,
                pulses_total=row.pulses_total,
                seconds_left=row.seconds_left,
                age_s=age,
                lost=age > self.stale_s,
            )
        return out

    def live(self, session_id: int) -> tuple[bool, Progress | None, str | None]:
        """Return whether a session runs here, its latest progress and any error.

        Parameters
        ----------
        session_id : int
            The session.

        Returns
        -------
        running, progress, error : bool, Progress | None, str | None
            ``False, None, None`` for a session this console never held.
        """
        live = self._runs.get(session_id)
        if live is None:
            return False, None, None
        return live.running, live.progress, live.error

    def join(self, session_id: int, timeout_s: float = 30.0) -> bool:
        """Wait for a session's thread to end (tests, shutdown).

        Parameters
        ----------
        session_id : int
            The session.
        timeout_s : float
            Longest wait, s.

        Returns
        -------
        ended : bool
            Whether it is no longer running.
        """
        live = self._runs.get(session_id)
        if live is None or live.thread is None:
            return True
        deadline = time.monotonic() + timeout_s
        live.thread.join(timeout_s)
        if live.relay is not None:  # its live row removed too
            live.relay.join(max(0.0, deadline - time.monotonic()))
            return not (live.thread.is_alive() or live.relay.is_alive())
        return not live.thread.is_alive()


def _apply(runner: SessionRunner, action: str, actor: str | None = None) -> None:
    if action == "pause":
        runner.pause(by=actor)
    elif action == "resume":
        runner.resume(by=actor)
    else:
        {"abort": runner.abort, "emergency_stop": runner.emergency_stop}[action]()


class _Attached:
    """The console's controls while the runner runs (``run_delivery``'s hook)."""

    def __init__(self, live: _Live, runner: SessionRunner) -> None:
        self.live = live
        self.runner = runner

    def __enter__(self) -> None:
        with self.live.lock:
            self.live.runner = self.runner
            for action, actor in self.live.pending:
                _apply(self.runner, action, actor)
            self.live.pending.clear()

    def __exit__(self, *exc: object) -> None:
        return None
