"""The session console's runs: one background thread per delivery session.

:class:`SessionConsole` runs :func:`plptms.workflow.run_delivery` on the
simulated stimulator, paced by a :class:`ScaledClock`, keeps each runner's
latest progress and passes the operator's controls to it. It holds no
permission rule: the guarded use cases of :mod:`plptms.workflow._views_console`
call it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from ..delivery import Progress, RunOutcome, SessionRunner
    from ..registry import Registry
    from ._delivery import PreparedSession

__all__ = [
    "CONSOLE_SPEED_ENV",
    "DEFAULT_CONSOLE_SPEED",
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
    pending: list[str] = field(default_factory=list)
    stop: tuple[str, str, str] | None = None  # action, actor, reason
    thread: threading.Thread | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


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
    """

    def __init__(self, speed: float | None = None) -> None:
        self.speed = console_speed() if speed is None else float(speed)
        ScaledClock(self.speed)  # validate now
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
        live.thread = threading.Thread(
            target=self._run,
            args=(reg, prepared, live),
            name=f"plptms-session-{prepared.session_id}",
            daemon=True,
        )
        live.thread.start()

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

    def control(self, session_id: int, action: str, *, actor: str, reason: str) -> None:
        """Pause, resume, abort or emergency-stop a running session.

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

        Raises
        ------
        ValueError
            If the session is not running on this console.
        """
        live = self._runs.get(session_id)
        if live is None or not live.running:
            raise ValueError(
                f"Invalid value for 'session_id': got {session_id}; it is not "
                "running on this console."
            )
        with live.lock:
            if action in ("abort", "emergency_stop") and live.stop is None:
                live.stop = (action, actor, reason)
            if live.runner is None:
                live.pending.append(action)
                return
            _apply(live.runner, action)

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
        live.thread.join(timeout_s)
        return not live.thread.is_alive()


def _apply(runner: SessionRunner, action: str) -> None:
    {
        "pause": runner.pause,
        "resume": runner.resume,
        "abort": runner.abort,
        "emergency_stop": runner.emergency_stop,
    }[action]()


class _Attached:
    """The console's controls while the runner runs (``run_delivery``'s hook)."""

    def __init__(self, live: _Live, runner: SessionRunner) -> None:
        self.live = live
        self.runner = runner

    def __enter__(self) -> None:
        with self.live.lock:
            self.live.runner = self.runner
            for action in self.live.pending:
                _apply(self.runner, action)
            self.live.pending.clear()

    def __exit__(self, *exc: object) -> None:
        return None
